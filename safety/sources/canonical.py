"""Map raw domain frames to the canonical tables, once: type, derive dates, quarantine bad rows.

A row that cannot be used goes to quarantine with its file, source row number, record key and
every reason found (not only the first), and the rest of the file is still ingested.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from safety.dates import derive_dates, derived_names
from safety.schemas import TABLES, TableSpec, key_hash, keys_distinct
from safety.sources.files import SourceFileError

QUARANTINE_SCHEMA = {
    "DOMAIN": pl.String, "FILE": pl.String, "SOURCE_ROW": pl.Int64, "RECORD_KEY": pl.String,
    "REASON": pl.String, "ROW_JSON": pl.String,
}
KEY_SEP = "|"
# Part of every source's fingerprint (configured.rules_fingerprint): a change to how rows are typed
# or quarantined here or in safety.dates must re-read unchanged files. 2: impossible times
# quarantined, hour-only times kept, conflicting SUPP qualifiers quarantined, text IDVAR merged.
CANONICAL_RULES = "2"


@dataclass
class Canonical:
    frame: pl.DataFrame
    quarantine: pl.DataFrame
    ignored: dict[str, int]


def record_key(spec: TableSpec) -> pl.Expr:
    """The natural key as one text: STUDYID|USUBJID|--SEQ (nulls shown as '?')."""
    parts = [pl.col(c).cast(pl.String).fill_null("?") for c in ("STUDYID", *spec.key)]
    return pl.concat_str(parts, separator=KEY_SEP)


def _text(col: str, strip: bool = True) -> pl.Expr:
    t = pl.col(col).cast(pl.String)
    t = t.str.strip_chars() if strip else t
    return pl.when(t.str.len_bytes() == 0).then(None).otherwise(t)


def _padded(raw: pl.DataFrame) -> set[str]:
    """Text columns with surrounding blanks (XPT, CSV exports): only these pay for stripping."""
    text = [c for c, d in raw.schema.items() if d == pl.String]
    if not text:
        return set()
    row = raw.select(
        (pl.col(c).str.starts_with(" ") | pl.col(c).str.ends_with(" ")).any().alias(c) for c in text
    ).row(0)
    return {c for c, padded in zip(text, row, strict=True) if padded}


Check = tuple[pl.Expr, pl.Expr]  # (row is bad, message): messages are built for bad rows only


def _typed(col: str, dtype: pl.DataType, raw_dtype: pl.DataType, strip: bool) -> tuple[pl.Expr, Check | None]:
    """The typed column and, for numbers, a check that present text is a number."""
    if dtype == pl.String:
        if raw_dtype.is_float():
            # SAS/R numeric columns that SDTM declares as text (e.g. AEACN all-missing): 3.0 -> "3"
            as_int = pl.col(col).cast(pl.Int64, strict=False)
            exact = as_int.cast(pl.Float64) == pl.col(col)
            return pl.when(exact).then(as_int.cast(pl.String)).otherwise(_text(col)).alias(col), None
        return _text(col, strip).alias(col), None
    text = _text(col, strip)
    if raw_dtype.is_numeric():
        # a typed source (Parquet, XPT, Dataset-JSON) cannot hold a non-number: only an integer
        # column given a fraction is wrong, and no per-row text is built for the check
        number = pl.col(col).cast(pl.Float64)
        if dtype.is_integer() and raw_dtype.is_float():
            bad = number.is_not_null() & (number != number.round(0))
            value = pl.when(bad).then(None).otherwise(number).cast(dtype, strict=False)
            return value.alias(col), (bad, pl.format(f"{col} not numeric: '{{}}'", number.cast(pl.String)))
        return pl.col(col).cast(dtype, strict=False).alias(col), None
    number = text.cast(pl.Float64, strict=False)
    bad = text.is_not_null() & number.is_null()
    if dtype.is_integer():
        bad = bad | (number.is_not_null() & (number != number.round(0)))
        value = pl.when(bad).then(None).otherwise(number).cast(dtype, strict=False)
    else:
        value = number.cast(dtype)
    return value.alias(col), (bad, pl.format(f"{col} not numeric: '{{}}'", text))


def canonicalize(raw: pl.DataFrame, domain: str, file: str, lab_units: pl.DataFrame | None = None) -> Canonical:
    """Validate and type one domain's raw frame.

    `lab_units` (LBTESTCD, LBSTRESU: the units each test may come in) makes a result whose
    unit contradicts its test a quarantine reason; tests not in the table are not checked.
    """
    spec = TABLES[domain]
    missing = [c for c in spec.required if c not in raw.columns]
    if missing:
        raise SourceFileError(file, f"required column {', '.join(missing)} missing for domain {domain}")
    present = [c for c in spec.columns if c in raw.columns]
    raw = raw.with_row_index("SOURCE_ROW", offset=1).with_columns(pl.col("SOURCE_ROW").cast(pl.Int64))
    typed, raw_checks = [], []
    padded = _padded(raw)
    for col in present:
        value, check = _typed(col, spec.columns[col], raw.schema[col], col in padded)
        typed.append(value)
        if check is not None:
            raw_checks.append(check)
    # checks on the raw text (numbers) are evaluated on the raw frame, the rest on the typed one
    raw_flags = raw.select("SOURCE_ROW", *(flag.alias(f"_raw{i}") for i, (flag, _) in enumerate(raw_checks)))
    absent = [pl.lit(None, dtype).alias(c) for c, dtype in spec.columns.items() if c not in raw.columns]
    frame = raw.select("SOURCE_ROW", *typed, *absent).with_columns(pl.lit(domain).alias("DOMAIN"))
    frame = frame.select("SOURCE_ROW", *spec.columns)
    checks: list[Check] = []
    for col, impute in spec.dates.items():
        frame = derive_dates(frame, col, impute)
        dt = derived_names(col)[0]
        checks.append((pl.col(col).is_not_null() & pl.col(dt).is_null(),
                       pl.format(f"{col} '{{}}' is not an ISO 8601 date", pl.col(col))))
    checks += [(pl.col(k).is_null(), pl.lit(f"{k} missing")) for k in ("USUBJID", *spec.key[1:])]
    checks += _domain_rules(domain, lab_units, frame)
    frame = frame.with_columns(record_key(spec).alias("_KEY"))
    checks.append((
        _duplicated(frame) & pl.all_horizontal(pl.col(k).is_not_null() for k in spec.key),
        pl.format("duplicate natural key {} ({} rows)", pl.col("_KEY"), pl.len().over("_KEY")),
    ))
    flags = [flag.fill_null(False).alias(f"_chk{i}") for i, (flag, _) in enumerate(checks)]
    frame = frame.with_columns(flags)
    chk_cols = [f"_chk{i}" for i in range(len(checks))]
    raw_cols = [f"_raw{i}" for i in range(len(raw_checks))]
    if raw_cols:
        frame = frame.with_columns(raw_flags.select(pl.col(raw_cols).fill_null(False)))
    any_bad = pl.any_horizontal(pl.col(chk_cols + raw_cols))
    bad = frame.filter(any_bad)
    quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if bad.height:
        raw_bad = raw.join(bad.select("SOURCE_ROW"), on="SOURCE_ROW")
        raw_msgs = raw_bad.select("SOURCE_ROW", *(
            pl.when(flag).then(msg).alias(f"_rmsg{i}") for i, (flag, msg) in enumerate(raw_checks)))
        # the duplicate message counts over the whole frame, so it is computed before filtering
        msgs = frame.filter(any_bad).select("SOURCE_ROW", "_KEY", *(
            pl.when(pl.col(f"_chk{i}")).then(msg).alias(f"_msg{i}") for i, (_, msg) in enumerate(checks)))
        msgs = msgs.join(raw_msgs, on="SOURCE_ROW").select(
            "SOURCE_ROW", "_KEY",
            pl.concat_str(pl.exclude("SOURCE_ROW", "_KEY"), separator="; ", ignore_nulls=True).alias("_REASON"),
        )
        raw_bad = raw_bad.join(msgs, on="SOURCE_ROW")
        src_cols = [c for c in raw.columns if c != "SOURCE_ROW"]
        quarantine = raw_bad.select(
            pl.lit(domain).alias("DOMAIN"), pl.lit(file).alias("FILE"), "SOURCE_ROW",
            pl.col("_KEY").alias("RECORD_KEY"), pl.col("_REASON").alias("REASON"),
            pl.struct([pl.col(c).cast(pl.String) for c in src_cols]).struct.json_encode().alias("ROW_JSON"),
        ).sort("SOURCE_ROW")
    good = (frame.filter(~any_bad) if bad.height else frame).drop(*chk_cols, *raw_cols, "SOURCE_ROW")
    return Canonical(good, quarantine, {})


def _duplicated(frame: pl.DataFrame) -> pl.Expr:
    """Rows whose natural key occurs more than once. Comparing 64-bit hashes of the key is several
    times faster than comparing the texts; only rows whose hashes collide are compared exactly."""
    # A source without duplicates (the usual case) needs nothing more than counting hashes.
    if keys_distinct(frame.get_column("_KEY")):
        return pl.lit(False)
    by_hash = frame.select(key_hash().is_duplicated()).to_series()
    exact = frame.filter(by_hash).get_column("_KEY")
    return pl.col("_KEY").is_in(exact.filter(exact.is_duplicated()).unique().implode())


def _domain_rules(domain: str, lab_units: pl.DataFrame | None, frame: pl.DataFrame) -> list[Check]:
    rules: list[Check] = []
    if domain == "LB":
        # a censored result ('<0.1') that the source did not standardise cannot be graded honestly
        censored = pl.col("LBORRES").str.contains(r"^\s*[<>]=?\s*[0-9.]+")
        rules.append((
            pl.col("LBSTRESN").is_null() & censored.fill_null(False),
            pl.format("LBSTRESN missing while LBORRES holds '{}'", pl.col("LBORRES")),
        ))
        if lab_units is not None and lab_units.height:
            # judged on the few distinct (test, unit) pairs; rows are flagged only if a pair is bad
            norm = pl.col("LBSTRESU").str.replace_all(" ", "").str.to_lowercase()
            allowed = lab_units.select("LBTESTCD", norm.alias("_U")).unique()
            pairs = frame.select("LBTESTCD", "LBSTRESU").unique().drop_nulls().with_columns(norm.alias("_U"))
            bad = pairs.filter(pl.col("LBTESTCD").is_in(allowed["LBTESTCD"].implode())).join(
                allowed, on=["LBTESTCD", "_U"], how="anti")
            if bad.height:
                flag = pl.any_horizontal(
                    (pl.col("LBTESTCD") == t) & (pl.col("LBSTRESU") == u) for t, u in bad.select("LBTESTCD", "LBSTRESU").iter_rows()
                )
                rules.append((flag, pl.format("unit '{}' contradicts test {}", pl.col("LBSTRESU"), pl.col("LBTESTCD"))))
    if domain == "AE":
        rules.append((
            pl.col("AETOXGR").is_not_null() & ~pl.col("AETOXGR").is_between(1, 5),
            pl.format("AETOXGR {} is not a CTCAE grade 1-5", pl.col("AETOXGR")),
        ))
    return rules


def merge_supplemental(
    parent: pl.DataFrame, supp: pl.DataFrame, qnams: dict[str, str], parent_domain: str, file: str
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Pivot SUPP-- qualifiers listed in config into parent columns.

    Returns the widened parent, quarantined qualifier rows (no parent record), and the number of
    qualifier rows ignored because their QNAM is not configured.
    """
    needed = {"USUBJID", "QNAM", "QVAL"}
    missing = needed - set(supp.columns)
    if missing:
        raise SourceFileError(file, f"required column {', '.join(sorted(missing))} missing for SUPP{parent_domain}")
    supp = supp.with_row_index("SOURCE_ROW", offset=1).with_columns(
        pl.col("SOURCE_ROW").cast(pl.Int64),
        *(pl.col(c).cast(pl.String) for c in ("USUBJID", "QNAM", "QVAL")),
        *(pl.col(c).cast(pl.String) if c in supp.columns else pl.lit(None, pl.String).alias(c)
          for c in ("IDVAR", "IDVARVAL")),
    )
    wanted = supp.filter(pl.col("QNAM").is_in(list(qnams)))
    ignored = supp.height - wanted.height
    empty_q = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if wanted.height == 0:
        return parent, empty_q, ignored
    idvars = [v for v in wanted["IDVAR"].drop_nulls().unique().to_list() if v]
    idvar = idvars[0] if idvars else None
    if len(idvars) > 1 or (idvar and idvar not in parent.columns):
        raise SourceFileError(file, f"IDVAR must name one column of {parent_domain}, found {idvars}")
    # normalise the id value: 3, 3.0 and "3" must meet; a text id (--SPID, --GRPID) meets as text
    norm = lambda e: pl.coalesce(  # noqa: E731
        e.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False).cast(pl.String), e.cast(pl.String).str.strip_chars())
    keys = ["USUBJID"] + (["_IDVAL"] if idvar else [])
    wanted = wanted.with_columns(_IDVAL=norm(pl.col("IDVARVAL")))
    parent_keys = parent.select(pl.col("USUBJID").cast(pl.String), *([norm(pl.col(idvar)).alias("_IDVAL")] if idvar else []))
    orphans = wanted.join(parent_keys.unique(), on=keys, how="anti")
    matched = wanted.join(parent_keys.unique(), on=keys, how="semi")
    # one record given two values of one qualifier: neither is chosen (row order is no rule), both are quarantined
    conflicting = pl.col("QVAL").n_unique().over([*keys, "QNAM"]) > 1
    conflicts = matched.filter(conflicting)
    wide = (
        matched.filter(~conflicting)
        .unique(subset=[*keys, "QNAM"], keep="first", maintain_order=True)
        .pivot(on="QNAM", index=keys, values="QVAL")
        .rename({q: col for q, col in qnams.items()}, strict=False)
    )
    left = parent.with_columns(pl.col("USUBJID").cast(pl.String))
    if idvar:
        left = left.with_columns(_IDVAL=norm(pl.col(idvar)))
    overlap = [c for c in wide.columns if c in left.columns and c not in keys]
    merged = left.drop(overlap).join(wide, on=keys, how="left").drop("_IDVAL", strict=False)
    quarantine = pl.concat([
        rows.select(
            pl.lit(f"SUPP{parent_domain}").alias("DOMAIN"), pl.lit(file).alias("FILE"), "SOURCE_ROW",
            pl.concat_str([pl.col("USUBJID"), pl.col("IDVARVAL").fill_null("")], separator=KEY_SEP).alias("RECORD_KEY"),
            reason.alias("REASON"),
            pl.struct("USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL").struct.json_encode().alias("ROW_JSON"),
        )
        for rows, reason in (
            (orphans, pl.format("qualifier {} for a {} record not in the source", pl.col("QNAM"), pl.lit(parent_domain))),
            (conflicts, pl.format("qualifier {} has conflicting values for one {} record", pl.col("QNAM"),
                                  pl.lit(parent_domain))),
        )
    ]).sort("SOURCE_ROW")
    return merged, quarantine, ignored
