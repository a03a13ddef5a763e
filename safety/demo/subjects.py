"""The subject plan (one row per subject: enrolment, cohort, fate) and the DM and DS tables built from it.

Every other domain is generated from this plan, so a subject's AEs, doses, labs and scans agree with
when she started, whether and when she progressed, stopped treatment or died.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from safety.demo import planted as P
from safety.demo.terms import ARM, ARMCD, CYCLE_DAYS

ENROLMENT_DAYS = 548          # 18 months of staggered enrolment
FOLLOW_UP_AFTER_LAST = 250    # data cut this long after the last first dose: everyone has a 6-month scan
EXPANSION_OPENS = 7 * (P.RUN_IN_SIZE - 1) + CYCLE_DAYS + 21  # last run-in window + a committee review
SCAN_WEEKS = 8


def scan_day(idx: np.ndarray | pl.Expr, k: np.ndarray | pl.Expr):
    """Study day of a subject's k-th 8-weekly scan: a fixed +/-3 day jitter so no randomness is needed."""
    return 56 * k + (idx * 5 + k * 3) % 7 - 3


def study_day_to_date(first: pl.Expr, day: pl.Expr) -> pl.Expr:
    """SDTM study days have no day 0: day 1 is the first dose date, day -1 the day before."""
    return first + pl.duration(days=pl.when(day > 0).then(day - 1).otherwise(day))


def plan_subjects(rng: np.random.Generator, n: int, start: date, studyid: str) -> pl.DataFrame:
    """One row per subject: dates, cohort and what happens to her (progression, stop, death)."""
    if n < P.MIN_SUBJECTS:
        raise ValueError(f"the demo study needs at least {P.MIN_SUBJECTS} subjects for its planted events, got {n}")
    idx = np.arange(n)
    run_in = idx < P.RUN_IN_SIZE
    offsets = np.where(run_in, 7 * idx, 0)
    n_exp = n - P.RUN_IN_SIZE
    exp_offsets = np.sort(rng.integers(EXPANSION_OPENS, ENROLMENT_DAYS + 1, n_exp))
    offsets[P.RUN_IN_SIZE:] = exp_offsets
    cut_offset = int(offsets.max()) + FOLLOW_UP_AFTER_LAST
    cut_day = cut_offset - offsets + 1  # study day of the data cut

    # 6-month progression-free status: exactly STAGE1_PROGRESSION_FREE among the first n1 evaluable
    # subjects (futility), about PFS6_RATE overall. The withdrawn run-in subject is not evaluable and
    # the fatal MI subject dies before month 6.
    evaluable = np.flatnonzero(idx != P.NOT_EVALUABLE_SUBJECT)
    stage1, later = evaluable[:14], evaluable[14:]
    pf = np.zeros(n, bool)
    pf[rng.choice(stage1, P.STAGE1_PROGRESSION_FREE, replace=False)] = True
    later_pool = later[later != P.MI_SUBJECT]
    n_later = max(0, round(P.PFS6_RATE * len(evaluable)) - P.STAGE1_PROGRESSION_FREE)
    pf[rng.choice(later_pool, min(n_later, len(later_pool)), replace=False)] = True

    # progression at scan k: 1-3 for the not progression-free, >= 4 (or never) for the others
    k_pd = np.where(pf, 4 + rng.geometric(0.3, n) - 1, rng.integers(1, 4, n))
    late = np.isin(idx, P.LATE_PROGRESSION)
    k_pd = np.where(late & ~pf & (k_pd == 1), rng.integers(2, 4, n), k_pd)
    pd_day = scan_day(idx, k_pd).astype(np.int64)
    no_pd = (pd_day > cut_day) | (idx == P.NOT_EVALUABLE_SUBJECT) | (idx == P.MI_SUBJECT)
    pd_day = np.where(no_pd, -1, pd_day)

    death_day = np.full(n, -1)
    death_cause = np.full(n, "", dtype=object)
    death_day[P.MI_SUBJECT] = P.MI_DAY
    death_cause[P.MI_SUBJECT] = "MYOCARDIAL INFARCTION"
    # two deaths from disease progression, among early progressors with no planted event
    early = np.flatnonzero((pd_day > 0) & (pd_day < 60) & (idx >= 30) & ~np.isin(idx, P.FES_LOW_SUBJECTS))
    for i in early[:2]:
        death_day[i] = pd_day[i] + 75
        death_cause[i] = "DISEASE PROGRESSION"

    tox_day = np.full(n, -1)
    tox_day[P.PNEUMONITIS_SUBJECT] = P.PNEUMONITIS_SERIOUS_DAY
    tox_day[P.DILI_SUBJECT] = P.DILI_STOP_DAY
    withdraw_day = np.where(idx == P.NOT_EVALUABLE_SUBJECT, P.WITHDRAWAL_DAY, -1)

    big = np.iinfo(np.int64).max
    stops = np.stack([np.where(x > 0, x, big) for x in (pd_day, tox_day, withdraw_day, death_day, cut_day)])
    which = stops.argmin(axis=0)
    eot_day = stops.min(axis=0)
    reasons = np.array(["PROGRESSIVE DISEASE", "ADVERSE EVENT", "WITHDRAWAL BY SUBJECT", "DEATH", ""])
    eot_reason = reasons[which]

    # new anticancer therapy 3-5 weeks after progression for most progressors
    nact_day = np.where((pd_day > 0) & (rng.random(n) < 0.6), pd_day + rng.integers(21, 36, n), -1)
    nact_day = np.where((nact_day > cut_day) | ((death_day > 0) & (nact_day >= death_day)), -1, nact_day)

    # dose reductions (after the DLT window; level -1, a few to -2) and one interruption of 3-10 days
    red1 = np.where(rng.random(n) < 0.15, CYCLE_DAYS * rng.integers(2, 5, n) + 1, -1)
    red2 = np.where((red1 > 0) & (rng.random(n) < 0.35), red1 + 2 * CYCLE_DAYS, -1)
    int_start = np.where(rng.random(n) < 0.2, rng.integers(35, 120, n), -1)
    int_len = rng.integers(3, 11, n)
    int_both = rng.random(n) < 0.5
    red1[P.DLT_SUBJECT], int_start[P.DLT_SUBJECT], int_len[P.DLT_SUBJECT] = 22, 16, 6
    int_both[P.DLT_SUBJECT] = False
    # keep the planted subjects' exposure simple to read
    for i in (P.NOT_EVALUABLE_SUBJECT, *P.LATE_PROGRESSION[1:], P.MI_SUBJECT):
        red1[i], red2[i], int_start[i] = -1, -1, -1

    sites = np.array(["01", "02", "03", "04", "05"])
    site = sites[rng.integers(0, len(sites), n)]
    subjid = np.array([f"{s}{1001 + i:04d}" for i, s in enumerate(site)])
    first = [start + timedelta(days=int(o)) for o in offsets]
    return pl.DataFrame(
        {
            "IDX": idx,
            "STUDYID": studyid,
            "USUBJID": [f"{studyid}-{s}" for s in subjid],
            "SUBJID": subjid,
            "SITEID": site,
            "COHORT": np.where(run_in, "SAFETY RUN-IN", "EXPANSION"),
            "FIRST": first,
            "CONSENT_DAY": -rng.integers(8, 22, n),
            "CUT_DAY": cut_day,
            "PF6": pf,
            "PD_DAY": pd_day,
            "DEATH_DAY": death_day,
            "DEATH_CAUSE": death_cause.astype(str),
            "TOX_DAY": tox_day,
            "WITHDRAW_DAY": withdraw_day,
            "EOT_DAY": eot_day,
            "EOT_REASON": eot_reason,
            "NACT_DAY": nact_day,
            "RED1_DAY": red1,
            "RED2_DAY": red2,
            "INT_START": int_start,
            "INT_END": np.where(int_start > 0, int_start + int_len - 1, -1),
            "INT_BOTH": int_both,
            "AGE": rng.integers(38, 83, n).astype(float),
            "RACE": rng.choice(["WHITE", "ASIAN", "BLACK OR AFRICAN AMERICAN", "OTHER"], n, p=[0.7, 0.12, 0.12, 0.06]),
            "COUNTRY": np.array(["USA", "ESP", "FRA", "DEU", "USA"])[np.searchsorted(sites, site)],
        }
    ).with_columns(
        # the last day she is followed for progression: progression, death, withdrawal or the cut
        FOLLOW_END=pl.min_horizontal(
            *[pl.when(pl.col(c) > 0).then(pl.col(c)) for c in ("PD_DAY", "DEATH_DAY", "WITHDRAW_DAY")],
            pl.col("CUT_DAY"),
        ),
        CUT_DATE=pl.lit(start + timedelta(days=cut_offset)),
    )


