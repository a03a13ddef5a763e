"""The narrow working frame grading runs on: one row per LB row, text keys as small integer ids.

Ten million LB rows repeat a few thousand subjects, a few dozen tests, units and flags and a few
hundred dates. Every text column is therefore read once for its distinct values, which are
normalised, parsed and looked up in Python-sized tables, and once more to give each row the id of
its value; everything per row is then a gather from a small table or arithmetic on numbers. The
new columns are added to the caller's frame at the end, in the caller's row order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from safety.dates import derive_dates
from safety.grading.criteria import Criteria

ID_TYPE = pl.UInt32
# Text columns read for their distinct values (those present in the frame).
TEXT_COLUMNS = ("LBTESTCD", "USUBJID", "LBDTC", "LBSTRESU", "LBBLFL", "LBSPEC", "LBCAT")


@dataclass(frozen=True)
class Keys:
    """The vocabularies the working frame's ids point into."""

    codes: pl.Series  # stripped upper-case LBTESTCD values: _CODE is a position in it
    subjects: pl.Series  # USUBJID values: _SUBJ is a position in it
    units: pl.Series  # LBSTRESU values: _UNIT is a position in it, len(units) for a missing unit
    dates: pl.DataFrame | None  # LBDT, LBDTF, LBDTM parsed per LBDTC value (row _DATE); None: LBDT was given
    paramcd: pl.Series | None  # the codes again when LBTESTCD needs normalising; None: PARAMCD is LBTESTCD


def distinct_values(lb: pl.DataFrame, names: list[str]) -> dict[str, pl.Series]:
    """Sorted distinct non-null values of each named column (as text), read in parallel."""
    row = lb.select(pl.col(n).cast(pl.String).unique().drop_nulls().sort().implode() for n in names)
    return {n: row.get_column(n).explode().drop_nulls() for n in names}


def id_of(name: str, distinct: pl.Series) -> pl.Expr:
    """Position of the row's value in `distinct` (which holds every value of the column); null stays
    null. The smallest unsigned type that holds the positions (UInt8 for up to 256 values)."""
    return pl.col(name).cast(pl.String).cast(pl.Enum(distinct)).to_physical()


def collect(query: pl.LazyFrame) -> pl.DataFrame:
    """Run a query on the working frame.

    The in-memory engine keeps each column in one piece (the streaming engine returns it in many,
    and splitting by test is slower on those). Common-subexpression elimination is off: in polars
    2.1 it takes two `lookup` tables with equal values but different types (all null, say) for one.
    """
    return query.collect(engine="in-memory", optimizations=pl.QueryOptFlags(comm_subexpr_elim=False))


def lookup(table: pl.Series, index: pl.Expr) -> pl.Expr:
    """table[index] per row (null index: null)."""
    return pl.lit(table).gather(index)


