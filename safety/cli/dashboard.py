"""`vigil dashboard`: serve the committee's dashboard on the configured store."""

from __future__ import annotations

from typing import Annotated

import typer

from safety.cli.app import ConfigOption, UserError, app, console
from safety.cli.core import open_store, study_config


@app.command("dashboard")
def dashboard_command(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8050,
    demo: Annotated[bool, typer.Option("--demo", help="throwaway session secret (laptop demo only)")] = False,
) -> None:
    """Serve the dashboard (login required; VIGIL_SECRET_KEY must be set unless --demo)."""
    from dashboards.app import ConfigurationError, create_app

    cfg = study_config(config)
    store = open_store(cfg)
    try:
        dash_app = create_app(cfg, store, demo=demo)
    except ConfigurationError as exc:
        raise UserError(str(exc)) from None
    console.print(f"dashboard on http://{host}:{port}/ (store {cfg.database.split('@')[-1]})")
    serve(dash_app.server, host, port)


def serve(server, host: str, port: int) -> None:
    """A threaded WSGI server; waitress when installed (production), else Werkzeug's."""
    try:
        from waitress import serve as waitress_serve
    except ImportError:
        from werkzeug.serving import run_simple

        run_simple(host, port, server, threaded=True, use_reloader=False, use_debugger=False)
    else:
        waitress_serve(server, host=host, port=port, threads=8)