def _date_text(first: pl.Expr, day: pl.Expr) -> pl.Expr:
    return pl.when(day > 0).then(study_day_to_date(first, day).dt.strftime("%Y-%m-%d")).otherwise(pl.lit(""))


def dm_frame(plan: pl.DataFrame) -> pl.DataFrame:
    """DM, versioned: known at enrolment, again when treatment ends, again at death."""
    f = pl.col("FIRST")
    ended = pl.col("EOT_REASON") != ""
    study_end_day = (
        pl.when(pl.col("DEATH_DAY") > 0).then(pl.col("DEATH_DAY"))
        .when(pl.col("WITHDRAW_DAY") > 0).then(pl.col("WITHDRAW_DAY")).otherwise(-1)
    )
    base = plan.select(
        "STUDYID", pl.lit("DM").alias("DOMAIN"), "USUBJID", "SUBJID", "SITEID",
        pl.lit(ARMCD).alias("ARMCD"), pl.lit(ARM).alias("ARM"), pl.lit(ARMCD).alias("ACTARMCD"),
        pl.lit(ARM).alias("ACTARM"), "COHORT",
        f.dt.strftime("%Y-%m-%d").alias("RFSTDTC"),
        _date_text(f, study_end_day).alias("RFENDTC"),
        f.dt.strftime("%Y-%m-%d").alias("RFXSTDTC"),
        pl.when(ended).then(_date_text(f, pl.col("EOT_DAY"))).otherwise(pl.lit("")).alias("RFXENDTC"),
        _date_text(f, pl.col("CONSENT_DAY")).alias("RFICDTC"),
        "AGE", pl.lit("YEARS").alias("AGEU"), pl.lit("F").alias("SEX"), "RACE", "COUNTRY",
        pl.when(pl.col("DEATH_DAY") > 0).then(pl.lit("Y")).otherwise(pl.lit("")).alias("DTHFL"),
        _date_text(f, pl.col("DEATH_DAY")).alias("DTHDTC"),
        # versions: v1 at first dose + 1 day, v2 a week after the last dose, v3 three days after death
        study_day_to_date(f, pl.lit(2)).alias("_KNOWN"),
        pl.when(ended).then(study_day_to_date(f, pl.col("EOT_DAY") + 7)).alias("_K2"),
        pl.when(pl.col("DEATH_DAY") > 0).then(study_day_to_date(f, pl.col("DEATH_DAY") + 3)).alias("_K3"),
        pl.when(pl.col("WITHDRAW_DAY") > 0).then(study_day_to_date(f, pl.col("WITHDRAW_DAY") + 7)).alias("_KW"),
    )
    v3 = base.filter(pl.col("_K3").is_not_null()).with_columns(_KNOWN=pl.col("_K3"))
    # a death already reported when the end of treatment is entered stays on the record
    death_known = pl.col("_K3").is_not_null() & (pl.col("_K3") <= pl.col("_K2"))
    v2 = base.filter(pl.col("_K2").is_not_null()).with_columns(
        _KNOWN=pl.col("_K2"),
        DTHFL=pl.when(death_known).then(pl.col("DTHFL")).otherwise(pl.lit("")),
        DTHDTC=pl.when(death_known).then(pl.col("DTHDTC")).otherwise(pl.lit("")),
        RFENDTC=pl.when(pl.col("_KW").is_not_null() | death_known).then(pl.col("RFENDTC")).otherwise(pl.lit("")),
    )
    v1 = base.with_columns(RFENDTC=pl.lit(""), RFXENDTC=pl.lit(""), DTHFL=pl.lit(""), DTHDTC=pl.lit(""))
    out = pl.concat([v1, v2, v3]).drop("_K2", "_K3", "_KW")
    # a death on the day treatment ends: the last version carries everything
    return out.sort("USUBJID", "_KNOWN").unique(["USUBJID", "_KNOWN"], keep="last", maintain_order=True)


