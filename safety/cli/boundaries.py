"""`vigil boundaries ...`: stopping-boundary tables and exact operating characteristics per design."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import polars as pl
import typer
from pydantic import ValidationError

from safety.boundaries import boundary_table, operating_characteristics, status
from safety.boundaries.config import (
    BoundaryConfig,
    Rule,
    boundaries_path,
    design_from_rule,
    load_boundary_config,
)
from safety.boundaries.simon import simon_boundary_table, simon_operating_characteristics, simon_search
from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, emit
from safety.config import ConfigError

boundaries_app = typer.Typer(
    help="Stopping boundaries: tables, exact operating characteristics, current status.",
    no_args_is_help=True,
)
app.add_typer(boundaries_app, name="boundaries")

OcOption = Annotated[
    str | None, typer.Option("--oc", help="true rates for operating characteristics, e.g. 0.1,0.2,0.3")
]
RuleOption = Annotated[str | None, typer.Option("--rule", help="rule id in boundaries.yaml (default: first of kind)")]


def _config(config: Any) -> BoundaryConfig:
    try:
        return load_boundary_config(boundaries_path(config))
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def _rule(cfg: BoundaryConfig, kind: str, rule_id: str | None, overrides: dict[str, Any]) -> Rule:
    """The configured rule, with any parameters given on the command line, validated again."""
    if rule_id is not None:
        try:
            base = cfg.rule(rule_id)
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
        if base.design != kind:
            raise UserError(f"rule {rule_id!r} is a {base.design} design, not {kind}")
    else:
        base = cfg.first_of(kind)
        if base is None:
            raise UserError(f"boundaries.yaml has no {kind} rule; give --rule or add one")
    data = base.model_dump() | {k: v for k, v in overrides.items() if v is not None}
    try:
        return type(base).model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or kind}: {e['msg']}" for e in exc.errors())
        raise UserError(f"bad {kind} parameter: {problems}") from None


def _rates(text: str | None, cfg: BoundaryConfig) -> list[float]:
    if text is None:
        return list(cfg.oc_rates)
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--oc must be comma-separated rates between 0 and 1, got {text!r}") from None
    if not rates or any(not 0 <= r <= 1 for r in rates):
        raise UserError(f"--oc must be comma-separated rates between 0 and 1, got {text!r}")
    return rates


def _build(rule: Rule) -> Any:
    try:
        return design_from_rule(rule)
    except ValueError as exc:
        raise UserError(f"{rule.id}: {exc}") from None


def _show(table: pl.DataFrame, oc: pl.DataFrame, fmt: OutputFormat, title: str, extra: dict[str, Any]) -> None:
    """Boundary table and OC: one JSON document, two CSV blocks separated by a blank line, or two tables."""
    if fmt == OutputFormat.json:
        emit(table, fmt, extra={"design": extra, "operating_characteristics": oc.to_dicts()})
    elif fmt == OutputFormat.csv:
        sys.stdout.write(table.write_csv() + "\n" + oc.write_csv())
    else:
        emit(_rounded(table), fmt, title=title, extra=extra)
        emit(_rounded(oc), fmt, title="Operating characteristics (exact)")


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Four decimals are enough on screen; csv and json keep full precision."""
    return frame.with_columns(pl.col(pl.Float64).round(4))


def _report(kind: str, rule: Rule, rates: list[float], fmt: OutputFormat,
            derived: Callable[[Any], dict[str, Any]] | None = None) -> None:
    """Build the design and show it; `derived` adds design-specific computed values (gamma, lambdas)."""
    design = _build(rule)
    extra = rule.model_dump() | (derived(design) if derived else {})
    try:
        oc = operating_characteristics(design, rates)
    except ValueError as exc:
        raise UserError(f"{rule.id}: {exc}") from None
    _show(boundary_table(design), oc, fmt,
          f"{rule.title or kind} ({rule.id} v{rule.version})", extra)


