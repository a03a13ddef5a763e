"""Commands that print what the last monitoring cycle derived: `vigil dlt`, `vigil signals`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, emit


def _stored(config: Path | None, *names: str):
    from safety.cli.core import open_store, study_config

    store = open_store(study_config(config))
    frames = [store.derived(n) for n in names]
    if any(f is None for f in frames):
        raise UserError("no monitoring cycle has run yet: run `vigil cycle` first")
    return store, frames


dlt_app = typer.Typer(help="DLTs: each subject's status, candidates and the committee's decisions.",
                      invoke_without_command=True, no_args_is_help=False)
app.add_typer(dlt_app, name="dlt")


@dlt_app.callback()
def dlt(ctx: typer.Context, config: ConfigOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Each subject's DLT status with the triggering records, and the safety run-in decision."""
    if ctx.invoked_subcommand is not None:
        return
    _, (report, decision) = _stored(config, "dlt_report", "runin_decision")
    row = decision.row(0, named=True)
    emit(report, fmt, title="DLT status and candidates (only committee-confirmed DLTs count)",
         extra={"runin_decision": row["decision"], "runin": row["sentence"], "rule_version": row["rule_version"]})


@dlt_app.command("decide")
def decide(
    candidate: Annotated[str, typer.Argument(help="CANDIDATE_ID as `vigil dlt` prints it")],
    decision: Annotated[str, typer.Option(help="confirmed or rejected")],
    user: Annotated[str, typer.Option(help="the committee member recording it")],
    comment: Annotated[str, typer.Option(help="the committee's reasoning")] = "",
    config: ConfigOption = None,
) -> None:
    """Record the committee's decision on a DLT candidate (audited; counts from the next cycle)."""
    from safety.cli.core import open_store, study_config
    from safety.committee import DecisionError, record_dlt_decision

    store = open_store(study_config(config))
    try:
        record_dlt_decision(store, candidate, decision, user, comment)
    except DecisionError as exc:
        raise UserError(str(exc)) from None
    typer.echo(f"{candidate}: {decision.upper()} by {user}")


signals_app = typer.Typer(help="Signals: AE rates above what the reference safety information predicts.",
                          invoke_without_command=True, no_args_is_help=False)
app.add_typer(signals_app, name="signals")


@signals_app.callback()
def signals(ctx: typer.Context, config: ConfigOption = None, fmt: FormatOption = OutputFormat.table,
            all_terms: Annotated[bool, typer.Option("--all", help="every term, not only signals")] = False) -> None:
    """The current observed-against-expected table with each signal's history and assessment."""
    if ctx.invoked_subcommand is not None:
        return
    from safety.signals.history import signal_states, with_history

    store, (table,) = _stored(config, "signals_oe")
    with store.read() as conn:
        table = with_history(table, signal_states(conn))
    if not all_terms:
        table = table.filter(pl.col("signal"))
    emit(table, fmt, title="signals (observed against expected)")


@signals_app.command("assess")
def assess(
    key: Annotated[str, typer.Argument(help="signal key, as `vigil signals` prints it")],
    assessment: Annotated[str, typer.Option(help="e.g. refuted, confirmed, under evaluation")],
    user: Annotated[str, typer.Option(help="who assesses")],
    comment: Annotated[str, typer.Option(help="why")] = "",
    config: ConfigOption = None,
) -> None:
    """Record a reviewer's assessment of a signal (audited)."""
    from safety.cli.core import open_store, study_config
    from safety.signals.history import assess_signal
    from safety.store import utcnow

    store = open_store(study_config(config))
    with store.write() as conn:
        try:
            assess_signal(conn, key, assessment, user, comment, utcnow())
        except KeyError as exc:
            raise UserError(str(exc)) from None
        store.audit(conn, user, "signal.assess", key, {"assessment": assessment, "comment": comment})
    typer.echo(f"{key}: {assessment} (by {user})")
