"""Baseline per subject and test, and which results are post-baseline.

Baseline is the record flagged LBBLFL='Y' when the source flags one; otherwise the last
non-missing result on or before first dose (DM.RFXSTDTC), comparing times of day only when both
have one (ctcae.md 'Baseline'; ADaM IG v1.3 ABLFL). BNRIND is the baseline value against the
baseline record's own normal range; it decides the CTCAE v5.0 liver baseline rule.

The baseline candidates are few (one flagged record, or the pre-dose records, per subject and
test): they are chosen on their own, and the choice reaches every row of its subject and test by
position in a table with one row per (subject, test) pair (or, when pairs are very many, by a join).
"""

from __future__ import annotations

import polars as pl

from safety.dates import derive_dates
from safety.grading.criteria import SIGNIFICANT_DIGITS
from safety.grading.frame import Keys, collect, lookup, optional

BNRIND_VALUES = ("HIGH", "LOW", "NORMAL")  # sorted: BNRIND_ENUM's order is the text's
BNRIND_ENUM = pl.Enum(BNRIND_VALUES)
HIGH = BNRIND_VALUES.index("HIGH")
_BNRIND_TYPE = pl.UInt8


def _first_dose(dm: pl.DataFrame, subjects: pl.Series) -> pl.DataFrame:
    """_FDDT and _FDDTM per subject id (row i: subject id i)."""
    if "RFXSTDT" not in dm.columns or "RFXSTDTM" not in dm.columns:
        dm = derive_dates(dm, "RFXSTDTC", "first")
    dose = dm.select(
        pl.col("USUBJID").cast(pl.String), pl.col("RFXSTDT").alias("_FDDT"), pl.col("RFXSTDTM").alias("_FDDTM")
    ).unique("USUBJID", keep="first")
    return subjects.to_frame("USUBJID").join(dose, on="USUBJID", how="left", maintain_order="left")


def _on_or_before(dt: str, dtm: str, ref_dt: str, ref_dtm: str) -> pl.Expr:
    both_times = pl.col(dtm).is_not_null() & pl.col(ref_dtm).is_not_null()
    return pl.when(both_times).then(pl.col(dtm) <= pl.col(ref_dtm)).otherwise(pl.col(dt) <= pl.col(ref_dt))


def _group(n_codes: int, n_groups: int) -> pl.Expr:
    """One integer per (subject, test), below `n_groups`; null where either is missing (such rows
    have no baseline)."""
    dtype = pl.UInt32 if n_groups < 2**32 else pl.UInt64
    return pl.col("_SUBJ").cast(dtype) * max(n_codes, 1) + pl.col("_CODE").cast(dtype)


def _candidates(work: pl.DataFrame, lb: pl.DataFrame, dm: pl.DataFrame | None, subjects: pl.Series) -> pl.DataFrame:
    """_ROW, _GROUP, _DT, _DTM and _SEQ (LBSEQ) of the records that may be the baseline."""
    # a flag on a record without a value gives no baseline value: the pre-dose rule decides then
    flagged = pl.col("_BLFL").fill_null(False) & pl.col("AVAL").is_not_null() & pl.col("_GROUP").is_not_null()
    pool = work.lazy().with_row_index("_ROW")
    if dm is None:
        pool = pool.filter(flagged)
    else:
        dose = _first_dose(dm, subjects)
        before_dose = (
            pl.col("AVAL").is_not_null()
            & _on_or_before("_DT", "_DTM", "_FDDT", "_FDDTM").fill_null(False)
            & ~pl.col("_BLFL").fill_null(False) & pl.col("_GROUP").is_not_null()
        )
        pool = pool.with_columns(lookup(dose.get_column("_FDDT"), pl.col("_SUBJ")).alias("_FDDT"),
                                 lookup(dose.get_column("_FDDTM"), pl.col("_SUBJ")).alias("_FDDTM"))
        pool = pool.filter(flagged | before_dose).with_columns(flagged.alias("_FLAGGED"))
        # A flagged record wins over first dose for its whole subject and test.
        pool = collect(pool)
        flagged_groups = pool.filter("_FLAGGED").get_column("_GROUP").unique()
        pool = pool.lazy().filter(pl.col("_FLAGGED") | ~pl.col("_GROUP").is_in(flagged_groups.implode()))
    candidates = collect(pool.select("_ROW", "_GROUP", "_DT", "_DTM"))
    sequence = optional(lb, "LBSEQ", pl.Float64).gather(candidates.get_column("_ROW"))
    return candidates.with_columns(sequence.alias("_SEQ"))


