"""Bring each lab result and its normal range into the unit its CTCAE criterion expects.

Conversions come from `config/lab_units.csv`; a unit not listed for the test is never guessed
(ctcae.md 'Units'): the value stays null and the row says 'unknown unit'. Total calcium is
corrected for albumin because CTCAE grades corrected calcium (ctcae.md 'Calcium').
"""

from __future__ import annotations

import polars as pl

from safety.grading.criteria import Criteria, normalise_unit
from safety.grading.frame import ID_TYPE, Keys, collect, lookup, optional
from safety.grading.outcome import NO_ALBUMIN, UNKNOWN_UNIT

# Corrected Ca (mmol/L) = total Ca + 0.02 x (40 - albumin g/L) (ctcae.md 'Calcium'; Payne et al., BMJ 1973).
ALBUMIN_CODES = ("ALB",)
ALBUMIN_UNIT = "g/L"
CALCIUM_ALBUMIN_REFERENCE_G_L = 40.0
CALCIUM_PER_ALBUMIN_G_L = 0.02


def conversion_table(criteria: Criteria, keys: Keys) -> tuple[pl.DataFrame, pl.Series]:
    """(table, test): the factor and criterion unit (FACTOR, AVALU) of cell
    `test[_CODE] * (len(units) + 1) + _UNIT`, where `test` maps a code id to its position among the
    tests that have conversions (null: none listed). Units match as `normalise_unit` makes them."""
    # A missing unit is matched as '' (INR and pH have no unit); it has the last id.
    units = pl.DataFrame({"u": pl.concat([keys.units, pl.Series([None], dtype=pl.String)])})
    units = units.select(normalise_unit(pl.col("u")).alias("UNIT_KEY"))
    listed = criteria.unit_map()
    tests = listed.get_column("LBTESTCD_UP").unique().sort()
    test = keys.codes.replace_strict(tests, pl.int_range(tests.len(), dtype=ID_TYPE, eager=True), default=None,
                                     return_dtype=ID_TYPE)
    table = (
        pl.DataFrame({"LBTESTCD_UP": tests}).with_row_index("_t")
        .join(units.with_row_index("_u"), how="cross")
        .join(listed, on=["LBTESTCD_UP", "UNIT_KEY"], how="left")
        .sort("_t", "_u")
        .select("FACTOR", "AVALU")
    )
    return table, test


def _finite(values: pl.Series) -> pl.Series:
    # Source files carry NaN where a range does not apply (CDISC pilot): NaN is not a value.
    return values.fill_nan(None) if values.is_nan().any() else values


def convert_units(work: pl.DataFrame, lb: pl.DataFrame, criteria: Criteria,
                  keys: Keys) -> tuple[pl.DataFrame, pl.Series]:
    """(work, units): add AVAL, ANRLO, ANRHI (LBSTRESN, LBSTNRLO, LBSTNRHI in the criterion unit),
    _CELL (see `conversion_table`) and _UNITRSN (True: the unit is not listed for a test that has
    conversions) to a frame with _CODE and _UNIT (dropped); `units[_CELL]` is the row's AVALU.

    The factor of a row is looked up by (test, unit) in a small dense table indexed by the two ids:
    no join over the rows. Tests without any conversion listed get no AVAL and no reason.
    """
    table, test = conversion_table(criteria, keys)
    cell = lookup(test, pl.col("_CODE")) * (keys.units.len() + 1) + pl.col("_UNIT")
    work = collect(work.lazy().with_columns(cell.alias("_CELL")).with_columns(
        lookup(table.get_column("FACTOR"), pl.col("_CELL")).alias("_FACTOR")
    ))
    factor = work.get_column("_FACTOR")
    unit_is_criterion_unit = (factor == 1.0).fill_null(False)  # null: an unknown unit, no value
    converted = []
    for source, name in (("LBSTRESN", "AVAL"), ("LBSTNRLO", "ANRLO"), ("LBSTNRHI", "ANRHI")):
        values = _finite(optional(lb, source, pl.Float64))
        # Results already in the criterion unit (SDTM standard units usually are) share the source
        # column's memory: x * 1.0 is x exactly, so only a column with another factor is computed.
        same = (unit_is_criterion_unit | values.is_null()).all()
        converted.append((values if same else values * factor).alias(name))
    work = work.with_columns(
        *converted, (factor.is_null() & work.get_column("_CELL").is_not_null()).alias("_UNITRSN"),
    ).drop("_FACTOR", "_UNIT")
    return work, table.get_column("AVALU")


