"""ISO 8601 dates as SDTM writes them: possibly partial, possibly with a time.

SDTM keeps the text (``--DTC``); derivations need a date. We keep the text and add a
derived date plus an ADaM-style imputation flag (``D`` day imputed, ``M`` month and day
imputed, null when complete). Start dates impute to the first day of the known period and
end dates to the last, the usual conservative ADaM convention for onset and resolution.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

Impute = Literal["first", "last"]

# YYYY, YYYY-MM, YYYY-MM-DD, optionally followed by THH[:MM[:SS[.fff]]] (SDTM IG 4.4.2 lists
# 2003-12-15T13 as a partial datetime) and a zone.
_ISO = r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def derived_names(dtc_column: str) -> tuple[str, str, str]:
    """`AESTDTC` -> (`AESTDT`, `AESTDTF`, `AESTDTM`): date, imputation flag, datetime."""
    stem = dtc_column[:-1] if dtc_column.endswith("DTC") else dtc_column
    return stem, stem + "F", stem + "M"


def derive_dates(frame: pl.DataFrame | pl.LazyFrame, dtc_column: str, impute: Impute = "first"):
    """Add the derived date, flag and datetime for one ``--DTC`` column.

    The text is never changed. A text that is present but not ISO 8601 (or names an impossible
    calendar date such as 2024-02-30) yields a null date; `invalid_dates` finds those rows.
    Parsing runs on the distinct texts only (a lab table repeats a few thousand dates
    millions of times), then joins back.
    """
    date_col, flag_col, dtm_col = derived_names(dtc_column)
    eager = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    text = eager.get_column(dtc_column).cast(pl.String)
    distinct = text.unique().drop_nulls()
    parsed = _parse_dates(pl.LazyFrame({dtc_column: distinct}), dtc_column, impute).collect()
    # Each row finds its text's position once; the three derived columns are gathers by it.
    position = text.cast(pl.Enum(distinct)).to_physical()
    derived = [parsed.get_column(name).gather(position).alias(name) for name in (date_col, flag_col, dtm_col)]
    out = eager.with_columns(text.alias(dtc_column), *derived)
    return out.lazy() if isinstance(frame, pl.LazyFrame) else out


def _parse_dates(frame: pl.LazyFrame, dtc_column: str, impute: Impute) -> pl.LazyFrame:
    date_col, flag_col, dtm_col = derived_names(dtc_column)
    text = pl.col(dtc_column).cast(pl.String).str.strip_chars()
    y, m, d, hh, mi, ss = (text.str.extract(_ISO, i) for i in range(1, 7))
    month = m.fill_null("01" if impute == "first" else "12")
    # Parsing the rebuilt text with strict=False turns impossible dates (2024-02-30) into nulls.
    first_of_month = pl.concat_str(y, pl.lit("-"), month, pl.lit("-01")).str.to_date("%Y-%m-%d", strict=False)
    full = pl.concat_str(y, pl.lit("-"), m, pl.lit("-"), d).str.to_date("%Y-%m-%d", strict=False)
    imputed = first_of_month if impute == "first" else first_of_month.dt.month_end()
    # An impossible time of day (T25:00, T12:60) makes the whole text invalid, like 2024-02-30.
    bad_time = (hh.cast(pl.Int64) > 23) | (mi.cast(pl.Int64) > 59) | (ss.cast(pl.Int64) > 59)
    date = pl.when(bad_time.fill_null(False)).then(None).when(d.is_not_null()).then(full).otherwise(imputed)
    flag = pl.when(date.is_null()).then(None).when(m.is_null()).then(pl.lit("M")).when(d.is_null()).then(pl.lit("D"))
    seconds = (
        hh.cast(pl.Int64) * 3600 + mi.cast(pl.Int64, strict=False).fill_null(0) * 60
        + ss.cast(pl.Int64, strict=False).fill_null(0)
    )
    # a time known to the hour only is no time of day to compare: the date is used
    dtm = pl.when(d.is_not_null() & mi.is_not_null() & date.is_not_null()).then(
        date.cast(pl.Datetime("us")) + pl.duration(seconds=seconds)
    )
    return frame.with_columns(date.alias(date_col), flag.cast(pl.String).alias(flag_col), dtm.alias(dtm_col))


def is_blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).cast(pl.String).str.strip_chars() == "")


def invalid_dates(dtc_column: str) -> pl.Expr:
    """True where the text is present but yields no date (run after `derive_dates`)."""
    return ~is_blank(dtc_column) & pl.col(derived_names(dtc_column)[0]).is_null()
