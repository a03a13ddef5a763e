"""The [18F]FES-PET view, tumour shrinkage (waterfall) and responses by visit (swimmer lanes).

Eligibility: at least `min_avid_share` (protocol: 50%) of the measurable lesions at baseline are
FES-avid on [18F]FES-PET; below that (or without a baseline FES-PET) the subject is a protocol
deviation. Baseline is the last PET on or before first dose. SUVmax is summarised as the SUM over
the baseline FES-avid lesions (the same lesions at the early scan), the lesion-level analogue of
the RECIST sum of diameters; percent change is reported only when every one of those lesions was
measured again at the early scan, so a missing lesion never looks like a metabolic response.
"""

from __future__ import annotations

import polars as pl

from safety.activity.config import PfsConfig
from safety.activity.pfs import _text, evaluator_reads, treated_subjects, with_dates

FES_COLUMNS = [
    "USUBJID", "STARTDT", "PET_BL_DT", "N_MEASURABLE_BL", "N_FES_AVID_BL", "FES_AVID_SHARE", "ELIGIBLE_FES",
    "PROTOCOL_DEVIATION", "DEVIATION_REASON", "SUVMAX_SUM_BL", "EARLY_SCAN_DT", "EARLY_SCAN_DAY",
    "N_AVID_MEASURED_EARLY", "SUVMAX_SUM_EARLY", "SUVMAX_PCHG",
]


def _ensure(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing) if missing else frame


def _lesions_of_class(tu: pl.DataFrame | None, classes: list[str]) -> pl.DataFrame | None:
    if tu is None:
        return None
    tu = _ensure(tu, ["TUSTRESC", "TUORRES"])
    return (
        tu.filter(pl.coalesce(_text("TUSTRESC"), _text("TUORRES")).is_in([c.upper() for c in classes]))
        .select("USUBJID", pl.col("TULNKID").alias("TRLNKID"))
        .unique()
    )


