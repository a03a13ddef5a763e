"""Classify each AE record: serious, suspected related (per drug), expected (per drug's RSI), SUSAR.

A SUSAR is serious AND suspected related AND unexpected (ICH E2A II.A; EU 536/2014 art. 2(2)(33);
21 CFR 312.32(a)). The RSI of each drug applies to events suspected related to that drug; an event
related to both is expected only if each RSI lists it (the conservative reading).
"""

from __future__ import annotations

import polars as pl

from safety.dates import derive_dates, derived_names
from safety.rsi import Rsi, RsiVersion, term_key_expr
from safety.schemas import SERIOUSNESS_FLAGS
from safety.susar.config import PvConfig

# Seriousness criteria as ICH E2A names them, in the order of the SDTM flags.
CRITERION_LABELS = {
    "AESDTH": "death",
    "AESLIFE": "life-threatening",
    "AESHOSP": "hospitalisation",
    "AESDISAB": "disability/incapacity",
    "AESCONG": "congenital anomaly",
    "AESMIE": "other important medical event",
}

_AE_TEXT_COLUMNS = ("STUDYID", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AEOUT", *SERIOUSNESS_FLAGS)


def _code(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.String).str.strip_chars().str.to_uppercase()


def _blank(value: pl.Expr) -> pl.Expr:
    return value.is_null() | (value.cast(pl.String).str.strip_chars() == "")


def _is_y(col: str) -> pl.Expr:
    return (_code(pl.col(col)) == "Y").fill_null(False)


def _ensure_columns(ae: pl.DataFrame, pv_cfg: PvConfig) -> pl.DataFrame:
    needed = [*_AE_TEXT_COLUMNS, *(d.causality_column for d in pv_cfg.suspect_drugs)]
    missing = [c for c in needed if c not in ae.columns]
    frame = ae.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
    if "AETOXGR" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("AETOXGR"))
    return frame


def _rsi_matches(frame: pl.DataFrame, rsi: RsiVersion) -> pl.DataFrame:
    """Per row and drug, the RSI term the event matches (direct match preferred over a synonym)."""
    keys = frame.select("_row", "MATCH_KEY").drop_nulls("MATCH_KEY")
    direct = keys.with_columns(pl.col("MATCH_KEY").alias("term_key"), pl.lit(0).alias("_priority"))
    via_synonym = keys.join(rsi.synonyms_frame(), left_on="MATCH_KEY", right_on="synonym_key").with_columns(
        pl.lit(1).alias("_priority")
    )
    candidates = pl.concat([direct.select("_row", "term_key", "_priority"),
                            via_synonym.select("_row", "term_key", "_priority")])
    return (
        candidates.join(rsi.terms_frame(), on="term_key")
        .sort("_row", "drug", "_priority", "term_key")
        .group_by("_row", "drug", maintain_order=True)
        .first()
    )


def _date(frame: pl.DataFrame, dtc: str) -> pl.Expr:
    """The date derived from `dtc` (partial dates imputed to the first day), or null."""
    name = derived_names(dtc)[0]
    if name in frame.columns:
        return pl.col(name)
    if dtc in frame.columns:
        return derive_dates(frame.select(dtc), dtc, "first").get_column(name)
    return pl.lit(None, dtype=pl.Date)


def rsi_dates(ae: pl.DataFrame, pv_cfg: PvConfig) -> pl.Series:
    """Per AE row, the date that decides which RSI version was in force (RSI_DATE): the onset
    (AESTDTC) or the sponsor's awareness (AEAWDTC), as the PV config says, the other when the
    chosen one is missing."""
    onset, aware = _date(ae, "AESTDTC"), _date(ae, "AEAWDTC")
    first, second = (onset, aware) if pv_cfg.rsi_in_force_at == "onset" else (aware, onset)
    # with_columns, not select: with neither column the date is one null, repeated for every row
    return ae.with_columns(pl.coalesce(first, second).cast(pl.Date).alias("RSI_DATE")).get_column("RSI_DATE")


def classify_susars(ae: pl.DataFrame, rsi: Rsi | RsiVersion, pv_cfg: PvConfig) -> pl.DataFrame:
    """The AE frame with SUSAR columns added, one output row per input row, input order kept.

    Added: SERIOUS, SERIOUS_CRITERIA, FATAL, LIFE_THREATENING, FATAL_OR_LT, DATA_QUERY,
    RELATED_<code>, EXPECTED_<code>, RSI_TERM_<code> per suspect drug (codes from the PV config,
    ELA and EXE here), SUSPECT_DRUGS, UNEXPECTED (null when related to no drug), IS_SUSAR,
    EXPECTEDNESS_BASIS, RSI_DATE, RSI_VERSION (the version in force on RSI_DATE, see
    `rsi_dates` and `Rsi.in_force`), PV_CONFIG_VERSION.
    """
    day = rsi_dates(ae, pv_cfg)
    versions = rsi.versions() if isinstance(rsi, Rsi) else [rsi]
    if len(versions) == 1:
        return _classify(ae, versions[0], pv_cfg).with_columns(day)
    # Each row is judged by the version `Rsi.in_force` picks for its date, decided once per date.
    dates = day.unique()
    position = {id(v): i for i, v in enumerate(versions)}
    chosen = pl.DataFrame({"RSI_DATE": dates, "_RSI": [position[id(rsi.in_force(d))] for d in dates.to_list()]})
    frame = ae.with_columns(day).with_row_index("_order").join(chosen, on="RSI_DATE", how="left", nulls_equal=True)
    parts = [
        _classify(part, versions[i], pv_cfg).drop("_RSI")
        for (i,), part in frame.partition_by("_RSI", as_dict=True, maintain_order=True).items()
    ]
    return pl.concat(parts, how="vertical_relaxed").sort("_order").drop("_order")


