"""Figure builders: pure functions, a polars frame in and a Plotly figure out.

They compute nothing about safety (grades, DLTs and boundaries come from derived tables); they
only lay data out. Tests call them without a browser.
"""

from dashboards.figures.activity import km_figure, response_lanes_figure, waterfall_figure
from dashboards.figures.adverse_events import observed_expected_figure, soc_pt_heatmap
from dashboards.figures.boundaries import boundary_figure, oc_figure
from dashboards.figures.labs import edish_figure, lab_trend_figure, shift_matrix
from dashboards.figures.patients import patient_profile_figure, swimmer_figure

__all__ = [
    "boundary_figure", "edish_figure", "km_figure", "lab_trend_figure", "oc_figure", "observed_expected_figure",
    "patient_profile_figure", "response_lanes_figure", "shift_matrix", "soc_pt_heatmap", "swimmer_figure",
    "waterfall_figure",
]
