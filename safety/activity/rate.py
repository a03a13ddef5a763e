"""The primary endpoint: the 6-month PFS rate, as a binary rate and as a Kaplan-Meier estimate.

Landmark classification on the AVAL scale (day 1 = first dose), landmark L (day 183):
- PROGRESSED: a PFS event (CNSR 0) on or before day L. Progression or death documented on day L
  means the subject was not progression-free at 6 months; this is also what the Kaplan-Meier
  S(L) = P(PFS > L) counts as failure, so both estimates classify the same subjects.
  A progression or death documented on or before day L but censored after 2+ missed assessments
  (FDA 2018; derive_pfs EVNTDT) is also PROGRESSED for the binary rate: the subject is known not
  to be progression-free at 6 months (Kaplan-Meier keeps the censoring, so here the two differ).
- PROGRESSION-FREE: no event on or before day L, and follow-up reaching day L: censored at an
  adequate assessment on or after day L, or an event after day L.
- NOT EVALUABLE: censored before day L (too early to tell, or lost); excluded from the binary
  rate's denominator, kept as censored in the Kaplan-Meier estimate. LMPEND tells the two apart:
  true while the status may still become known (censored at the last adequate assessment, or
  before any, and no disposition record ending follow-up: `left_follow_up`).
The binary rate gets the exact Clopper-Pearson interval (Clopper & Pearson 1934), as Simon's
two-stage design counts successes among evaluable subjects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl
from scipy.stats import beta

from safety.activity.config import PfsConfig, SixMonthRateRules
from safety.activity.km import kaplan_meier, km_at
from safety.activity.pfs import CENSOR_LAST, CENSOR_NO_ASSESSMENT

PROGRESSED = "PROGRESSED"
PROGRESSION_FREE = "PROGRESSION-FREE"
NOT_EVALUABLE = "NOT EVALUABLE"


def clopper_pearson(successes: int, n: int, confidence_level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval; (nan, nan) when n is 0."""
    if n == 0:
        return float("nan"), float("nan")
    if not 0 <= successes <= n:
        raise ValueError(f"clopper_pearson: successes {successes} not in 0..{n}")
    alpha = 1.0 - confidence_level
    lower = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, n - successes + 1))
    upper = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return lower, upper


def left_follow_up(ds: pl.DataFrame | None, rules: SixMonthRateRules) -> pl.Series:
    """The subjects with a disposition record (DSDECOD) that ends follow-up for progression."""
    if ds is None or ds.height == 0 or "DSDECOD" not in ds.columns:
        return pl.Series("USUBJID", [], dtype=pl.String)
    ends = [t.strip().upper() for t in rules.follow_up_ends]
    decod = pl.col("DSDECOD").cast(pl.String).str.strip_chars().str.to_uppercase()
    return ds.filter(decod.is_in(ends)).get_column("USUBJID").cast(pl.String).unique().sort()


def landmark_status(pfs: pl.DataFrame, landmark_day: int, left: pl.Series | None = None) -> pl.DataFrame:
    """Add LMSTAT (PROGRESSED / PROGRESSION-FREE / NOT EVALUABLE at the landmark) to ADTTE rows,
    and LMPEND (a NOT EVALUABLE subject still followed, whose status may become known; `left`:
    the subjects whose follow-up ended, see `left_follow_up`)."""
    progressed = (pl.col("CNSR") == 0) & (pl.col("AVAL") <= landmark_day)
    if "EVNTDT" in pfs.columns:
        event_day = (pl.col("EVNTDT") - pl.col("STARTDT")).dt.total_days() + 1
        progressed = progressed | (event_day <= landmark_day).fill_null(False)
    status = pl.when(progressed).then(pl.lit(PROGRESSED)).when(pl.col("AVAL") >= landmark_day).then(
        pl.lit(PROGRESSION_FREE)).otherwise(pl.lit(NOT_EVALUABLE))
    # Censored at a new anticancer therapy or after missed assessments: that status is final.
    followed = pl.col("EVNTDESC").is_in([CENSOR_LAST, CENSOR_NO_ASSESSMENT]) if "EVNTDESC" in pfs.columns \
        else pl.lit(True)
    if left is not None and left.len():
        followed = followed & ~pl.col("USUBJID").is_in(left.implode())
    return pfs.with_columns(status.alias("LMSTAT")).with_columns(
        ((pl.col("LMSTAT") == NOT_EVALUABLE) & followed).alias("LMPEND"))


@dataclass(frozen=True)
class SixMonthRate:
    landmark_day: int
    confidence_level: float
    rule_version: str
    n_subjects: int
    n_evaluable: int  # Simon two-stage: subjects evaluable at 6 months
    n_progression_free: int  # Simon two-stage: successes (progression-free at 6 months)
    n_progressed: int
    n_not_evaluable: int
    rate: float  # n_progression_free / n_evaluable (nan when none evaluable)
    rate_lower: float  # exact Clopper-Pearson
    rate_upper: float
    km_survival: float  # Kaplan-Meier S(landmark_day) over all treated subjects
    km_lower: float  # log(-log) interval
    km_upper: float
    km_n_at_risk: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def six_month_rate(pfs: pl.DataFrame, cfg: PfsConfig) -> SixMonthRate:
    """The 6-month PFS rate of a `derive_pfs` frame: binary (Clopper-Pearson) and Kaplan-Meier (log-log)."""
    rules = cfg.six_month_rate
    status = landmark_status(pfs, rules.landmark_day)
    counts = dict(status.group_by("LMSTAT").len().iter_rows())
    progressed = int(counts.get(PROGRESSED, 0))
    free = int(counts.get(PROGRESSION_FREE, 0))
    evaluable = progressed + free
    lower, upper = clopper_pearson(free, evaluable, rules.confidence_level)
    table = kaplan_meier(pfs["AVAL"].to_numpy(), (pfs["CNSR"] == 0).to_numpy(), rules.confidence_level)
    point = km_at(table, rules.landmark_day) if pfs.height else None
    nan = float("nan")
    return SixMonthRate(
        landmark_day=rules.landmark_day,
        confidence_level=rules.confidence_level,
        rule_version=cfg.version,
        n_subjects=pfs.height,
        n_evaluable=evaluable,
        n_progression_free=free,
        n_progressed=progressed,
        n_not_evaluable=int(counts.get(NOT_EVALUABLE, 0)),
        rate=free / evaluable if evaluable else nan,
        rate_lower=lower,
        rate_upper=upper,
        km_survival=point.survival if point else nan,
        km_lower=point.lower if point else nan,
        km_upper=point.upper if point else nan,
        km_n_at_risk=point.n_at_risk if point else 0,
    )
