"""AE: background events at their reference rates, the planted signal and the planted cases, versioned.

A version is what the EDC showed from its `_KNOWN` date on. A background AE is entered some days
after onset (ongoing if it has not ended by then) and updated when it resolves; planted AEs carry
their versions explicitly (the corrections and the follow-ups the service must pick up). AESEQ is
numbered once on the whole study so a later version keeps the key of the first.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from safety.demo import planted as P
from safety.demo.subjects import study_day_to_date
from safety.demo.terms import (
    BACKGROUND_TERMS,
    SEVERITY,
    SIGNAL_INCIDENCE,
    SIGNAL_TERM,
    SOC,
    TOX_MONITOR_DAYS,
)

FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
VERBATIM = {
    "Musculoskeletal pain": ["BACK PAIN", "JOINT PAIN", "MUSCLE ACHES", "BONE PAIN", "MUSCULOSKELETAL PAIN"],
    "Hot flush": ["HOT FLASHES", "HOT FLUSHES"],
    "Diarrhoea": ["DIARRHEA", "LOOSE STOOLS"],
}
_REL_LISTED = (["POSSIBLE", "PROBABLE", "UNLIKELY", "NOT RELATED"], [0.45, 0.15, 0.25, 0.15])
_REL_UNLISTED = (["POSSIBLE", "UNLIKELY", "NOT RELATED"], [0.1, 0.4, 0.5])


def _relatedness(rng: np.random.Generator, listed: bool, k: int) -> np.ndarray:
    values, p = _REL_LISTED if listed else _REL_UNLISTED
    return rng.choice(values, k, p=p)


def _background(rng: np.random.Generator, plan: pl.DataFrame) -> pl.DataFrame:
    """Each term in exactly round(rate x n) subjects, so expected terms sit at their reference rate."""
    n = plan.height
    eot = plan["EOT_DAY"].to_numpy()
    cut = plan["CUT_DAY"].to_numpy()
    death = plan["DEATH_DAY"].to_numpy()
    terms = [(*t, False) for t in BACKGROUND_TERMS]
    terms.append((SIGNAL_TERM[0], SIGNAL_TERM[1], SIGNAL_INCIDENCE, False, True, 0.0, True))
    parts = []
    for decod, soc, rate, ela, exe, g3_share, is_signal in terms:
        k = round(rate * n)
        who = np.sort(rng.choice(n, k, replace=False))
        onset = 1 + np.floor(rng.random(k) * np.minimum(eot[who], 365)).astype(np.int64)
        scale = 60.0 if is_signal else 9.0
        dur = np.clip(np.round(np.exp(rng.normal(np.log(scale), 0.8, k))), 1, 240).astype(np.int64)
        end = onset + dur - 1
        ongoing = (end > cut[who]) | ((death[who] > 0) & (end >= death[who]))
        grade = np.where(rng.random(k) < 0.65, 1, 2)
        # grade 3 only after the first two cycles: no random DLT or toxicity-monitoring event
        grade = np.where((onset > TOX_MONITOR_DAYS) & (rng.random(k) < g3_share), 3, grade)
        verbatims = VERBATIM.get(decod, [decod.upper()])
        parts.append(pl.DataFrame({
            "IDX": who, "AEDECOD": decod, "AEBODSYS": soc,
            "AETERM": rng.choice(verbatims, k),
            "ONSET": onset, "END": np.where(ongoing, -1, end), "AETOXGR": grade.astype(np.int64),
            "AEREL": _relatedness(rng, ela, k) if not is_signal else rng.choice(["UNLIKELY", "NOT RELATED"], k),
            "AEREL2": _relatedness(rng, exe, k),
            "LAG1": rng.integers(3, 15, k), "LAG2": rng.integers(3, 15, k),
        }))
    bg = pl.concat(parts).with_columns(ROLE=pl.lit(""))
    return bg


def _planted_versions() -> list[dict]:
    """The planted AEs, each version complete; `KNOWN` is the study day it reaches the EDC."""
    def ev(idx, decod, verbatim, role, versions, rel, rel2):
        return [dict(IDX=idx, AEDECOD=decod, AETERM=verbatim, ROLE=role, AEREL=rel, AEREL2=rel2, **v)
                for v in versions]

    ns = dict(SER=(), AW=-1, ACN="DOSE NOT CHANGED")
    hosp = dict(SER=("AESHOSP",), ACN="DOSE NOT CHANGED")
    resolved, ongoing = "RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED"
    out = []
    out += ev(P.DLT_SUBJECT, "Neutrophil count decreased", "NEUTROPENIA", "DLT", [
        dict(ns, ONSET=15, END=-1, GR=4, OUT=ongoing, KNOWN=17, ACN="DRUG INTERRUPTED"),
        dict(ns, ONSET=15, END=23, GR=4, OUT=resolved, KNOWN=27, ACN="DRUG INTERRUPTED"),
    ], "POSSIBLE", "UNLIKELY")
    d = P.PNEUMONITIS_DAY
    out += ev(P.PNEUMONITIS_SUBJECT, "Pneumonitis", "PNEUMONITIS", "SUSAR_SERIOUS_ON_FOLLOW_UP", [
        dict(ns, ONSET=d, END=-1, GR=2, OUT=ongoing, KNOWN=d + 6),
        dict(hosp, ONSET=d, END=-1, GR=3, OUT=ongoing, AW=P.PNEUMONITIS_SERIOUS_DAY + 1,
             KNOWN=P.PNEUMONITIS_SERIOUS_DAY + 1, ACN="DRUG WITHDRAWN"),
        dict(hosp, ONSET=d, END=d + 30, GR=3, OUT=resolved, AW=P.PNEUMONITIS_SERIOUS_DAY + 1,
             KNOWN=d + 35, ACN="DRUG WITHDRAWN"),
    ], "POSSIBLE", "NOT RELATED")
    d = P.DILI_AE_DAY
    out += ev(P.DILI_SUBJECT, "Drug-induced liver injury", "DRUG INDUCED LIVER INJURY", "SUSAR_HYS_LAW", [
        dict(hosp, ONSET=d, END=-1, GR=3, OUT=ongoing, AW=d + 1, KNOWN=d + 1, ACN="DRUG WITHDRAWN"),
        dict(hosp, ONSET=d, END=d + 34, GR=3, OUT=resolved, AW=d + 1, KNOWN=d + 39, ACN="DRUG WITHDRAWN"),
    ], "PROBABLE", "POSSIBLE")
    d = P.MI_DAY
    out += ev(P.MI_SUBJECT, "Myocardial infarction", "ACUTE MYOCARDIAL INFARCTION", "SUSAR_FATAL", [
        dict(SER=("AESDTH",), ONSET=d, END=d, GR=5, OUT="FATAL", AW=d + 1, KNOWN=d + 1, ACN="DRUG WITHDRAWN"),
    ], "UNLIKELY", "POSSIBLE")
    d = P.AF_DAY
    out += ev(P.AF_SUBJECT, "Atrial fibrillation", "ATRIAL FIBRILLATION", "SUSAR_NO_AWARENESS_DATE", [
        dict(hosp, ONSET=d, END=-1, GR=3, OUT=ongoing, AW=-1, KNOWN=d + 2),
        dict(hosp, ONSET=d, END=d + 7, GR=3, OUT=resolved, AW=-1, KNOWN=d + 12),
    ], "POSSIBLE", "NOT RELATED")
    out += ev(P.NC_NAUSEA_SUBJECT, "Nausea", "NAUSEA", "NOT_SUSAR_EXPECTED_SERIOUS", [
        dict(hosp, ONSET=65, END=-1, GR=3, OUT=ongoing, AW=66, KNOWN=66),
        dict(hosp, ONSET=65, END=67, GR=3, OUT=resolved, AW=66, KNOWN=72),
    ], "PROBABLE", "NOT RELATED")
    out += ev(P.CORR_GRADE_SUBJECT, "Diarrhoea", "DIARRHEA", "CORRECTION_GRADE", [
        dict(ns, ONSET=60, END=-1, GR=1, OUT=ongoing, KNOWN=65),
        dict(ns, ONSET=60, END=74, GR=2, OUT=resolved, KNOWN=80),
    ], "POSSIBLE", "UNLIKELY")
    out += ev(P.NC_HYPERSENS_SUBJECT, "Hypersensitivity", "ALLERGIC REACTION", "NOT_SUSAR_EXPECTED_SERIOUS", [
        dict(hosp, ONSET=100, END=-1, GR=3, OUT=ongoing, AW=101, KNOWN=101),
        dict(hosp, ONSET=100, END=103, GR=3, OUT=resolved, AW=101, KNOWN=108),
    ], "NOT RELATED", "PROBABLE")
    out += ev(P.CORR_OUTCOME_SUBJECT, "Musculoskeletal pain", "BACK PAIN", "CORRECTION_OUTCOME", [
        dict(ns, ONSET=66, END=90, GR=2, OUT=resolved, KNOWN=95),
        dict(ns, ONSET=66, END=90, GR=2, OUT="RECOVERED/RESOLVED WITH SEQUELAE", KNOWN=120),
    ], "POSSIBLE", "POSSIBLE")
    out += ev(P.NC_PNEUMONIA_SUBJECT, "Pneumonia", "PNEUMONIA", "NOT_SUSAR_NOT_RELATED", [
        dict(hosp, ONSET=104, END=-1, GR=3, OUT=ongoing, AW=105, KNOWN=105),
        dict(hosp, ONSET=104, END=114, GR=3, OUT=resolved, AW=105, KNOWN=120),
    ], "NOT RELATED", "NOT RELATED")
    out += ev(P.NC_VOMITING_SUBJECT, "Vomiting", "VOMITING", "NOT_SUSAR_EXPECTED_SERIOUS", [
        dict(hosp, ONSET=90, END=-1, GR=3, OUT=ongoing, AW=91, KNOWN=91),
        dict(hosp, ONSET=90, END=92, GR=3, OUT=resolved, AW=91, KNOWN=97),
    ], "POSSIBLE", "NOT RELATED")
    return out


def _planted_frame() -> pl.DataFrame:
    rows = _planted_versions()
    frame = pl.DataFrame([
        {**{k: v for k, v in r.items() if k not in ("SER", "GR", "OUT", "ACN", "AW")},
         "AETOXGR": r["GR"], "AEOUT": r["OUT"], "AEACN": r["ACN"], "AW": r["AW"],
         **{f: "Y" if f in r["SER"] else "N" for f in FLAGS}}
        for r in rows
    ])
    return frame.with_columns(AEBODSYS=pl.col("AEDECOD").replace_strict(SOC), AETOXGR=pl.col("AETOXGR").cast(pl.Int64))


def ae_frame(rng: np.random.Generator, plan: pl.DataFrame) -> pl.DataFrame:
    """All versions of all AEs, with `_KNOWN` (date the version reaches the EDC)."""
    bg = _background(rng, plan)
    # background versions: entered LAG1 days after onset; if not resolved by then, updated LAG2 after end
    first_entry = bg.with_columns(KNOWN=pl.col("ONSET") + pl.col("LAG1"))
    resolved_later = (pl.col("END") < 0) | (pl.col("END") + pl.col("LAG2") > pl.col("KNOWN"))
    v1 = first_entry.with_columns(END=pl.when(resolved_later).then(-1).otherwise(pl.col("END")))
    v2 = first_entry.filter((pl.col("END") > 0) & (pl.col("END") + pl.col("LAG2") > pl.col("KNOWN"))).with_columns(
        KNOWN=pl.col("END") + pl.col("LAG2")
    )
    bg_versions = pl.concat([v1, v2]).drop("LAG1", "LAG2").with_columns(
        AEOUT=pl.when(pl.col("END") > 0).then(pl.lit("RECOVERED/RESOLVED")).otherwise(pl.lit("NOT RECOVERED/NOT RESOLVED")),
        AEACN=pl.lit("DOSE NOT CHANGED"), AW=pl.lit(-1, pl.Int64),
        **{f: pl.lit("N") for f in FLAGS},
    )
    planted = _planted_frame()
    # a background event that happens to coincide with a planted one would merge into its versions
    bg_versions = bg_versions.join(planted.select("IDX", "AEDECOD", "ONSET").unique(), on=["IDX", "AEDECOD", "ONSET"],
                                   how="anti")
    versions = pl.concat([bg_versions, planted], how="diagonal_relaxed")

    # AESEQ: numbered on the event (subject, term, onset), in onset order within the subject
    events = versions.select("IDX", "AEDECOD", "ONSET").unique().sort("IDX", "ONSET", "AEDECOD")
    events = events.with_columns(AESEQ=pl.int_range(1, pl.len() + 1).over("IDX").cast(pl.Int64))
    versions = versions.join(events, on=["IDX", "AEDECOD", "ONSET"]).join(
        plan.select("IDX", "STUDYID", "USUBJID", "FIRST"), on="IDX"
    )
    f = pl.col("FIRST")
    serious = pl.any_horizontal([pl.col(c) == "Y" for c in FLAGS])
    out = versions.with_columns(
        DOMAIN=pl.lit("AE"),
        AESPID=pl.format("AE-{}", pl.col("AESEQ")),
        AEPTCD=pl.lit(None, pl.Int64),
        AESOC=pl.col("AEBODSYS"),
        AESEV=pl.col("AETOXGR").replace_strict(SEVERITY, return_dtype=pl.String),
        AESER=pl.when(serious).then(pl.lit("Y")).otherwise(pl.lit("N")),
        AEACNOTH=pl.lit(""),
        AESTDTC=study_day_to_date(f, pl.col("ONSET")).dt.strftime("%Y-%m-%d"),
        AEENDTC=pl.when(pl.col("END") > 0).then(study_day_to_date(f, pl.col("END")).dt.strftime("%Y-%m-%d"))
        .otherwise(pl.lit("")),
        AEAWDTC=pl.when(pl.col("AW") > 0).then(study_day_to_date(f, pl.col("AW")).dt.strftime("%Y-%m-%d"))
        .otherwise(pl.lit("")),
        AETRTEM=pl.lit("Y"),
        _KNOWN=study_day_to_date(f, pl.col("KNOWN")),
        _ROLE=pl.col("ROLE").fill_null(""),
    )
    cols = [
        "STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AESPID", "AETERM", "AEDECOD", "AEPTCD", "AEBODSYS", "AESOC",
        "AESEV", "AETOXGR", "AESER", *FLAGS, "AEREL", "AEREL2", "AEACN", "AEACNOTH", "AEOUT",
        "AESTDTC", "AEENDTC", "AEAWDTC", "AETRTEM", "_KNOWN", "_ROLE",
    ]
    return out.select(cols).sort("USUBJID", "AESEQ", "_KNOWN")


__all__ = ["ae_frame", "FLAGS"]