@boundaries_app.command("bayes")
def bayes(
    prior_a: Annotated[float | None, typer.Option(help="Beta prior a")] = None,
    prior_b: Annotated[float | None, typer.Option(help="Beta prior b")] = None,
    p_max: Annotated[float | None, typer.Option(help="unacceptable event rate")] = None,
    threshold: Annotated[float | None, typer.Option(help="stop when P(p > p_max | data) exceeds this")] = None,
    n_min: Annotated[int | None, typer.Option(help="first look")] = None,
    n_max: Annotated[int | None, typer.Option(help="maximum subjects")] = None,
    look_every: Annotated[int | None, typer.Option(help="subjects between looks")] = None,
    rule: RuleOption = None,
    oc: OcOption = None,
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """Bayesian beta-binomial continuous toxicity monitoring."""
    cfg = _config(config)
    chosen = _rule(cfg, "bayes", rule, {"prior_a": prior_a, "prior_b": prior_b, "p_max": p_max,
                                        "threshold": threshold, "n_min": n_min, "n_max": n_max,
                                        "look_every": look_every})
    _report("bayes", chosen, _rates(oc, cfg), fmt)


@boundaries_app.command("pocock")
def pocock(
    p0: Annotated[float | None, typer.Option(help="acceptable event rate")] = None,
    alpha: Annotated[float | None, typer.Option(help="probability of ever crossing under p0")] = None,
    n_max: Annotated[int | None, typer.Option(help="maximum subjects")] = None,
    n_min: Annotated[int | None, typer.Option(help="first look")] = None,
    rule: RuleOption = None,
    oc: OcOption = None,
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """Pocock-type sequential boundary (Ivanova, Qaqish & Schell 2005)."""
    cfg = _config(config)
    chosen = _rule(cfg, "pocock", rule, {"p0": p0, "alpha": alpha, "n_max": n_max, "n_min": n_min})
    _report("pocock", chosen, _rates(oc, cfg), fmt,
            lambda d: {"gamma": d.gamma, "gamma_below_next": d.gamma_below_next, "crossing_p0": d.crossing_p0})


@boundaries_app.command("boin")
def boin(
    phi: Annotated[float | None, typer.Option(help="target DLT rate")] = None,
    phi1: Annotated[float | None, typer.Option(help="under-dosing rate (default 0.6 phi)")] = None,
    phi2: Annotated[float | None, typer.Option(help="over-dosing rate (default 1.4 phi)")] = None,
    elimination_cutoff: Annotated[float | None, typer.Option(help="eliminate when P(p > phi) exceeds")] = None,
    cohort_size: Annotated[int | None, typer.Option(help="subjects per cohort")] = None,
    n_max: Annotated[int | None, typer.Option(help="largest n in the table")] = None,
    rule: RuleOption = None,
    oc: OcOption = None,
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """BOIN decision table (Liu & Yuan 2015) and exact decision probabilities per cohort."""
    cfg = _config(config)
    chosen = _rule(cfg, "boin", rule, {"phi": phi, "phi1": phi1, "phi2": phi2,
                                       "elimination_cutoff": elimination_cutoff, "cohort_size": cohort_size,
                                       "n_max": n_max})
    _report("boin", chosen, _rates(oc, cfg), fmt,
            lambda d: {"lambda_e": d.lambda_e, "lambda_d": d.lambda_d, "phi1": d.phi1, "phi2": d.phi2})


@boundaries_app.command("3+3")
def three_plus_three(
    rule: RuleOption = None,
    oc: Annotated[str | None, typer.Option("--oc", help="true DLT rate of each dose, lowest first")] = None,
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """Classic 3+3: decision table and exact MTD-selection probabilities (dose 0 = none selected)."""
    cfg = _config(config)
    chosen = _rule(cfg, "3+3", rule, {})
    _report("3+3", chosen, _rates(oc, cfg), fmt)


@boundaries_app.command("simon")
def simon(
    p0: Annotated[float | None, typer.Option(help="uninteresting rate")] = None,
    p1: Annotated[float | None, typer.Option(help="target rate")] = None,
    alpha: Annotated[float | None, typer.Option(help="one-sided type I error")] = None,
    power: Annotated[float | None, typer.Option(help="power at p1")] = None,
    search_n_max: Annotated[int | None, typer.Option(help="largest total n searched")] = None,
    rule: RuleOption = None,
    oc: OcOption = None,
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """Simon two-stage design: both the optimal and the minimax design, with exact OC."""
    cfg = _config(config)
    chosen = _rule(cfg, "simon", rule, {"p0": p0, "p1": p1, "alpha": alpha, "power": power,
                                        "search_n_max": search_n_max})
    try:
        found = simon_search(chosen.p0, chosen.p1, chosen.alpha, chosen.power, chosen.search_n_max,
                             chosen.id, chosen.version)
    except ValueError as exc:
        raise UserError(f"{chosen.id}: {exc}") from None
    rates = _rates(oc, cfg)
    table = simon_boundary_table(found.optimal, found.minimax)
    oc_frame = pl.concat([simon_operating_characteristics(d, rates) for d in (found.optimal, found.minimax)])
    _show(table, oc_frame, fmt, f"{chosen.title or 'simon'} ({chosen.id} v{chosen.version})",
          chosen.model_dump() | {"used": chosen.criterion})


@boundaries_app.command("status")
def status_command(
    rule: Annotated[str, typer.Option("--rule", help="rule id in boundaries.yaml")],
    events: Annotated[int, typer.Option(help="events (DLTs; progression-free subjects for simon)")],
    n: Annotated[int, typer.Option(help="evaluable subjects")],
    fmt: FormatOption = OutputFormat.table,
    config: ConfigOption = None,
) -> None:
    """Where observed counts stand against one configured rule."""
    cfg = _config(config)
    chosen = _rule(cfg, _kind_of(cfg, rule), rule, {})
    try:
        result = status(_build(chosen), events, n)
    except ValueError as exc:
        raise UserError(f"{rule}: {exc}") from None
    row = result.model_dump()
    if fmt == OutputFormat.table:  # one status reads better as field / value lines
        frame = pl.DataFrame({"field": list(row), "value": ["" if v is None else str(v) for v in row.values()]})
        emit(frame, fmt, title=f"{rule} v{chosen.version}")
    else:
        emit(pl.DataFrame([row]), fmt)


def _kind_of(cfg: BoundaryConfig, rule_id: str) -> str:
    try:
        return cfg.rule(rule_id).design
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