def fes_pet_summary(tr: pl.DataFrame, tu: pl.DataFrame | None, dm: pl.DataFrame, cfg: PfsConfig) -> pl.DataFrame:
    """One row per treated subject: baseline FES-avidity, eligibility, and the early SUVmax change."""
    rules = cfg.fes_pet
    subjects = treated_subjects(dm)
    tr = _ensure(with_dates(tr, "TRDTC"), ["TRMETHOD", rules.avid_flag])
    suv = (
        tr.filter(
            _text("TRMETHOD").is_in([m.upper() for m in rules.methods]),
            _text("TRTESTCD") == rules.suvmax_test_code.upper(),
            pl.col("TRDT").is_not_null(),
            pl.col("TRLNKID").is_not_null(),
        )
        .join(subjects, on="USUBJID", how="inner")
        .with_columns(
            ((pl.col("TRDT") - pl.col("STARTDT")).dt.total_days() + 1).alias("DAY"),
            (_text(rules.avid_flag) == "Y").fill_null(False).alias("AVID"),
            pl.col("TRSTRESN").cast(pl.Float64),
        )
    )
    measurable = _lesions_of_class(tu, rules.measurable_lesions)
    if measurable is not None:
        suv = suv.join(measurable, on=["USUBJID", "TRLNKID"], how="semi")
    # per lesion, the last measurement on or before first dose
    baseline = (
        suv.filter(pl.col("TRDT") <= pl.col("STARTDT"))
        .sort("USUBJID", "TRLNKID", "TRDT", "TRSEQ")
        .group_by("USUBJID", "TRLNKID")
        .last()
    )
    per_subject = baseline.group_by("USUBJID").agg(
        pl.col("TRDT").max().alias("PET_BL_DT"),
        pl.len().cast(pl.Int64).alias("N_MEASURABLE_BL"),
        pl.col("AVID").sum().cast(pl.Int64).alias("N_FES_AVID_BL"),
        # a NOT DONE (null) SUVmax of an avid lesion leaves the baseline sum unknown
        pl.when(pl.col("TRSTRESN").filter("AVID").null_count() == 0)
        .then(pl.col("TRSTRESN").filter("AVID").sum()).alias("SUVMAX_SUM_BL"),
    )
    first, last = rules.early_scan_window_days
    early_scan = (
        suv.filter(pl.col("DAY").is_between(first, last))
        .group_by("USUBJID")
        .agg(pl.col("TRDT").min().alias("EARLY_SCAN_DT"), pl.col("DAY").min().alias("EARLY_SCAN_DAY"))
    )
    early = (
        suv.join(early_scan, left_on=["USUBJID", "TRDT"], right_on=["USUBJID", "EARLY_SCAN_DT"], how="semi")
        .join(baseline.filter("AVID").select("USUBJID", "TRLNKID"), on=["USUBJID", "TRLNKID"], how="semi")
        .filter(pl.col("TRSTRESN").is_not_null())  # NOT DONE is not a measurement
        .sort("TRSEQ")
        .group_by("USUBJID", "TRLNKID")
        .last()
        .group_by("USUBJID")
        .agg(pl.len().cast(pl.Int64).alias("N_AVID_MEASURED_EARLY"), pl.col("TRSTRESN").sum().alias("SUVMAX_SUM_EARLY"))
    )
    share = pl.col("N_FES_AVID_BL") / pl.col("N_MEASURABLE_BL")
    eligible = (pl.col("FES_AVID_SHARE") >= rules.min_avid_share).fill_null(False)
    complete = pl.col("N_AVID_MEASURED_EARLY") == pl.col("N_FES_AVID_BL")
    return (
        subjects.join(per_subject, on="USUBJID", how="left")
        .join(early_scan, on="USUBJID", how="left")
        .join(early, on="USUBJID", how="left")
        .with_columns(
            pl.col("N_MEASURABLE_BL").fill_null(0),
            pl.col("N_FES_AVID_BL").fill_null(0),
            pl.col("N_AVID_MEASURED_EARLY").fill_null(0),
            pl.when(pl.col("N_MEASURABLE_BL") > 0).then(share).alias("FES_AVID_SHARE"),
        )
        .with_columns(
            eligible.alias("ELIGIBLE_FES"),
            pl.when(eligible).then(pl.lit("N")).otherwise(pl.lit("Y")).alias("PROTOCOL_DEVIATION"),
            pl.when(eligible).then(None)
            .when(pl.col("N_MEASURABLE_BL") == 0).then(pl.lit("NO MEASURABLE LESION ON BASELINE FES-PET"))
            .otherwise(pl.lit(f"FES-AVID SHARE BELOW {rules.min_avid_share:.0%}"))
            .alias("DEVIATION_REASON"),
            pl.when(complete & (pl.col("SUVMAX_SUM_BL") > 0))
            .then((pl.col("SUVMAX_SUM_EARLY") - pl.col("SUVMAX_SUM_BL")) / pl.col("SUVMAX_SUM_BL") * 100)
            .alias("SUVMAX_PCHG"),
        )
        .select(FES_COLUMNS)
        .sort("USUBJID")
    )