def _per_row(work: pl.DataFrame, chosen: pl.DataFrame, n_groups: int) -> pl.LazyFrame:
    """The chosen baseline's columns on every row of its group (nulls where the group has none)."""
    if n_groups > max(work.height // 2, 1024):
        return work.lazy().join(chosen.lazy(), on="_GROUP", how="left", maintain_order="left")
    # Few groups (the usual case): a table with one row per possible group, read by position.
    table = pl.DataFrame({"_GROUP": pl.int_range(n_groups, dtype=chosen.schema["_GROUP"], eager=True)}).join(
        chosen, on="_GROUP", how="left", maintain_order="left")
    return work.lazy().with_columns(
        lookup(table.get_column(c), pl.col("_GROUP")).alias(c) for c in chosen.columns if c != "_GROUP"
    )


def derive_baseline(work: pl.DataFrame, lb: pl.DataFrame, dm: pl.DataFrame | None, keys: Keys) -> pl.DataFrame:
    """Add BASE, _BNRIND (index in BNRIND_VALUES), _BASEROW, ABLFL (bool) and _POST to a frame with
    _SUBJ, _CODE, _DT, _DTM, _BLFL, AVAL, ANRLO, ANRHI (the ids: see `Keys`); drops _SUBJ and _BLFL."""
    n_codes = keys.codes.len()
    n_groups = keys.subjects.len() * max(n_codes, 1)
    work = work.with_columns(_group(n_codes, n_groups).alias("_GROUP"))
    candidates = _candidates(work, lb, dm, keys.subjects)
    # The last candidate in time; LBSEQ then row order break ties so the choice is reproducible.
    chosen = candidates.group_by("_GROUP").agg(
        pl.col("_ROW").sort_by(["_DT", "_DTM", "_SEQ", "_ROW"], nulls_last=False).last().alias("_BASEROW")
    )
    at_base = chosen.get_column("_BASEROW")
    value = work.get_column("AVAL").gather(at_base).round_sig_figs(SIGNIFICANT_DIGITS)
    low, high = (work.get_column(c).gather(at_base).round_sig_figs(SIGNIFICANT_DIGITS) for c in ("ANRLO", "ANRHI"))
    chosen = chosen.with_columns(
        work.get_column("AVAL").gather(at_base).alias("BASE"),
        pl.select(
            pl.when(value.is_null()).then(None)
            .when(high.is_not_null() & (value > high)).then(pl.lit(HIGH))
            .when(low.is_not_null() & (value < low)).then(pl.lit(BNRIND_VALUES.index("LOW")))
            .when(high.is_not_null() & low.is_not_null()).then(pl.lit(BNRIND_VALUES.index("NORMAL")))
            .cast(_BNRIND_TYPE)
        ).to_series().alias("_BNRIND"),
        work.get_column("_DT").gather(at_base).alias("_BDT"),
        work.get_column("_DTM").gather(at_base).alias("_BDTM"),
    )
    per_row = _per_row(work.drop("_BLFL"), chosen, n_groups)
    if dm is not None:
        # A test with no baseline record (none flagged, no result on or before first dose): its
        # results after first dose are post-baseline all the same, or a subject whose pre-dose labs
        # are missing would have no on-treatment result in worst grades and AE reconciliation. The
        # first dose stands in for the baseline's date (results on or before it would have been
        # the baseline, so every result left is after it or has no value).
        dose = _first_dose(dm, keys.subjects)
        no_baseline = pl.col("_BASEROW").is_null()
        per_row = per_row.with_columns(
            pl.when(no_baseline).then(lookup(dose.get_column(first), pl.col("_SUBJ"))).otherwise(pl.col(b)).alias(b)
            for first, b in (("_FDDT", "_BDT"), ("_FDDTM", "_BDTM"))
        )
    both_times = pl.col("_DTM").is_not_null() & pl.col("_BDTM").is_not_null()
    after = pl.when(both_times).then(pl.col("_DTM") > pl.col("_BDTM")).otherwise(pl.col("_DT") > pl.col("_BDT"))
    is_base = pl.int_range(pl.len(), dtype=pl.UInt32) == pl.col("_BASEROW")
    return collect(per_row.with_columns(
        is_base.alias("ABLFL"),
        (after.fill_null(False) & ~is_base.fill_null(False)).alias("_POST"),
    ).drop("_SUBJ", "_GROUP", "_BDT", "_BDTM"))


__all__ = ["BNRIND_ENUM", "BNRIND_VALUES", "HIGH", "derive_baseline"]
