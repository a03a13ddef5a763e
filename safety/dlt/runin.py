"""The safety run-in decision (protocol.md "Safety run-in").

The first `subjects_per_level` DLT-evaluable subjects at a level (by first dose) are counted;
0-1 confirmed DLTs confirm the level, 2 or more de-escalate (or, at the last level, stop), and
2 DLTs settle it early while fewer are evaluable. A level is not confirmed while a counted
subject, or a subject not evaluable but dosed before the last counted one, still has candidates
awaiting the committee: a pending candidate could be the DLT that changes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from safety.dlt.rules import DltRules
from safety.dlt.status import DLT

PENDING, CONFIRM, DE_ESCALATE, STOP = "PENDING", "CONFIRM DOSE", "DE-ESCALATE", "STOP"


@dataclass(frozen=True)
class LevelTally:
    dose_level: int
    n_treated: int
    n_evaluable: int
    n_dlt: int
    subjects: tuple[str, ...]
    dlt_subjects: tuple[str, ...]
    awaiting_review: tuple[str, ...]
    outcome: str


@dataclass(frozen=True)
class RunInDecision:
    dose_level: int
    n_evaluable: int
    n_dlt: int
    decision: str
    sentence: str
    subjects: tuple[str, ...]
    dlt_subjects: tuple[str, ...]
    rule_version: str
    levels: tuple[LevelTally, ...] = field(default_factory=tuple)


def _tally(status: pl.DataFrame, level: int, rules: DltRules) -> LevelTally:
    r = rules.runin
    at_level = status.filter(pl.col("DOSELVL") == level).sort("FIRSTDOSE", "USUBJID").with_row_index("_POS")
    counted = at_level.filter(pl.col("DLTSTAT").str.starts_with("EVALUABLE")).head(r.subjects_per_level)
    dlt = counted.filter(pl.col("DLTSTAT") == DLT)
    # A subject not (yet) evaluable, dosed before the last counted one, whose pending candidate
    # is confirmed becomes evaluable with a DLT among the first `subjects_per_level`: they wait too.
    before_last = pl.col("_POS") <= (counted["_POS"].max() if counted.height else -1)
    full = counted.height >= r.subjects_per_level
    waiting = at_level.filter(
        (pl.col("N_PENDING") > 0) & (pl.col("DLTSTAT") != DLT)
        & (pl.col("USUBJID").is_in(counted["USUBJID"].implode()) | (pl.lit(full) & before_last))
    )
    if dlt.height >= r.dlts_to_de_escalate:
        outcome = DE_ESCALATE if level in r.de_escalate_to else STOP
    elif counted.height >= r.subjects_per_level and waiting.height == 0:
        outcome = CONFIRM
    else:
        outcome = PENDING
    return LevelTally(
        level, at_level.height, counted.height, dlt.height, tuple(counted["USUBJID"]), tuple(dlt["USUBJID"]),
        tuple(waiting["USUBJID"]), outcome,
    )


def runin_decision(status: pl.DataFrame, dm: pl.DataFrame, rules: DltRules) -> RunInDecision:
    """The run-in decision from `dlt_status` rows of the run-in cohort (DM COHORT)."""
    r = rules.runin
    cohort = dm.select("USUBJID", "COHORT").filter(
        pl.col("COHORT").str.strip_chars().str.to_uppercase() == r.cohort.upper()
    )
    runin = status.drop("COHORT", strict=False).join(cohort, on="USUBJID", how="semi")
    level, tallies = r.start_level, []
    while True:
        tally = _tally(runin, level, rules)
        tallies.append(tally)
        nxt = r.de_escalate_to.get(level)
        if tally.outcome != DE_ESCALATE or nxt is None or runin.filter(pl.col("DOSELVL") == nxt).is_empty():
            break
        level = nxt
    t = tallies[-1]
    n = r.subjects_per_level
    history = "; ".join(
        f"level {x.dose_level}: {x.n_dlt} DLT(s) among {x.n_evaluable} evaluable -> {x.outcome}" for x in tallies[:-1]
    )
    if t.outcome == CONFIRM:
        text = f"Dose level {t.dose_level} confirmed: {t.n_dlt} DLT(s) among the first {n} evaluable subjects."
    elif t.outcome == DE_ESCALATE:
        text = (f"De-escalate from dose level {t.dose_level} to {r.de_escalate_to[t.dose_level]}: "
                f"{t.n_dlt} DLTs among {t.n_evaluable} evaluable subjects.")
    elif t.outcome == STOP:
        text = (f"Stop the trial for safety: {t.n_dlt} DLTs among {t.n_evaluable} evaluable subjects "
                f"at dose level {t.dose_level}, the lowest level the run-in allows.")
    else:
        text = f"Pending at dose level {t.dose_level}: {t.n_evaluable} of {n} evaluable, {t.n_dlt} DLT(s)"
        if t.awaiting_review:
            text += f"; candidates awaiting committee review for {', '.join(t.awaiting_review)}"
        text += "."
    if history:
        text = f"{history}. {text}"
    return RunInDecision(
        t.dose_level, t.n_evaluable, t.n_dlt, t.outcome, text, t.subjects, t.dlt_subjects, rules.version, tuple(tallies)
    )