def optional(lb: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    """The column cast to `dtype`, or nulls when the frame has none."""
    if name in lb.columns:
        return lb.get_column(name).cast(dtype)
    return pl.repeat(None, lb.height, dtype=dtype, eager=True).alias(name)


def _satisfying(distinct: pl.Series, keep: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """The values among `distinct` for which `keep(value)` holds."""
    return pl.DataFrame({"v": distinct}).filter(keep(pl.col("v")).fill_null(False)).get_column("v")


def _is_one_of(name: str, values: pl.Series) -> pl.Expr:
    """The row's value is one of `values` (null: null)."""
    if values.len() == 1:
        return pl.col(name).cast(pl.String) == values.item()
    return pl.col(name).cast(pl.String).is_in(values.implode())


def exclusion_sets(criteria: Criteria) -> list[tuple[str, ...]]:
    """The distinct `exclude_specimens` lists of the criteria; column `_EXCL{i}` flags list i."""
    return sorted({t.exclude_specimens for t in criteria.terms if t.exclude_specimens})


def _code(distinct: pl.Series) -> tuple[pl.Series, pl.Expr, bool]:
    """(codes, _CODE, normalised): the test code as matched is LBTESTCD stripped and upper-case."""
    normal = distinct.str.strip_chars().str.to_uppercase()
    codes = normal.unique().sort()
    if normal.equals(distinct):
        return codes, id_of("LBTESTCD", distinct), True
    to_code = normal.replace_strict(codes, pl.int_range(codes.len(), dtype=ID_TYPE, eager=True), return_dtype=ID_TYPE)
    return codes, lookup(to_code, id_of("LBTESTCD", distinct)), False


def _flags(lb: pl.DataFrame, criteria: Criteria, distinct: dict[str, pl.Series]) -> list[pl.Expr]:
    """_BLFL (LBBLFL is Y) and _EXCL{i} (the specimen is in exclusion list i; only for lists that
    some row's specimen is in)."""
    flags = [pl.lit(None, pl.Boolean).alias("_BLFL")]
    if "LBBLFL" in lb.columns:
        flagged = _satisfying(distinct["LBBLFL"], lambda v: v.str.strip_chars().str.to_uppercase() == "Y")
        flags = [_is_one_of("LBBLFL", flagged).alias("_BLFL")]
    for i, listed in enumerate(exclusion_sets(criteria)):
        # The specimen is LBSPEC, or implied by the category (URINALYSIS) when LBSPEC is absent.
        excluded = []
        for name in ("LBSPEC", "LBCAT"):
            if name in lb.columns:
                values = _satisfying(distinct[name], lambda v, listed=listed: v.str.to_uppercase().is_in(listed))
                if values.len():
                    excluded.append(_is_one_of(name, values).fill_null(False))
        if excluded:
            flags.append(pl.any_horizontal(excluded).alias(f"_EXCL{i}"))
    return flags


def work_frame(lb: pl.DataFrame, criteria: Criteria) -> tuple[pl.DataFrame, Keys]:
    """The working frame, per LB row: _SUBJ, _CODE, _UNIT, _DATE (ids, see `Keys`; _DATE only when
    LBDTC is parsed here), _DT, _DTM (LBDT, LBDTM), _BLFL and _EXCL{i}."""
    names = [n for n in TEXT_COLUMNS if n in lb.columns]
    given_dates = "LBDT" in lb.columns and "LBDTM" in lb.columns
    if given_dates:
        names.remove("LBDTC")
    distinct = distinct_values(lb, names)
    codes, code, normalised = _code(distinct["LBTESTCD"])
    units = distinct.get("LBSTRESU", pl.Series(dtype=pl.String))
    # A missing unit gets its own id, after the others.
    unit = pl.lit(units.len(), ID_TYPE)
    if "LBSTRESU" in lb.columns:
        unit = id_of("LBSTRESU", units).cast(ID_TYPE).fill_null(units.len())
    if given_dates:
        dates, read_dates = None, [pl.col("LBDT").alias("_DT"), pl.col("LBDTM").alias("_DTM")]
    else:
        # As `derive_dates(lb, 'LBDTC', 'first')` adds them, but parsed once per distinct text.
        dates = derive_dates(pl.DataFrame({"LBDTC": distinct["LBDTC"]}), "LBDTC", "first").drop("LBDTC")
        read_dates = [id_of("LBDTC", distinct["LBDTC"]).alias("_DATE")]
    work = lb.lazy().select(
        id_of("USUBJID", distinct["USUBJID"]).alias("_SUBJ"),
        code.alias("_CODE"),
        unit.alias("_UNIT"),
        *read_dates,
        *_flags(lb, criteria, distinct),
    )
    if dates is not None:
        work = work.with_columns(lookup(dates.get_column("LBDT"), pl.col("_DATE")).alias("_DT"),
                                 lookup(dates.get_column("LBDTM"), pl.col("_DATE")).alias("_DTM"))
    keys = Keys(codes=codes, subjects=distinct["USUBJID"], units=units, dates=dates,
                paramcd=None if normalised else codes)
    return collect(work), keys
