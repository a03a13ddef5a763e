"""Shared look: CTCAE grade colours, response colours, an empty-figure placeholder."""

from __future__ import annotations

import html

import plotly.graph_objects as go

# grade 1 pale to grade 5 black: severity reads as darkness, and the scale survives grey printing
GRADE_COLOURS = {1: "#fdd49e", 2: "#fc8d59", 3: "#d7301f", 4: "#7f0000", 5: "#000000"}
RESPONSE_COLOURS = {"CR": "#1a9850", "PR": "#91cf60", "SD": "#fee08b", "PD": "#d73027", "NE": "#bababa",
                    "NON-CR/NON-PD": "#d9ef8b"}
BOUNDARY_COLOUR = "#b2182b"
OBSERVED_COLOUR = "#2166ac"


def plain(text: str | None) -> str | None:
    """Source text for a figure's text or hover: Plotly reads <b>, <a href>, <br> as markup and decodes
    &lt; &gt; &amp;, so escaping those three shows the characters typed (a quote needs nothing)."""
    return None if text is None else html.escape(str(text), quote=False)


def base_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"}, height=height, template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.15})
    return fig


def empty_figure(title: str, message: str = "no data") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 16, "color": "#666"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, title, height=260)
