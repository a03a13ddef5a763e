"""The safety committee's dashboard (Dash): `create_app(cfg, store, demo=False)` -> dash.Dash.

Pages live in `dashboards.pages` (one module each), figure builders in `dashboards.figures`
(pure functions), store reads in `dashboards.data`, login in `dashboards.auth`, and the only two
writes (alert acknowledgement, DLT decision) in `dashboards.actions`.
"""

from dashboards.app import create_app

__all__ = ["create_app"]
