"""Figure builders and page helpers on small literal frames: no browser, no store."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from dashboards.figures import (
    boundary_figure,
    edish_figure,
    km_figure,
    lab_trend_figure,
    observed_expected_figure,
    oc_figure,
    patient_profile_figure,
    response_lanes_figure,
    shift_matrix,
    soc_pt_heatmap,
    swimmer_figure,
    waterfall_figure,
)
from dashboards.pages.adverse_events import filter_events
from dashboards.pages.dlt_boundaries import candidates_with_decisions

SOC_PT = pl.DataFrame({"AEBODSYS": ["Blood", "Gastro"], "AEDECOD": ["Neutropenia", "Nausea"], "N_SUBJ": [3, 5],
                       "G1": [0, 4], "G2": [1, 1], "G3": [1, 0], "G4": [1, 0], "G5": [0, 0]})
EX = pl.DataFrame({"USUBJID": ["S1", "S1", "S1", "S2"], "EXTRT": ["ELACESTRANT", "ELACESTRANT", "EXEMESTANE",
                                                                   "ELACESTRANT"],
                   "EXDOSE": [345.0, 258.0, 25.0, 345.0], "EXDOSU": ["mg"] * 4,
                   "EXSTDT": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 1, 1), date(2025, 1, 10)],
                   "EXENDT": [date(2025, 1, 28), date(2025, 3, 1), date(2025, 3, 1), date(2025, 2, 10)]})
AE = pl.DataFrame({"USUBJID": ["S1", "S2"], "AETERM": ["<script>alert(1)</script>", "nausea"],
                   "AEDECOD": ["Neutrophil count decreased", "Nausea"], "AETOXGR": [4, 1],
                   "AESTDT": [date(2025, 1, 15), date(2025, 1, 20)], "AEENDT": [date(2025, 1, 25), None],
                   "SERIOUS": [True, False], "RELATED_ELA": [True, False], "RELATED_EXE": [False, False]})


def _trace_names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_soc_pt_heatmap_counts_by_grade():
    fig = soc_pt_heatmap(SOC_PT)
    heat = fig.data[0]
    assert list(heat.x) == ["Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5"]
    rows = {label.split("  ")[0]: list(z) for label, z in zip(heat.y, heat.z, strict=True)}
    assert rows["Neutropenia"] == [0, 1, 1, 1, 0] and rows["Nausea"] == [4, 1, 0, 0, 0]


def test_empty_inputs_give_a_placeholder_not_an_error():
    for fig in (soc_pt_heatmap(None), edish_figure(None), km_figure(None), waterfall_figure(pl.DataFrame()),
                swimmer_figure(None, None), lab_trend_figure(None, "ALT"), response_lanes_figure(None),
                observed_expected_figure(None), oc_figure(None, "x"), boundary_figure(None, {"design_id": "x"})):
        assert isinstance(fig, go.Figure)
        assert fig.layout.annotations and fig.layout.annotations[0].text.startswith("no")


def test_swimmer_colours_dose_changes_and_marks_aes_and_window():
    fig = swimmer_figure(EX, AE, dlt_window_days=28)
    names = _trace_names(fig)
    assert "345 mg" in names and "258 mg" in names  # the dose reduction of S1 is a second colour
    assert "AE grade 4" in names and "AE grade 1" in names
    grade4 = next(t for t in fig.data if t.name == "AE grade 4")
    assert list(grade4.x) == [15] and list(grade4.y) == ["S1"]  # day 1 = first dose
    assert fig.layout.shapes[0].x0 == 1 and fig.layout.shapes[0].x1 == 29


def test_patient_profile_one_axis_with_normal_range():
    lb = pl.DataFrame({"USUBJID": ["S1"] * 3, "PARAMCD": ["ALT"] * 3, "AVAL": [20.0, 90.0, 30.0],
                       "ANRLO": [7.0] * 3, "ANRHI": [35.0] * 3,
                       "LBDT": [date(2025, 1, 1), date(2025, 1, 15), date(2025, 2, 1)]})
    fig = patient_profile_figure("S1", EX, AE, lb, "ALT")
    names = _trace_names(fig)
    assert {"elacestrant", "exemestane", "grade 4", "ULN", "LLN", "ALT"} <= set(names)
    alt = next(t for t in fig.data if t.name == "ALT")
    assert list(alt.y) == [20.0, 90.0, 30.0]
    assert fig.layout.xaxis.matches == fig.layout.xaxis2.matches == "x3"  # one time axis for all three rows


def test_lab_trend_has_lln_uln_lines_and_one_line_trace():
    lb = pl.DataFrame({"USUBJID": ["S1", "S1", "S2", "S2"], "VISITNUM": [1.0, 2.0, 1.0, 2.0],
                       "VISIT": ["C1", "C2", "C1", "C2"], "PARAMCD": ["ALT"] * 4, "AVAL": [10.0, 50.0, 20.0, 25.0],
                       "ANRLO": [7.0] * 4, "ANRHI": [35.0] * 4, "AVALU": ["U/L"] * 4})
    fig = lab_trend_figure(lb, "ALT")
    lines = fig.data[0]
    assert list(lines.y) == [10.0, 50.0, None, 20.0, 25.0, None]
    assert sorted(s.y0 for s in fig.layout.shapes) == [7.0, 35.0]


def test_shift_matrix_rows_are_baseline_grades():
    shift = pl.DataFrame({"ATOXDSC": ["Anemia"] * 3, "ATOXDIR": ["L"] * 3, "BTOXGR": [0, 0, 1],
                          "ATOXGR": [0, 3, 2], "NSUBJ": [10, 2, 1]})
    matrix = shift_matrix(shift, "Anemia", "L")
    assert matrix.columns[0] == "Baseline grade"
    assert matrix.row(0) == ("0", "10", "0", "0", "2", "0", "12")
    assert matrix.row(1) == ("1", "0", "0", "1", "0", "0", "1")


def test_edish_log_axes_reference_lines_and_quadrants():
    edish = pl.DataFrame({"USUBJID": ["S1", "S2"], "EDISHX": [5.0, 0.5], "EDISHY": [3.0, 0.4],
                          "EDISHQ": ["Potential Hy's law", "Normal range"]})
    fig = edish_figure(edish)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    lines = {(s.x0, s.y0) for s in fig.layout.shapes}
    assert (3, 0) in lines and (0, 2) in lines
    labels = {a.text for a in fig.layout.annotations}
    assert {"Potential Hy's law", "Temple's corollary", "Cholestasis / Gilbert's", "Normal range"} <= labels


def test_boundary_figure_shows_boundary_observed_and_distance():
    table = pl.DataFrame({"rule_id": ["tox"] * 3, "n": [6, 7, 8], "stop_if_events_ge": [4, 4, 5]})
    status = {"design_id": "tox", "events": 2, "n": 8, "boundary": 5, "crossed": False, "title": "Tox"}
    fig = boundary_figure(table, status)
    assert list(fig.data[0].y) == [4, 4, 5]
    observed = next(t for t in fig.data if t.name == "observed")
    assert (observed.x[0], observed.y[0]) == (8, 2)
    distance = next(t for t in fig.data if t.name == "distance")
    assert list(distance.y) == [2, 5]


def test_boundary_figure_simon_draws_stage_limits():
    table = pl.DataFrame({"rule_id": ["simon"], "n": [44], "n1": [14], "r1": [5], "r": [20],
                          "stop_if_events_ge": [None]}, schema_overrides={"stop_if_events_ge": pl.Int64})
    fig = boundary_figure(table, {"design_id": "simon", "events": 4, "n": 14, "boundary": 5, "crossed": True})
    limits = fig.data[0]
    assert list(limits.x) == [14, 44] and list(limits.y) == [5, 20]


def test_oc_figure_per_rule():
    oc = pl.DataFrame({"design_id": ["a", "a", "b"], "true_rate": [0.1, 0.3, 0.1], "p_stop": [0.01, 0.2, 0.5],
                       "expected_n": [39.0, 30.0, 10.0]})
    fig = oc_figure(oc, "a")
    assert list(fig.data[0].y) == [0.01, 0.2] and list(fig.data[1].y) == [39.0, 30.0]


def test_km_figure_band_reference_lines_and_at_risk():
    km = pl.DataFrame({"time": [30.0, 90.0, 200.0], "n_at_risk": [10, 8, 3], "n_events": [1, 2, 1],
                       "n_censored": [0, 1, 2], "survival": [0.9, 0.675, 0.45], "se": [0.1] * 3,
                       "lower": [0.7, 0.4, 0.2], "upper": [0.98, 0.85, 0.7]})
    fig = km_figure(km, landmark_day=183, p0=0.35, p1=0.55, risk_every=60)
    pfs = next(t for t in fig.data if t.name == "PFS")
    assert list(pfs.y) == [1.0, 0.9, 0.675, 0.45] and pfs.line.shape == "hv"
    at_risk = next(t for t in fig.data if t.name == "at risk")
    assert list(at_risk.text) == ["10", "8", "3", "3"]  # at risk at t = 0, 60, 120, 180
    assert {s.y0 for s in fig.layout.shapes if s.y0 == s.y1} == {0.35, 0.55}


def test_waterfall_sorted_with_recist_lines():
    wf = pl.DataFrame({"USUBJID": ["a", "b", "c"], "BEST_PCHG": [-50.0, 25.0, None]})
    fig = waterfall_figure(wf)
    assert list(fig.data[0].y) == [25.0, -50.0]
    assert sorted(s.y0 for s in fig.layout.shapes) == [-30, 20]


def test_response_lanes_and_observed_expected():
    rs = pl.DataFrame({"USUBJID": ["a", "a", "b"], "ADY": [56, 112, 56], "AVALC": ["SD", "PR", "PD"]})
    fig = response_lanes_figure(rs)
    assert {"SD", "PR", "PD"} <= set(_trace_names(fig))
    oe = pl.DataFrame({"grade_class": ["any"], "term": ["nausea"], "n_subj": [3], "n_treated": [10],
                       "incidence": [0.3], "incidence_lo": [0.1], "incidence_hi": [0.6], "eair_per_100py": [50.0],
                       "reference_rate": [0.2], "signal": [False]})
    fig = observed_expected_figure(oe)
    assert list(fig.data[0].x) == [30.0] and list(fig.data[1].x) == [20.0]


def test_ae_filters_and_candidate_decisions():
    assert filter_events(AE, ["serious"]).height == 1
    assert filter_events(AE, ["related"])["USUBJID"].to_list() == ["S1"]
    assert filter_events(AE, ["g3"]).height == 1 and filter_events(AE, []).height == 2
    cands = pl.DataFrame({"CANDIDATE_ID": ["c1", "c2"]})
    decisions = pl.DataFrame({"id": [1, 2], "candidate_id": ["c1", "c1"], "decision": ["CONFIRMED", "REJECTED"],
                              "decided_by": ["x", "y"], "comment": [None, "not related"]})
    merged = candidates_with_decisions(cands, decisions).sort("CANDIDATE_ID")
    assert merged["DECISION"].to_list() == ["REJECTED", None]  # the later decision wins


def test_patient_profile_hover_shows_a_verbatim_term_as_text_not_markup():
    # Plotly reads <b>, <a href>, <br> in hover text as markup; the verbatim term must arrive escaped
    ae = AE.with_columns(pl.Series("AETERM", ['<a href="https://evil.example">rash</a> & <b>itch</b>', "nausea"]))
    fig = patient_profile_figure("S1", None, ae, None)
    texts = [t for trace in fig.data for t in (trace.text or ()) if t]
    assert texts and all("<" not in t and ">" not in t for t in texts)
    assert texts[0] == '&lt;a href="https://evil.example"&gt;rash&lt;/a&gt; &amp; &lt;b&gt;itch&lt;/b&gt;'


def test_grid_csv_export_neutralises_formulas():
    from dashboards.app import ASSETS
    from dashboards.components import grid

    params = grid("g", pl.DataFrame({"AETERM": ["=HYPERLINK(\"http://x\")"]})).csvExportParams
    assert params["processCellCallback"] == {"function": "inertCsvText(params.value)"}
    assert "inertCsvText(" in params["processHeaderCallback"]["function"]
    assert "dagfuncs.inertCsvText" in (ASSETS / "dashAgGridFunctions.js").read_text()