def ds_frame(plan: pl.DataFrame) -> pl.DataFrame:
    """DS: consent, end of treatment, new anticancer therapy, end of study (death or withdrawal)."""
    f = pl.col("FIRST")

    def rows(day: str, term: pl.Expr, decod: pl.Expr, cat: str, scat: str, order: int, cond: pl.Expr):
        return plan.filter(cond).select(
            "STUDYID", "USUBJID", "FIRST", pl.col(day).alias("_DAY"),
            term.alias("DSTERM"), decod.alias("DSDECOD"), pl.lit(cat).alias("DSCAT"),
            pl.lit(scat).alias("DSSCAT"), pl.lit(order).alias("_ORDER"),
        )

    parts = [
        rows("CONSENT_DAY", pl.lit("INFORMED CONSENT OBTAINED"), pl.lit("INFORMED CONSENT OBTAINED"),
             "PROTOCOL MILESTONE", "", 0, pl.lit(True)),
        # a death on treatment is recorded once, as the end-of-study DEATH row below
        rows("EOT_DAY", pl.col("EOT_REASON"), pl.col("EOT_REASON"), "DISPOSITION EVENT", "END OF TREATMENT", 1,
             ~pl.col("EOT_REASON").is_in(["", "DEATH"])),
        rows("NACT_DAY", pl.lit("NEW ANTICANCER THERAPY STARTED"), pl.lit("NEW ANTICANCER THERAPY"),
             "OTHER EVENT", "", 2, pl.col("NACT_DAY") > 0),
        rows("DEATH_DAY", pl.col("DEATH_CAUSE"), pl.lit("DEATH"), "DISPOSITION EVENT", "END OF STUDY", 3,
             pl.col("DEATH_DAY") > 0),
        rows("WITHDRAW_DAY", pl.lit("PERSONAL REASONS"), pl.lit("WITHDRAWAL BY SUBJECT"), "DISPOSITION EVENT",
             "END OF STUDY", 3, pl.col("WITHDRAW_DAY") > 0),
    ]
    ds = pl.concat(parts).sort("USUBJID", "_DAY", "_ORDER")
    event = study_day_to_date(f, pl.col("_DAY"))
    return ds.with_columns(
        DOMAIN=pl.lit("DS"),
        DSSEQ=pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64),
        DSSPID=pl.lit(""),
        VISITNUM=pl.lit(None, pl.Float64),
        VISIT=pl.lit(""),
        DSDTC=(event + pl.duration(days=2)).dt.strftime("%Y-%m-%d"),
        DSSTDTC=event.dt.strftime("%Y-%m-%d"),
        _KNOWN=event + pl.duration(days=5),
    ).drop("FIRST", "_DAY", "_ORDER")
