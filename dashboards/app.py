"""The Dash app: a navbar with the data-cut selector, and one module per page.

Routing is one callback from the URL (and the chosen data cut) to the page's layout function, so
each page renders server-side from the store in one request; the pages' own callbacks handle
filters and the two writes. `create_app` can be called more than once (tests, benchmark): no
page registers anything globally.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, dcc, html

from dashboards import auth
from dashboards.context import AppContext, PageRequest
from dashboards.data import LIVE, StoreReader
from dashboards.pages import PAGES, page_for
from safety import users as user_store
from safety.config import StudyConfig
from safety.store import Store

ASSETS = Path(__file__).with_name("assets")


class ConfigurationError(RuntimeError):
    """The app cannot start safely (no secret key outside demo mode)."""


def _secret_key(cfg: StudyConfig, demo: bool) -> str:
    key = cfg.settings.secret_key or os.environ.get("VIGIL_SECRET_KEY")
    if key:
        return key
    if demo:
        # sessions end with the process: acceptable for a laptop demo, never for production
        return secrets.token_hex(32)
    raise ConfigurationError("VIGIL_SECRET_KEY is not set: the dashboard needs a session secret "
                             "(set it in the environment; only --demo makes a throwaway one)")


def _navbar(ctx: AppContext) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(p.TITLE, href=p.PATH, id=f"nav-{p.NAME}", active="exact")) for p in PAGES]
    cuts = [{"label": "Live data", "value": LIVE}] + [
        {"label": f"{c.label} ({c.created_at:%Y-%m-%d})" if c.created_at else c.label, "value": str(c.id)}
        for c in ctx.reader.data_cuts()]
    user = auth.current_username() or ""
    role = auth.current_role() or ""
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Span("Vigil", className="brand"), html.Span(ctx.cfg.study.id, className="study-id")],
                        href="/"),
        dbc.Nav(links, pills=True, className="me-auto nav-pages"),
        html.Div([
            html.Label("Data", htmlFor="data-cut", className="cut-label"),
            dcc.Dropdown(id="data-cut", options=cuts, value=LIVE, clearable=False, persistence=True,
                         persistence_type="session", className="cut-select"),
        ], className="cut-box"),
        html.Div([html.Span(user, id="whoami", className="who"), html.Span(role, className="role"),
                  html.Form([dcc.Input(type="hidden", name="csrf", value=auth.session_csrf()),
                             html.Button("Sign out", id="logout", type="submit", className="btn btn-sm btn-light")],
                            action="/logout", method="POST", className="logout-form")], className="user-box"),
    ], fluid=True), color="dark", dark=True, className="vigil-nav")


def create_app(cfg: StudyConfig, store: Store, *, demo: bool = False) -> dash.Dash:
    """The dashboard on `store`; `app.server` is the Flask app to serve (login required everywhere)."""
    server = flask.Flask(__name__)
    server.secret_key = _secret_key(cfg, demo)
    auth.setup_auth(server, store, f"{cfg.study.id}: {cfg.study.title}",
                    secure_cookies=cfg.dashboard.base_url.startswith("https://"))
    app = dash.Dash(__name__, server=server, title=f"Vigil - {cfg.study.id}", assets_folder=str(ASSETS),
                    suppress_callback_exceptions=True,
                    serve_locally=True, update_title=None)
    ctx = AppContext(cfg, store, StoreReader(store), Path(tempfile.mkdtemp(prefix="vigil-listings-")), demo)
    if demo:
        password = user_store.ensure_demo_user(store)
        if password:
            print(f"demo dashboard user: demo / {password}", flush=True)  # noqa: T201 - shown once, by design
    app.vigil_context = ctx  # the benchmark and tests reach the page renderers through this

    def layout() -> html.Div:
        if not flask.has_request_context() or not auth.current_username():
            # Dash validates the layout outside a request at start-up; the guard redirects before this
            return html.Div([dcc.Location(id="url"), html.Div(id="page-content")])
        return html.Div([
            dcc.Location(id="url"),
            _navbar(ctx),
            dbc.Container(dcc.Loading(html.Div(id="page-content"), delay_show=300), fluid=True,
                          className="page-body"),
        ])

    app.layout = layout

    @app.callback(Output("page-content", "children"), Input("url", "pathname"), Input("url", "search"),
                  Input("data-cut", "value"))
    def render(pathname: str | None, search: str | None, cut: str | None):
        return render_page(ctx, pathname or "/", search, cut)

    for module in PAGES:
        module.register(app, ctx)
    return app


def render_page(ctx: AppContext, pathname: str, search: str | None = None, cut: str | None = None,
                username: str | None = None, role: str | None = None, since: str | None = None):
    """The page at `pathname` for the given cut: what the router callback returns (and the benchmark times)."""
    module = page_for(pathname)
    if module is None:
        return html.Div([html.H2("Not found"), html.P(f"No page at {pathname}.")])
    in_request = flask.has_request_context()
    request = PageRequest(
        view=ctx.reader.view(cut),
        query=PageRequest.parse_query(search),
        username=username or (auth.current_username() if in_request else None),
        role=role or (auth.current_role() if in_request else None),
        since=since or (flask.session.get("since") if in_request else None),
    )
    return module.layout(ctx, request)


__all__ = ["ConfigurationError", "create_app", "render_page"]