def correct_calcium(work: pl.DataFrame, lb: pl.DataFrame, criteria: Criteria, keys: Keys,
                    units: pl.Series) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """(work, corrected, no_albumin): AVAL of total-calcium rows replaced by albumin-corrected
    calcium from the same sample, and the rows (positions) corrected and the rows left without a
    value because their sample has no albumin result.

    Same sample = same subject and same LBDTC text; `units[_CELL]` is the unit of AVAL. Only the
    calcium and albumin rows are looked at.
    """
    calcium = sorted({c for t in criteria.terms for c in t.correct_codes})
    position = pl.DataFrame({"c": keys.codes}).with_row_index("i")
    calcium_ids, albumin_ids = (
        position.filter(pl.col("c").is_in(listed)).get_column("i").cast(ID_TYPE).implode()
        for listed in (calcium, list(ALBUMIN_CODES))
    )
    id_type = work.schema["_CODE"]
    is_calcium = pl.col("_CODE").is_in(calcium_ids.cast(pl.List(id_type))).fill_null(False)
    is_albumin = pl.col("_CODE").is_in(albumin_ids.cast(pl.List(id_type))).fill_null(False)
    involved = work.select(is_calcium | is_albumin).to_series()
    if not involved.any():
        return work, pl.Series(dtype=pl.UInt32), pl.Series(dtype=pl.UInt32)
    sample = collect(
        work.lazy().with_row_index("_ROW").filter(involved)
        .select("_ROW", "_SUBJ", "AVAL", lookup(units, pl.col("_CELL")).alias("AVALU"),
                is_calcium.alias("_CA"), is_albumin.alias("_ALBUMIN"))
    ).with_columns(  # the texts and sequence numbers, taken for these rows only
        lb.get_column("LBDTC").cast(pl.String).filter(involved).alias("LBDTC"),
        optional(lb, "LBSEQ", pl.Float64).filter(involved).alias("_SEQ"),
    )
    albumin = (
        sample.filter(pl.col("_ALBUMIN") & pl.col("AVAL").is_not_null() & (pl.col("AVALU") == ALBUMIN_UNIT))
        .group_by("_SUBJ", "LBDTC")
        # Two albumin results in one sample: the first by LBSEQ, so the choice is reproducible.
        .agg(pl.col("AVAL").sort_by("_SEQ").first().alias("_ALB"))
    )
    totals = (
        sample.filter(pl.col("_CA") & pl.col("AVAL").is_not_null())
        .join(albumin, on=["_SUBJ", "LBDTC"], how="left")
        .select(
            "_ROW",
            (pl.col("AVAL") + CALCIUM_PER_ALBUMIN_G_L * (CALCIUM_ALBUMIN_REFERENCE_G_L - pl.col("_ALB"))).alias("AVAL"),
        )
    )
    aval = work.get_column("AVAL")
    work = work.drop("AVAL")  # so that the scatter below changes the only copy, in place
    work = work.with_columns(aval.scatter(totals.get_column("_ROW"), totals.get_column("AVAL")))
    corrected = totals.filter(pl.col("AVAL").is_not_null()).get_column("_ROW")
    no_albumin = totals.filter(pl.col("AVAL").is_null()).get_column("_ROW")
    return work, corrected, no_albumin


__all__ = ["NO_ALBUMIN", "UNKNOWN_UNIT", "convert_units", "correct_calcium"]
