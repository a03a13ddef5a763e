"""Observed against expected within the trial: per term, and separately for grade >= 3.

For each preferred term (AEDECOD, matched case-insensitively to the reference table's term or
one of its synonyms) among the treated subjects at the data cut: the number of subjects with a
treatment-emergent event, the crude incidence with its exact Clopper-Pearson interval, the
exposure-adjusted incidence rate per 100 patient-years (time at risk to the first event, else to
the end of exposure or the data cut), the reference rate, and the posterior probability that the
true incidence exceeds reference + margin under a Beta(w ref, w (1 - ref)) prior (a prior worth w
subjects centred on the reference; pharmacovigilance.md, "Within the trial"). A term absent from
the reference safety information is flagged once `min_subjects_unlisted` subjects have it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from scipy import stats

from safety.rsi import term_key_expr
from safety.signals.config import SignalConfig

GRADE_CLASSES = ("any", ">=3")
REFERENCE_COLUMNS = ("term", "synonyms", "rate_any", "rate_g3")
DAYS_PER_YEAR = 365.25

RESULT_COLUMNS = (
    "grade_class", "term", "listed", "n_subj", "n_treated", "incidence", "incidence_lo", "incidence_hi",
    "patient_years", "eair_per_100py", "reference_rate", "prob_exceeds", "median_onset_days",
    "flag_exceeds", "flag_unlisted", "signal",
)


def combination_reference_rates(per_drug: pl.DataFrame) -> pl.DataFrame:
    """Reference rates for the combination from per-drug rows (drug, term, synonyms, rate_any, rate_g3).

    The combination's rate of a term is the higher of the drugs' rates, a drug that does not list
    the term counting 0 (reference-safety.md, "Reference rates for signal detection"); synonyms are
    pooled. A rate left null by every drug that lists the term stays null (frequency unknown).
    """
    return (
        per_drug.with_columns(pl.col("term").str.strip_chars().str.to_lowercase().alias("_key"))
        .group_by("_key")
        .agg(
            pl.col("term").first(),
            pl.col("synonyms").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            pl.col("rate_any").max(),
            pl.col("rate_g3").max(),
        )
        .drop("_key")
        .sort("term")
    )


def _term_lookup(reference_rates: pl.DataFrame) -> pl.DataFrame:
    """(key, term) for every term and synonym, lower-cased; a key may name one term only."""
    missing = [c for c in REFERENCE_COLUMNS if c not in reference_rates.columns]
    if missing:
        raise ValueError(f"reference rates: missing column(s) {', '.join(missing)}")
    names = pl.concat([
        reference_rates.select("term", pl.col("term").alias("key")),
        reference_rates.select("term", pl.col("synonyms").alias("key")).explode("key").drop_nulls(),
    ])
    lookup = names.with_columns(term_key_expr(pl.col("key"))).unique()
    clash = lookup.group_by("key").agg(pl.col("term").n_unique().alias("n")).filter(pl.col("n") > 1)
    if clash.height:
        raise ValueError(f"reference rates: synonym(s) naming more than one term: {', '.join(clash['key'])}")
    return lookup


def _as_date(frame: pl.DataFrame, derived: str, text: str) -> pl.Expr:
    if derived in frame.columns:
        return pl.col(derived).cast(pl.Date)
    if text in frame.columns:
        return pl.col(text).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return pl.lit(None, dtype=pl.Date)


def treated_subjects(dm: pl.DataFrame, data_cut: date) -> pl.DataFrame:
    """USUBJID, first dose, end of time at risk (last dose or data cut, whichever first)."""
    cut = pl.lit(data_cut, dtype=pl.Date)
    return (
        dm.select(
            "USUBJID",
            _as_date(dm, "RFXSTDT", "RFXSTDTC").alias("first_dose"),
            _as_date(dm, "RFXENDT", "RFXENDTC").alias("last_dose"),
        )
        .filter(pl.col("first_dose").is_not_null() & (pl.col("first_dose") <= cut))
        .unique("USUBJID", keep="first")
        .with_columns(pl.min_horizontal(pl.col("last_dose").fill_null(cut), cut).alias("end_at_risk"))
        .with_columns(pl.max_horizontal("end_at_risk", "first_dose").alias("end_at_risk"))
        .select("USUBJID", "first_dose", "end_at_risk")
    )


def _first_onsets(ae: pl.DataFrame, treated: pl.DataFrame, lookup: pl.DataFrame, data_cut: date) -> pl.DataFrame:
    """One row per (grade class, term, subject) with the first treatment-emergent onset."""
    events = (
        ae.select(
            "USUBJID",
            pl.col("AEDECOD").str.strip_chars().alias("decod"),
            pl.col("AETOXGR").cast(pl.Int64, strict=False).alias("grade"),
            _as_date(ae, "AESTDT", "AESTDTC").alias("onset"),
        )
        .filter(pl.col("decod").is_not_null() & (pl.col("decod") != ""))
        .join(treated, on="USUBJID", how="inner")
        # treatment-emergent, up to the data cut
        .filter((pl.col("onset") >= pl.col("first_dose")) & (pl.col("onset") <= pl.lit(data_cut, dtype=pl.Date)))
        .with_columns(term_key_expr(pl.col("decod")).alias("key"))
        .join(lookup, on="key", how="left")
        # a term absent from the reference is still one term whatever its case or spacing
        .with_columns(pl.col("term").is_not_null().alias("listed"),
                      pl.coalesce("term", pl.col("decod").min().over("key")).alias("term"))
    )
    by_class = pl.concat([
        events.with_columns(pl.lit("any").alias("grade_class")),
        events.filter(pl.col("grade") >= 3).with_columns(pl.lit(">=3").alias("grade_class")),
    ])
    return (
        by_class.group_by("grade_class", "term", "USUBJID")
        .agg(
            pl.col("listed").first(),
            pl.col("onset").min(),
            pl.col("first_dose").first(),
            pl.col("end_at_risk").first(),
        )
        .with_columns(
            (pl.col("onset") - pl.col("first_dose")).dt.total_days().alias("onset_day"),
            # days of risk lost because the subject stopped being at risk at the first event
            ((pl.col("end_at_risk") - pl.col("onset")).dt.total_days()).alias("days_after_event"),
        )
    )


def observed_vs_expected(
    ae: pl.DataFrame, dm: pl.DataFrame, reference_rates: pl.DataFrame, cfg: SignalConfig, data_cut: date
) -> pl.DataFrame:
    """Per (grade_class, term): n_subj of n_treated, incidence with Clopper-Pearson CI, EAIR per 100
    patient-years, reference rate, P(true rate > reference + margin), median onset day, flags.

    `reference_rates`: term, synonyms (list of str), rate_any, rate_g3 for the combination, its
    additive allowance included (`Rsi.reference_rates`, from rsi.yaml `combination`).
    """
    rules = cfg.observed_vs_expected
    lookup = _term_lookup(reference_rates)
    treated = treated_subjects(dm, data_cut)
    n_treated = treated.height
    if n_treated == 0:
        types = {"grade_class": pl.String, "term": pl.String, "listed": pl.Boolean, "n_subj": pl.Int64,
                 "n_treated": pl.Int64, "flag_exceeds": pl.Boolean, "flag_unlisted": pl.Boolean, "signal": pl.Boolean}
        return pl.DataFrame(schema={c: types.get(c, pl.Float64) for c in RESULT_COLUMNS})
    exposure_days = treated.select(
        ((pl.col("end_at_risk") - pl.col("first_dose")).dt.total_days() + 1).sum()
    ).item()
    rates = reference_rates.select(
        "term",
        pl.lit("any").alias("any"), pl.col("rate_any"),
        pl.lit(">=3").alias("g3"), pl.col("rate_g3"),
    )
    rates = pl.concat([
        rates.select("term", pl.col("any").alias("grade_class"), pl.col("rate_any").alias("rate")),
        rates.select("term", pl.col("g3").alias("grade_class"), pl.col("rate_g3").alias("rate")),
    ])
    summary = (
        _first_onsets(ae, treated, lookup, data_cut)
        .group_by("grade_class", "term")
        .agg(
            pl.col("listed").first(),
            pl.len().alias("n_subj"),
            pl.col("days_after_event").sum().alias("lost_days"),
            pl.col("onset_day").median().alias("median_onset_days"),
        )
        .join(rates, on=["grade_class", "term"], how="left")
        .with_columns(
            pl.lit(n_treated, dtype=pl.Int64).alias("n_treated"),
            pl.col("n_subj").cast(pl.Int64),
            ((exposure_days - pl.col("lost_days")) / DAYS_PER_YEAR).alias("patient_years"),
            pl.when(pl.col("listed"))
            .then(pl.col("rate").fill_null(rules.unknown_rate))
            .alias("reference_rate"),
        )
        .sort("grade_class", "term")
    )
    n = summary["n_subj"].to_numpy().astype(np.float64)
    ref = summary["reference_rate"].fill_null(np.nan).to_numpy()
    alpha = 1 - rules.ci_level
    # Clopper-Pearson exact limits from the beta quantiles (Clopper & Pearson 1934)
    lo = np.where(n > 0, stats.beta.ppf(alpha / 2, n, n_treated - n + 1), 0.0)
    hi = np.where(n < n_treated, stats.beta.ppf(1 - alpha / 2, n + 1, n_treated - n), 1.0)
    w = rules.prior_weight
    with np.errstate(invalid="ignore"):
        prob = stats.beta.sf(ref + rules.margin, w * ref + n, w * (1 - ref) + n_treated - n)
    prob = np.where(np.isnan(ref), np.nan, np.where(ref + rules.margin >= 1, 0.0, prob))
    return (
        summary.with_columns(
            (pl.col("n_subj") / n_treated).alias("incidence"),
            pl.Series("incidence_lo", lo),
            pl.Series("incidence_hi", hi),
            (100 * pl.col("n_subj") / pl.col("patient_years")).alias("eair_per_100py"),
            pl.Series("prob_exceeds", prob).fill_nan(None),
        )
        .with_columns(
            (pl.col("prob_exceeds") >= rules.posterior_threshold).fill_null(False).alias("flag_exceeds"),
            (~pl.col("listed") & (pl.col("n_subj") >= rules.min_subjects_unlisted)).alias("flag_unlisted"),
        )
        .with_columns((pl.col("flag_exceeds") | pl.col("flag_unlisted")).alias("signal"))
        .select(RESULT_COLUMNS)
    )


def signal_table(
    ae: pl.DataFrame, dm: pl.DataFrame, reference_rates: pl.DataFrame, cfg: SignalConfig, data_cut: date
) -> pl.DataFrame:
    """`observed_vs_expected` ordered for review (signals first, then highest posterior
    probability, then most subjects), with the rules' version in a `rules_version` column."""
    return (
        observed_vs_expected(ae, dm, reference_rates, cfg, data_cut)
        .sort(["signal", "prob_exceeds", "n_subj", "term"], descending=[True, True, True, False], nulls_last=True)
        .with_columns(pl.lit(cfg.version).alias("rules_version"))
    )