def _classify(ae: pl.DataFrame, rsi: RsiVersion, pv_cfg: PvConfig) -> pl.DataFrame:
    """`classify_susars` with one RSI version for every row."""
    frame = _ensure_columns(ae, pv_cfg).with_row_index("_row")
    flags = {f: _is_y(f) for f in SERIOUSNESS_FLAGS}
    any_flag = pl.any_horizontal(*flags.values())
    aeser = _code(pl.col("AESER"))
    fatal = (
        flags["AESDTH"]
        | _code(pl.col("AEOUT")).str.contains("FATAL").fill_null(False)
        # CTCAE grade 5 is death related to the AE, whatever the outcome field says
        | (pl.col("AETOXGR") == 5).fill_null(False)
    )
    # pharmacovigilance.md: serious = "results in death"; a fatal outcome (AEOUT, grade 5) is that
    # criterion even when AESDTH is not flagged (and serious whatever AESER says: a data query below)
    met = {**flags, "AESDTH": fatal}
    criteria = pl.concat_str(
        [pl.when(met[f]).then(pl.lit(label)) for f, label in CRITERION_LABELS.items()],
        separator="; ", ignore_nulls=True,
    )
    flagged_names = pl.concat_str(
        [pl.when(flags[f]).then(pl.lit(f)) for f in SERIOUSNESS_FLAGS], separator=", ", ignore_nulls=True
    )
    frame = frame.with_columns(
        ((aeser == "Y").fill_null(False) | any_flag | fatal).alias("SERIOUS"),
        pl.when(criteria != "").then(criteria)
        .when((aeser == "Y").fill_null(False)).then(pl.lit("serious (criterion not given)"))
        .alias("SERIOUS_CRITERIA"),
        fatal.alias("FATAL"),
        flags["AESLIFE"].alias("LIFE_THREATENING"),
        (fatal | flags["AESLIFE"]).alias("FATAL_OR_LT"),
        # Match by MedDRA PT when coded, else by the verbatim term (reference-safety.md)
        pl.when(~_blank(pl.col("AEDECOD"))).then(term_key_expr(pl.col("AEDECOD")))
        .otherwise(term_key_expr(pl.col("AETERM"))).alias("MATCH_KEY"),
        pl.when(~_blank(pl.col("AEDECOD"))).then(pl.lit("AEDECOD")).otherwise(pl.lit("AETERM"))
        .alias("_MATCH_SOURCE"),
    )

    queries = [
        # pharmacovigilance.md: a criterion flagged while AESER is N is treated as serious + query
        pl.when(any_flag & (aeser == "N").fill_null(False))
        .then(pl.concat_str(pl.lit("seriousness criterion "), flagged_names,
                            pl.lit(" = 'Y' while AESER = 'N': treated as serious"))),
        pl.when(any_flag & aeser.is_null())
        .then(pl.concat_str(pl.lit("AESER missing while "), flagged_names, pl.lit(" = 'Y': treated as serious"))),
        pl.when((aeser == "Y").fill_null(False) & ~any_flag)
        .then(pl.lit("AESER = 'Y' but no seriousness criterion flagged")),
        pl.when(fatal & ~any_flag & ~(aeser == "Y").fill_null(False))
        .then(pl.concat_str(pl.lit("death (fatal outcome or grade 5) while AESER = "),
                            pl.when(aeser.is_null()).then(pl.lit("missing"))
                            .otherwise(pl.concat_str(pl.lit("'"), aeser, pl.lit("'"))),
                            pl.lit(" and AESDTH not 'Y': treated as serious"))),
    ]

    matches = _rsi_matches(frame, rsi)
    suspected = pv_cfg.suspected_relatedness
    not_suspected = pv_cfg.not_suspected_relatedness
    basis_parts, related_cols, ok_for_related = [], [], []
    for d in pv_cfg.suspect_drugs:
        rel_value = _code(pl.col(d.causality_column))
        recognised = rel_value.is_in(suspected) | rel_value.is_in(not_suspected)
        unclear = _blank(pl.col(d.causality_column)) | ~recognised.fill_null(False)
        related = rel_value.is_in(suspected).fill_null(False)
        if pv_cfg.missing_or_unrecognised_is_suspected:
            related = related | unclear
        queries.append(
            pl.when(_blank(pl.col(d.causality_column)))
            .then(pl.lit(f"causality to {d.drug} ({d.causality_column}) missing"
                         + (": counted as suspected" if pv_cfg.missing_or_unrecognised_is_suspected else "")))
            .when(unclear)
            .then(pl.concat_str(pl.lit(f"causality to {d.drug} ({d.causality_column}) '"), rel_value,
                                pl.lit("' not a configured value"
                                       + (": counted as suspected" if pv_cfg.missing_or_unrecognised_is_suspected
                                          else ""))))
        )
        m = matches.filter(pl.col("drug") == d.drug).select(
            "_row",
            pl.col("term").alias(f"RSI_TERM_{d.code}"),
            pl.col("expected_serious").alias("_es"),
            pl.col("fatal_listed").alias("_fl"),
            pl.col("life_threatening_listed").alias("_ll"),
            pl.col("_priority").alias("_pr"),
        )
        frame = frame.join(m, on="_row", how="left")
        listed = pl.col(f"RSI_TERM_{d.code}").is_not_null()
        term = pl.col(f"RSI_TERM_{d.code}")
        fatal_unlisted = pl.col("FATAL") & ~pl.col("_fl").fill_null(False)
        lt_unlisted = pl.col("LIFE_THREATENING") & ~pl.col("_ll").fill_null(False)
        serious_unlisted = pl.col("SERIOUS") & ~pl.col("_es").fill_null(False)
        expected = listed & ~fatal_unlisted & ~lt_unlisted & ~serious_unlisted
        how = pl.when(pl.col("_pr") == 1).then(pl.lit(" (via synonym)")).otherwise(pl.lit(""))
        reason = (
            pl.when(~listed).then(pl.concat_str(pl.lit("'"), pl.col("MATCH_KEY").fill_null(""),
                                                pl.lit("' ("), pl.col("_MATCH_SOURCE"), pl.lit(") not listed")))
            .when(fatal_unlisted).then(pl.concat_str(pl.lit("'"), term, pl.lit("' listed"), how,
                                                     pl.lit(", fatal outcome not listed")))
            .when(lt_unlisted).then(pl.concat_str(pl.lit("'"), term, pl.lit("' listed"), how,
                                                  pl.lit(", life-threatening not listed")))
            .when(serious_unlisted).then(pl.concat_str(pl.lit("'"), term, pl.lit("' listed"), how,
                                                       pl.lit(", not as serious")))
            .otherwise(pl.concat_str(pl.lit("'"), term, pl.lit("' listed"), how,
                                     pl.when(pl.col("SERIOUS")).then(pl.lit(" as serious")).otherwise(pl.lit(""))))
        )
        label = rsi.drug_label(d.drug) if d.drug in rsi.drugs else f"{d.drug}: no RSI configured"
        frame = frame.with_columns(related.alias(f"RELATED_{d.code}"), expected.alias(f"EXPECTED_{d.code}"))
        frame = frame.with_columns(
            pl.when(pl.col(f"RELATED_{d.code}"))
            .then(pl.concat_str(pl.lit(f"{label}: "), reason,
                                pl.when(pl.col(f"EXPECTED_{d.code}")).then(pl.lit(" -> expected"))
                                .otherwise(pl.lit(" -> unexpected"))))
            .otherwise(pl.lit(f"{d.drug}: not suspected related, RSI not applied"))
            .alias(f"_BASIS_{d.code}")
        ).drop("_es", "_fl", "_ll", "_pr")
        basis_parts.append(pl.col(f"_BASIS_{d.code}"))
        related_cols.append(pl.col(f"RELATED_{d.code}"))
        ok_for_related.append(~pl.col(f"RELATED_{d.code}") | pl.col(f"EXPECTED_{d.code}"))

    any_related = pl.any_horizontal(*related_cols)
    unexpected = pl.when(any_related).then(~pl.all_horizontal(*ok_for_related))
    suspects = pl.concat_str(
        [pl.when(pl.col(f"RELATED_{d.code}")).then(pl.lit(d.drug)) for d in pv_cfg.suspect_drugs],
        separator="; ", ignore_nulls=True,
    )
    frame = frame.with_columns(
        pl.when(suspects != "").then(suspects).alias("SUSPECT_DRUGS"),
        unexpected.alias("UNEXPECTED"),
    ).with_columns(
        (pl.col("SERIOUS") & any_related & pl.col("UNEXPECTED").fill_null(False)).alias("IS_SUSAR"),
        pl.concat_str(basis_parts, separator=" | ").alias("EXPECTEDNESS_BASIS"),
        pl.concat_str(queries, separator="; ", ignore_nulls=True).alias("DATA_QUERY"),
        pl.lit(rsi.version).alias("RSI_VERSION"),
        pl.lit(pv_cfg.version).alias("PV_CONFIG_VERSION"),
    )
    return frame.with_columns(
        pl.when(pl.col("DATA_QUERY") != "").then(pl.col("DATA_QUERY")).alias("DATA_QUERY")
    ).sort("_row").drop("_row", "_MATCH_SOURCE", *(f"_BASIS_{d.code}" for d in pv_cfg.suspect_drugs))
