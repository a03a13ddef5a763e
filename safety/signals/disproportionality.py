"""Disproportionality in a database of reports: PRR, ROR, IC (BCPNN) and EBGM per (drug, event).

Counting convention (DuMouchel 1999; openEBGM `processRaw`, Canida & Ihrie 2017): a report counts
once per cell however often it repeats a drug-event pair; N is the number of distinct reports;
the drug margin a + b is the number of distinct reports naming the drug (with any event), the
event margin a + c the number naming the event. Then b = (a + b) - a, c = (a + c) - a,
d = N - (a + b) - (a + c) + a, and E0 = (a + b)(a + c) / N. Only cells with a >= 1 are listed.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import special

from safety.signals.config import SignalConfig
from safety.signals.gps import GammaMixturePrior, fit_prior, gps_scores

REPORT_COLUMNS = ("report_id", "drug", "event")
# van Puijenbroek et al. 2002 and the EMA EudraVigilance guideline use 1.96 for the ROR's 95% CI
Z_95 = 1.96

RESULT_COLUMNS = (
    "drug", "event", "a", "b", "c", "d", "E0", "PRR", "chi2", "ROR", "ROR_lo", "ROR_hi",
    "IC", "IC025", "IC975", "EBGM", "EB05", "EB95",
    "flag_prr", "flag_ror", "flag_ic", "flag_ebgm", "n_methods", "signal",
)


def check_reports(reports: pl.DataFrame) -> None:
    """Raise ValueError naming what is wrong with a reports frame."""
    missing = [c for c in REPORT_COLUMNS if c not in reports.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; need {', '.join(REPORT_COLUMNS)}")
    nulls = reports.select(pl.any_horizontal(pl.col(REPORT_COLUMNS).is_null()).sum()).item()
    if nulls:
        raise ValueError(f"{nulls} row(s) with an empty report_id, drug or event")


def contingency(reports: pl.DataFrame) -> pl.DataFrame:
    """One row per observed (drug, event): a, b, c, d, N and E0 (see the module docstring)."""
    check_reports(reports)
    pairs = reports.lazy().select(REPORT_COLUMNS).unique()
    n_reports = reports.lazy().select(pl.col("report_id").n_unique().alias("N"))
    drug_n = pairs.select("report_id", "drug").unique().group_by("drug").agg(pl.len().alias("n_drug"))
    event_n = pairs.select("report_id", "event").unique().group_by("event").agg(pl.len().alias("n_event"))
    cells = pairs.group_by("drug", "event").agg(pl.len().alias("a"))
    return (
        cells.join(drug_n, on="drug").join(event_n, on="event").join(n_reports, how="cross")
        .select(
            "drug", "event",
            pl.col("a").cast(pl.Int64),
            (pl.col("n_drug") - pl.col("a")).cast(pl.Int64).alias("b"),
            (pl.col("n_event") - pl.col("a")).cast(pl.Int64).alias("c"),
            (pl.col("N") - pl.col("n_drug") - pl.col("n_event") + pl.col("a")).cast(pl.Int64).alias("d"),
            pl.col("N").cast(pl.Int64),
            (pl.col("n_drug").cast(pl.Float64) * pl.col("n_event") / pl.col("N")).alias("E0"),
        )
        .collect()
    )


def _nan_to_null(*names: str) -> list[pl.Expr]:
    return [pl.when(pl.col(n).is_nan()).then(None).otherwise(pl.col(n)).alias(n) for n in names]


def frequentist_measures(table: pl.DataFrame) -> pl.DataFrame:
    """Add PRR with Yates chi-square, ROR with its 95% CI, to a frame with a, b, c, d."""
    a, b, c, d = (pl.col(x).cast(pl.Float64) for x in "abcd")
    n = a + b + c + d
    # Yates-corrected chi-square for the 2x2 table (Evans et al. 2001 screening rule); the
    # correction is not allowed to overshoot zero when |ad - bc| < N/2
    excess = ((a * d - b * c).abs() - n / 2).clip(lower_bound=0)
    se_log_ror = (1 / a + 1 / b + 1 / c + 1 / d).sqrt()
    return table.with_columns(
        ((a / (a + b)) / (c / (c + d))).alias("PRR"),
        (n * excess**2 / ((a + b) * (c + d) * (a + c) * (b + d))).alias("chi2"),
        ((a * d) / (b * c)).alias("ROR"),
        ((a * d) / (b * c)).log().sub(Z_95 * se_log_ror).exp().alias("ROR_lo"),
        ((a * d) / (b * c)).log().add(Z_95 * se_log_ror).exp().alias("ROR_hi"),
    ).with_columns(_nan_to_null("PRR", "chi2", "ROR", "ROR_lo", "ROR_hi"))


def information_component(a: np.ndarray, expected: np.ndarray) -> dict[str, np.ndarray]:
    """Shrinkage IC = log2((a + 0.5)/(E0 + 0.5)) (Noren et al. 2006) with its 95% credibility
    interval from the exact quantiles of Gamma(shape a + 0.5, rate E0 + 0.5) (Noren, Hopstadius &
    Bate 2013, Stat Methods Med Res 22:57-69), not the normal approximation."""
    shape = np.asarray(a, dtype=np.float64) + 0.5
    rate = np.asarray(expected, dtype=np.float64) + 0.5
    return {
        "IC": np.log2(shape / rate),
        "IC025": np.log2(special.gammaincinv(shape, 0.025) / rate),
        "IC975": np.log2(special.gammaincinv(shape, 0.975) / rate),
    }


def bayesian_measures(
    table: pl.DataFrame, cfg: SignalConfig, prior: GammaMixturePrior | None = None
) -> tuple[pl.DataFrame, GammaMixturePrior]:
    """Add IC, IC025, IC975, EBGM, EB05, EB95. The GPS prior is fitted unless given.

    Scores depend on a cell only through (a, E0), so they are computed once per distinct pair.
    """
    if prior is None:
        # fitted to every cell (pharmacovigilance.md), not once per distinct (a, E0)
        prior = fit_prior(table["a"].to_numpy().astype(np.float64), table["E0"].to_numpy(), cfg.disproportionality.gps)
    distinct = table.select("a", "E0").unique()
    a = distinct["a"].to_numpy().astype(np.float64)
    e = distinct["E0"].to_numpy()
    scores = information_component(a, e) | gps_scores(a, e, prior)
    scored = distinct.with_columns(pl.Series(k, v) for k, v in scores.items())
    return table.join(scored, on=["a", "E0"], how="left"), prior


def flag_signals(table: pl.DataFrame, cfg: SignalConfig) -> pl.DataFrame:
    """One flag per method (thresholds from signals.yaml) and the overall signal."""
    r = cfg.disproportionality
    return table.with_columns(
        ((pl.col("PRR") >= r.prr.min_prr) & (pl.col("chi2") >= r.prr.min_chi2) & (pl.col("a") >= r.prr.min_a))
        .fill_null(False).alias("flag_prr"),
        ((pl.col("ROR_lo") > r.ror.min_lower_95) & (pl.col("a") >= r.ror.min_a)).fill_null(False).alias("flag_ror"),
        (pl.col("IC025") > r.ic.min_ic025).fill_null(False).alias("flag_ic"),
        (pl.col("EB05") >= r.ebgm.min_eb05).fill_null(False).alias("flag_ebgm"),
    ).with_columns(
        pl.sum_horizontal(pl.col("flag_prr", "flag_ror", "flag_ic", "flag_ebgm").cast(pl.Int8))
        .cast(pl.Int64).alias("n_methods"),
    ).with_columns((pl.col("n_methods") >= r.overall_min_methods).alias("signal"))


def run_disproportionality(
    reports: pl.DataFrame, cfg: SignalConfig, prior: GammaMixturePrior | None = None
) -> tuple[pl.DataFrame, GammaMixturePrior]:
    """All four methods and their flags, with the GPS prior used (fitted unless given)."""
    table = frequentist_measures(contingency(reports))
    table, prior = bayesian_measures(table, cfg, prior)
    return flag_signals(table, cfg).select(RESULT_COLUMNS).sort("drug", "event"), prior


def disproportionality(
    reports: pl.DataFrame, cfg: SignalConfig, prior: GammaMixturePrior | None = None
) -> pl.DataFrame:
    """One row per observed (drug, event): a, b, c, d, E0, PRR, chi2, ROR, ROR_lo, ROR_hi, IC,
    IC025, IC975, EBGM, EB05, EB95, flag_prr, flag_ror, flag_ic, flag_ebgm, n_methods, signal."""
    return run_disproportionality(reports, cfg, prior)[0]
