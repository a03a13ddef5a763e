"""Tumour data: TU target lesions, TR diameters (CT) and [18F]FES SUVmax (PET), RS overall response.

Scans every 8 weeks (`subjects.scan_day`) until progression, death, withdrawal or the data cut, read
by the investigator per RECIST 1.1. Lesion sizes follow the planned response so that the sum of
diameters agrees with RS: SD stays within -10%/+2% of baseline, PR at 55-65% of baseline, PD >= 30%
above the nadir (and well over 5 mm). FES-PET at baseline and on day ~28; a lesion is FES-avid when
its SUVmax is >= 1.5.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from safety.demo import planted as P
from safety.demo.subjects import scan_day, study_day_to_date

LOCATIONS = np.array(["LIVER", "LUNG", "LYMPH NODE", "BREAST", "PLEURA", "SOFT TISSUE"])
FES_AVID_SUV = 1.5
BASELINE_CT_DAY, BASELINE_PET_DAY = -10, -14


def _lesions(rng: np.random.Generator, plan: pl.DataFrame) -> pl.DataFrame:
    n = plan.height
    n_les = rng.integers(2, 5, n)
    low = np.isin(np.arange(n), P.FES_LOW_SUBJECTS)
    n_les[low] = 3
    idx = np.repeat(np.arange(n), n_les)
    lesion = np.concatenate([np.arange(1, k + 1) for k in n_les]) if n < 5000 else None
    if lesion is None:  # vectorised numbering for the scaled mode
        starts = np.repeat(np.cumsum(n_les) - n_les, n_les)
        lesion = np.arange(len(idx)) - starts + 1
    m = len(idx)
    avid = rng.random(m) < 0.9
    # eligibility: >= 50% FES-avid lesions, except the planted deviations (1 of 3)
    frac = np.bincount(idx, avid, n) / n_les
    avid = np.where((frac < 0.5)[idx], True, avid)
    avid = np.where(low[idx], lesion == 1, avid)
    return pl.DataFrame({
        "IDX": idx, "L": lesion,
        "TULOC": rng.choice(LOCATIONS, m),
        "BASE": np.round(rng.uniform(12, 45, m)),
        "SUV0": np.round(np.where(avid, rng.uniform(2.0, 8.0, m), rng.uniform(0.6, 1.4, m)), 1),
        "SUVDROP": rng.uniform(0.35, 0.7, m),
    })


def _scans(rng: np.random.Generator, plan: pl.DataFrame) -> pl.DataFrame:
    n = plan.height
    responder = plan["PF6"].to_numpy() & (rng.random(n) < 0.25)
    level = np.where(responder, rng.uniform(0.55, 0.65, n), rng.uniform(0.9, 1.0, n))
    per_subject = plan.select("IDX", "PD_DAY", "FOLLOW_END", "WITHDRAW_DAY").with_columns(
        RESPONDER=responder, LEVEL=level,
        K=pl.int_ranges(1, (pl.col("FOLLOW_END") + 3) // 56 + 2),
    ).explode("K").with_columns(DAY=scan_day(pl.col("IDX"), pl.col("K")))
    scans = per_subject.filter((pl.col("DAY") <= pl.col("FOLLOW_END")) & (pl.col("WITHDRAW_DAY") < 0))
    pd = pl.col("DAY") == pl.col("PD_DAY")
    wobble = ((pl.col("IDX") + pl.col("K")) % 3 - 1) * 0.01  # small scan-to-scan variation
    return scans.with_columns(
        RESP=pl.when(pd).then(pl.lit("PD")).when(pl.col("RESPONDER")).then(pl.lit("PR")).otherwise(pl.lit("SD")),
        FACTOR=pl.when(pd).then(1.3 * pl.col("LEVEL") + 0.1).otherwise(pl.col("LEVEL") + wobble),
    ).select("IDX", "K", "DAY", "RESP", "FACTOR")


def tumour_frames(rng: np.random.Generator, plan: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """{'TU', 'TR', 'RS'}, each with `_KNOWN` (scan date + 10 days: the read and its entry)."""
    lesions = _lesions(rng, plan)
    scans = _scans(rng, plan)
    subj = plan.select("IDX", "STUDYID", "USUBJID", "FIRST", "FOLLOW_END")
    f = pl.col("FIRST")
    lnk = pl.format("T{}", pl.col("L").cast(pl.String).str.zfill(2))
    # every enrolled subject had the screening CT and [18F]FES-PET (eligibility needs them);
    # only those who did not withdraw have later scans
    evaluated = plan.select("IDX")

    tu = lesions.join(evaluated, on="IDX").join(subj, on="IDX").sort("USUBJID", "L").select(
        "STUDYID", pl.lit("TU").alias("DOMAIN"), "USUBJID",
        pl.col("L").cast(pl.Int64).alias("TUSEQ"), lnk.alias("TULNKID"),
        pl.lit("TUMIDENT").alias("TUTESTCD"), pl.lit("Tumor Identification").alias("TUTEST"),
        pl.lit("TARGET").alias("TUORRES"), pl.lit("TARGET").alias("TUSTRESC"), "TULOC",
        pl.lit("CT SCAN").alias("TUMETHOD"), pl.lit("INVESTIGATOR").alias("TUEVAL"),
        pl.lit("").alias("TUEVALID"), pl.lit("").alias("TUACPTFL"), pl.lit(0.0).alias("VISITNUM"),
        pl.lit("SCREENING").alias("VISIT"),
        study_day_to_date(f, pl.lit(BASELINE_CT_DAY)).dt.strftime("%Y-%m-%d").alias("TUDTC"),
        study_day_to_date(f, pl.lit(BASELINE_CT_DAY + 10)).alias("_KNOWN"),
    )

    baseline = pl.DataFrame({"K": [0], "DAY": [BASELINE_CT_DAY], "RESP": [""], "FACTOR": [1.0]})
    ct_visits = pl.concat([evaluated.join(baseline, how="cross"), scans], how="vertical_relaxed")
    ct = ct_visits.join(lesions, on="IDX").with_columns(
        VAL=(pl.col("BASE") * pl.col("FACTOR")).round(0), METHOD=pl.lit("CT SCAN"), TESTCD=pl.lit("LDIAM"),
        TEST=pl.lit("Longest Diameter"), UNIT=pl.lit("mm"), FES=pl.lit(""), ORD=pl.col("L"),
    )
    sums = ct.group_by("IDX", "K", "DAY").agg(VAL=pl.col("VAL").sum()).with_columns(
        L=pl.lit(0, pl.Int64), METHOD=pl.lit("CT SCAN"), TESTCD=pl.lit("SUMDIAM"),
        TEST=pl.lit("Sum of Diameter"), UNIT=pl.lit("mm"), FES=pl.lit(""), ORD=pl.lit(99, pl.Int64),
    )
    pet_visits = pl.concat([
        evaluated.with_columns(K=pl.lit(0, pl.Int64), DAY=pl.lit(BASELINE_PET_DAY, pl.Int64)),
        plan.filter((pl.col("WITHDRAW_DAY") < 0) & (pl.col("FOLLOW_END") >= 28)).select(
            "IDX", K=pl.lit(1, pl.Int64), DAY=(28 + pl.col("IDX") % 3 - 1).cast(pl.Int64)),
    ])
    pet = pet_visits.join(lesions, on="IDX").with_columns(
        VAL=pl.when(pl.col("K") == 0).then(pl.col("SUV0")).otherwise((pl.col("SUV0") * pl.col("SUVDROP")).round(1)),
        METHOD=pl.lit("PET"), TESTCD=pl.lit("SUVMAX"), TEST=pl.lit("Maximum Standardized Uptake Value"),
        UNIT=pl.lit(""), ORD=pl.col("L") + 100,
    ).with_columns(FES=pl.when(pl.col("VAL") >= FES_AVID_SUV).then(pl.lit("Y")).otherwise(pl.lit("N")))
    cols = ["IDX", "K", "DAY", "L", "VAL", "METHOD", "TESTCD", "TEST", "UNIT", "FES", "ORD"]
    tr = pl.concat([ct.select(cols), sums.select(cols), pet.with_columns(K=pl.col("K") + 100).select(cols)],
                   how="vertical_relaxed")
    tr = tr.join(subj, on="IDX").sort("USUBJID", "DAY", "ORD")
    is_pet = pl.col("METHOD") == "PET"
    visit_k = pl.col("K") % 100
    val_text = pl.when(pl.col("TESTCD") == "SUVMAX").then(pl.col("VAL").round(1).cast(pl.String)).otherwise(
        pl.col("VAL").cast(pl.Int64).cast(pl.String))
    tr = tr.select(
        "STUDYID", pl.lit("TR").alias("DOMAIN"), "USUBJID",
        pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64).alias("TRSEQ"),
        pl.when(pl.col("TESTCD") == "SUMDIAM").then(pl.lit("TARGET")).otherwise(pl.lit("TARGET")).alias("TRGRPID"),
        pl.when(is_pet).then(pl.format("PET{}", visit_k)).otherwise(pl.format("A{}", visit_k)).alias("TRLNKGRP"),
        pl.when(pl.col("L") > 0).then(lnk).otherwise(pl.lit("")).alias("TRLNKID"),
        pl.col("TESTCD").alias("TRTESTCD"), pl.col("TEST").alias("TRTEST"),
        val_text.alias("TRORRES"), pl.col("UNIT").alias("TRORRESU"), val_text.alias("TRSTRESC"),
        pl.col("VAL").cast(pl.Float64).alias("TRSTRESN"), pl.col("UNIT").alias("TRSTRESU"),
        pl.lit("").alias("TRSTAT"), pl.col("METHOD").alias("TRMETHOD"), pl.lit("INVESTIGATOR").alias("TREVAL"),
        pl.lit("").alias("TREVALID"), pl.lit("").alias("TRACPTFL"),
        visit_k.cast(pl.Float64).alias("VISITNUM"),
        pl.when(visit_k == 0).then(pl.lit("SCREENING")).when(is_pet).then(pl.lit("CYCLE 1 DAY 28"))
        .otherwise(pl.format("WEEK {}", visit_k * 8)).alias("VISIT"),
        study_day_to_date(f, pl.col("DAY")).dt.strftime("%Y-%m-%d").alias("TRDTC"),
        pl.col("FES").alias("TRFESAVD"),
        study_day_to_date(f, pl.col("DAY") + 10).alias("_KNOWN"),
    )

    rs = scans.join(subj, on="IDX").sort("USUBJID", "K").select(
        "STUDYID", pl.lit("RS").alias("DOMAIN"), "USUBJID",
        pl.col("K").cast(pl.Int64).alias("RSSEQ"), pl.format("A{}", pl.col("K")).alias("RSLNKGRP"),
        pl.lit("OVRLRESP").alias("RSTESTCD"), pl.lit("Overall Response").alias("RSTEST"),
        pl.lit("RECIST 1.1").alias("RSCAT"), pl.col("RESP").alias("RSORRES"), pl.col("RESP").alias("RSSTRESC"),
        pl.lit("").alias("RSSTAT"), pl.lit("INVESTIGATOR").alias("RSEVAL"), pl.lit("").alias("RSEVALID"),
        pl.lit("Y").alias("RSACPTFL"), pl.col("K").cast(pl.Float64).alias("VISITNUM"),
        pl.format("WEEK {}", pl.col("K") * 8).alias("VISIT"),
        study_day_to_date(f, pl.col("DAY")).dt.strftime("%Y-%m-%d").alias("RSDTC"),
        study_day_to_date(f, pl.col("DAY") + 10).alias("_KNOWN"),
    )
    return {"TU": tu, "TR": tr, "RS": rs}