def best_percent_change(
    tr: pl.DataFrame,
    tu: pl.DataFrame | None,
    dm: pl.DataFrame,
    evaluator: str = "INVESTIGATOR",
    accepted_only: bool = True,
) -> pl.DataFrame:
    """Per subject the best (most negative) % change from baseline in the sum of target lesion diameters.

    The sum is TR SUMDIAM where recorded at a visit, else the sum of LDIAM over target lesions (TU
    TARGET, or TRGRPID 'TARGET' without TU). Baseline is the last visit dated on or before first dose
    (RECIST 1.1 section 4.3). Columns: USUBJID, BASE_SUMDIAM, BEST_SUMDIAM, BEST_PCHG, BEST_PCHG_DT,
    N_POST_BASELINE (visits after baseline with a sum).
    """
    subjects = treated_subjects(dm)
    tr = _ensure(with_dates(tr, "TRDTC"), ["TRGRPID", "VISITNUM"])
    reads = evaluator_reads(tr.filter(pl.col("TRDT").is_not_null()), "TR", evaluator, accepted_only)
    targets = _lesions_of_class(tu, ["TARGET"])
    lesion_diam = reads.filter(_text("TRTESTCD") == "LDIAM")
    lesion_diam = (
        lesion_diam.join(targets, on=["USUBJID", "TRLNKID"], how="semi")
        if targets is not None
        else lesion_diam.filter(_text("TRGRPID") == "TARGET")
    )
    visit = ["USUBJID", "VISITNUM"]
    from_lesions = lesion_diam.filter(pl.col("TRSTRESN").is_not_null()).group_by(visit).agg(
        pl.col("TRSTRESN").cast(pl.Float64).sum().alias("LESION_SUM"), pl.col("TRDT").min().alias("VISITDT"),
        pl.col("TRLNKID").n_unique().alias("N_LESIONS"),
    )
    recorded = (
        reads.filter(_text("TRTESTCD") == "SUMDIAM")
        .group_by(visit)
        .agg(pl.col("TRSTRESN").cast(pl.Float64).first().alias("SUMDIAM"), pl.col("TRDT").min().alias("SUMDT"))
    )
    sums = (
        from_lesions.join(recorded, on=visit, how="full", coalesce=True)
        .select(
            *visit,
            pl.coalesce("SUMDIAM", "LESION_SUM").alias("SUM"),
            pl.min_horizontal("VISITDT", "SUMDT").alias("VISITDT"),
            pl.when(pl.col("SUMDIAM").is_null()).then(pl.col("N_LESIONS")).alias("N_LESIONS"),
        )
        .filter(pl.col("SUM").is_not_null())
        .join(subjects, on="USUBJID", how="inner")
        .sort("USUBJID", "VISITDT", "VISITNUM")
    )
    base = (
        sums.filter(pl.col("VISITDT") <= pl.col("STARTDT"))
        .group_by("USUBJID")
        .agg(pl.col("SUM").last().alias("BASE_SUMDIAM"), pl.col("N_LESIONS").last().alias("BASE_N_LESIONS"))
    )
    post = (
        sums.filter(pl.col("VISITDT") > pl.col("STARTDT"))
        .join(base, on="USUBJID", how="inner")
        .filter(pl.col("BASE_SUMDIAM") > 0)
        # RECIST 1.1: a visit with a baseline target lesion not assessed has no sum (never a partial one)
        .filter(~(pl.col("N_LESIONS") < pl.col("BASE_N_LESIONS")).fill_null(False))
        .with_columns(((pl.col("SUM") - pl.col("BASE_SUMDIAM")) / pl.col("BASE_SUMDIAM") * 100).alias("PCHG"))
    )
    return (
        post.sort("USUBJID", "PCHG", "VISITDT")
        .group_by("USUBJID")
        .agg(
            pl.col("BASE_SUMDIAM").first(),
            pl.col("SUM").first().alias("BEST_SUMDIAM"),
            pl.col("PCHG").first().alias("BEST_PCHG"),
            pl.col("VISITDT").first().alias("BEST_PCHG_DT"),
            pl.len().cast(pl.Int64).alias("N_POST_BASELINE"),
        )
        .sort("BEST_PCHG", "USUBJID")
    )


def response_by_visit(
    rs: pl.DataFrame,
    dm: pl.DataFrame | None = None,
    evaluator: str = "INVESTIGATOR",
    test_code: str = "OVRLRESP",
    accepted_only: bool = True,
) -> pl.DataFrame:
    """Overall response per subject and visit, for swimmer lanes.

    Columns: USUBJID, VISITNUM, VISIT, RSDT, RSDTF, ADY (study day from first dose, when `dm` is
    given), AVALC (response).
    """
    rs = _ensure(with_dates(rs, "RSDTC"), ["RSSTRESC", "RSORRES", "VISIT", "VISITNUM"])
    reads = evaluator_reads(rs.filter(_text("RSTESTCD") == test_code.upper()), "RS", evaluator, accepted_only)
    frame = reads.select(
        "USUBJID", "VISITNUM", "VISIT", "RSDT", "RSDTF", pl.coalesce(_text("RSSTRESC"), _text("RSORRES")).alias("AVALC")
    )
    if dm is not None:
        frame = frame.join(treated_subjects(dm), on="USUBJID", how="left").with_columns(
            ((pl.col("RSDT") - pl.col("STARTDT")).dt.total_days() + 1).alias("ADY")
        )
    else:
        frame = frame.with_columns(pl.lit(None, pl.Int64).alias("ADY"))
    return frame.select("USUBJID", "VISITNUM", "VISIT", "RSDT", "RSDTF", "ADY", "AVALC").sort("USUBJID", "RSDT", "VISITNUM")
