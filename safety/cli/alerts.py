"""`vigil alerts list | ack | deliver`: the outbox from the command line."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer
from rich.text import Text

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, console, emit
from safety.cli.core import open_store, study_config
from safety.config import ConfigError

STATUSES = ("pending", "sent", "failed", "digested", "suppressed")
alerts_app = typer.Typer(help="Alerts: list, acknowledge, deliver now.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def _alert_config(cfg):
    from safety.alerts import load_alert_config

    try:
        return load_alert_config(cfg)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


@alerts_app.command("list")
def list_command(
    config: ConfigOption = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, sent, failed, digested or suppressed")] = None,
    unacknowledged: Annotated[bool, typer.Option("--unacknowledged", help="only alerts nobody acknowledged")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Alerts, newest first."""
    from safety.alerts import list_alerts

    if status is not None and status not in STATUSES:
        raise UserError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    cfg = study_config(config)
    frame = list_alerts(open_store(cfg), status, limit, unacknowledged)
    if fmt == OutputFormat.table:
        frame = frame.select("id", pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M").alias("created (UTC)"), "severity",
                             "rule", "status", "usubjid", "title", pl.col("acknowledged_by").alias("ack by"))
    emit(frame, fmt, title=f"{cfg.study.id}: alerts", extra={"count": frame.height} if fmt == OutputFormat.json else None)


@alerts_app.command("ack")
def ack_command(
    alert_id: Annotated[int, typer.Argument(help="the alert id (see `vigil alerts list`)")],
    comment: Annotated[str, typer.Option("--comment", help="what was done or decided")],
    user: Annotated[str, typer.Option("--user", help="who acknowledges")],
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Acknowledge an alert (once), with a comment; recorded in the audit trail."""
    from safety.alerts import AlertError, acknowledge

    cfg = study_config(config)
    try:
        row = acknowledge(open_store(cfg), alert_id, user, comment)
    except AlertError as exc:
        raise UserError(str(exc)) from None
    emit(pl.DataFrame([{"id": alert_id, "rule": row["rule"], "usubjid": row["usubjid"], "acknowledged_by": user.strip(),
                        "comment": comment}]), fmt, title="acknowledged")


@alerts_app.command("deliver")
def deliver_command(
    config: ConfigOption = None,
    digest: Annotated[bool, typer.Option("--digest", help="also send the daily digest now")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed/--no-retry-failed", help="also retry alerts that used up their attempts")] = True,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Send due immediate alerts now (SMTP settings from VIGIL_SMTP_*); with --digest, the digest too."""
    from safety.alerts import deliver_pending, send_digest

    cfg = study_config(config)
    alert_cfg = _alert_config(cfg)
    store = open_store(cfg)
    report = deliver_pending(store, cfg.settings, alert_cfg, limit=limit, retry_failed=retry_failed)
    rows = [{"step": "immediate", "sent": report.sent, "failed": report.failed, "retried": report.retried,
             "gave_up": report.gave_up, "skipped": report.skipped_reason or ""}]
    errors = list(report.errors)
    if digest:
        d = send_digest(store, cfg.settings, alert_cfg)
        rows.append({"step": "digest", "sent": d.messages, "failed": d.failed_messages, "retried": 0, "gave_up": 0,
                     "skipped": d.skipped_reason or ""})
        errors += d.errors
    emit(pl.DataFrame(rows), fmt, title="delivery", extra={"errors": errors} if errors or fmt == OutputFormat.json else None)
    if report.skipped_reason and fmt == OutputFormat.table:
        console.print(Text(str(report.skipped_reason), style="yellow"), highlight=False)
