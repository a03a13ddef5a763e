"""LB: haematology and chemistry on the protocol schedule, inside safe bands except where planted.

Schedule: screening (day -7, the baseline, LBBLFL = 'Y'), weekly in cycle 1 (days 8, 15, 22, 29) so
DLT durations can be measured, every two weeks in cycle 2 (43, 57), then every 4 weeks on treatment.
Random values stay within each test's safe band (`terms.LAB_TESTS`): CTCAE v5.0 grade <= 2, no DLT,
no Hy's law; the label's 'worsening from baseline' rates give mild drifts. The planted values
(the DLT neutropenia, the Hy's law case) replace the random ones on their days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from safety.demo import planted as P
from safety.demo.subjects import study_day_to_date
from safety.demo.terms import CYCLE_DAYS, LAB_DRIFTS, LAB_TESTS

PROTOCOL_DAYS = (-7, 8, 15, 22, 29, 43, 57)
CODES = list(LAB_TESTS)

# (subject position, study day) -> {test: value}; days not on the schedule are added as extra draws
PLANTED_VALUES: dict[tuple[int, int], dict[str, float]] = {
    # grade 4 neutropenia from day 15, still grade 4 on day 19, grade 3 on day 24: 9 days at grade 4
    (P.DLT_SUBJECT, 8): {"NEUT": 1.95},
    (P.DLT_SUBJECT, 15): {"NEUT": 0.42, "WBC": 2.3},
    (P.DLT_SUBJECT, 19): {"NEUT": 0.36, "WBC": 2.2},
    (P.DLT_SUBJECT, 24): {"NEUT": 0.85, "WBC": 2.8},
    (P.DLT_SUBJECT, 29): {"NEUT": 1.72, "WBC": 3.9},
    # Hy's law: ALT 4.4 x ULN on day 71, bilirubin 2.48 x ULN 7 days later, ALP < 2 x ULN throughout;
    # ALT/AST stay <= 5 x ULN and bilirubin <= 3 x ULN, so no grade >= 3 lab value
    (P.DILI_SUBJECT, P.DILI_ALT_DAY): {"ALT": 154, "AST": 126, "BILI": 22, "ALP": 120, "GGT": 80},
    (P.DILI_SUBJECT, P.DILI_BILI_DAY): {"ALT": 168, "AST": 140, "BILI": 52, "ALP": 138, "GGT": 95},
    (P.DILI_SUBJECT, 85): {"ALT": 112, "AST": 95, "BILI": 46, "ALP": 130, "GGT": 90},
    (P.DILI_SUBJECT, 99): {"ALT": 56, "AST": 48, "BILI": 25, "ALP": 110, "GGT": 60},
}
DROPPED_DAYS = {(P.DLT_SUBJECT, 22)}  # replaced by the extra draws on days 19 and 24


def protocol_schedule(plan: pl.DataFrame) -> pl.DataFrame:
    """(IDX, DAY) of every draw: protocol days while on treatment, plus the planted extra draws."""
    later = pl.int_ranges(85, pl.col("EOT_DAY") + 1, CYCLE_DAYS)
    sched = plan.select(
        "IDX",
        pl.concat_list(pl.lit(list(PROTOCOL_DAYS)), later).alias("DAY"),
        "EOT_DAY",
    ).explode("DAY").filter(pl.col("DAY") <= pl.col("EOT_DAY"))
    # visits from cycle 2 on drift by up to 2 days either side, the way clinic visits do
    sched = sched.with_columns(
        DAY=pl.when(pl.col("DAY") >= 43).then(pl.col("DAY") + (pl.col("IDX") * 3 + pl.col("DAY")) % 5 - 2)
        .otherwise(pl.col("DAY"))
    ).filter(pl.col("DAY") <= pl.col("EOT_DAY")).select("IDX", "DAY")
    drop = pl.DataFrame(list(DROPPED_DAYS), schema=["IDX", "DAY"], orient="row")
    extra = pl.DataFrame(list(PLANTED_VALUES), schema=["IDX", "DAY"], orient="row")
    sched = pl.concat([sched.join(drop, on=["IDX", "DAY"], how="anti"), extra]).unique()
    # the Hy's law subject's routine draws after the liver signal are replaced by the planted ones
    sched = sched.filter(~((pl.col("IDX") == P.DILI_SUBJECT) & (pl.col("DAY") > 57)) | pl.col("DAY").is_in(
        [d for (i, d) in PLANTED_VALUES if i == P.DILI_SUBJECT]))
    return sched.filter(pl.col("IDX") < plan.height).sort("IDX", "DAY")


def dense_schedule(n_subjects: int, visits: int) -> pl.DataFrame:
    """Benchmark schedule: screening then weekly draws, `visits` in all per subject."""
    days = np.concatenate([[-7], 1 + 7 * np.arange(1, visits)])
    return pl.DataFrame({
        "IDX": np.repeat(np.arange(n_subjects), visits),
        "DAY": np.tile(days, n_subjects),
    })


def lab_values(rng: np.random.Generator, n_subjects: int, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Values (draws x tests), vectorised: per-subject baseline x label drift x visit noise, clipped safe."""
    n_tests = len(CODES)
    spec = np.array([LAB_TESTS[c][3:7] + LAB_TESTS[c][8:10] for c in CODES], dtype=float)
    lln, uln, mean, sd, safe_lo, safe_hi = spec.T
    baseline = np.clip(rng.normal(mean, sd, (n_subjects, n_tests)), np.maximum(lln, safe_lo), uln)
    peak = np.ones((n_subjects, n_tests))
    for code, (share, lo, hi) in LAB_DRIFTS.items():
        j = CODES.index(code)
        hit = rng.random(n_subjects) < share
        peak[hit, j] = rng.uniform(lo, hi, hit.sum())
    ramp = np.clip(day / (2 * CYCLE_DAYS), 0.0, 1.0)[:, None]  # drifts build over the first two cycles
    factor = 1.0 + (peak[idx] - 1.0) * ramp
    noise = 1.0 + 0.04 * rng.standard_normal((len(idx), n_tests))
    values = baseline[idx] * factor * noise
    values = np.where((day <= 0)[:, None], baseline[idx], values)
    return np.clip(values, safe_lo, safe_hi)


def lb_frame(rng: np.random.Generator, plan: pl.DataFrame, schedule: pl.DataFrame, planted: bool = True) -> pl.DataFrame:
    """LB rows for `schedule` (IDX, DAY), with `_KNOWN` = a few days after the draw."""
    idx = schedule["IDX"].to_numpy()
    day = schedule["DAY"].to_numpy()
    values = lab_values(rng, plan.height, idx, day)
    if planted:
        row_of = {(i, d): r for r, (i, d) in enumerate(zip(idx.tolist(), day.tolist(), strict=True))
                  if (i, d) in PLANTED_VALUES}
        for key, tests in PLANTED_VALUES.items():
            if key in row_of:
                for code, v in tests.items():
                    values[row_of[key], CODES.index(code)] = v
    n_tests = len(CODES)
    decimals = np.array([LAB_TESTS[c][7] for c in CODES])
    long = pl.DataFrame({
        "IDX": np.repeat(idx, n_tests),
        "DAY": np.repeat(day, n_tests),
        "_T": np.tile(np.arange(n_tests, dtype=np.int32), len(idx)),
        "LBSTRESN": values.ravel(),
    })
    tests = pl.DataFrame({
        "_T": np.arange(n_tests, dtype=np.int32),
        "LBTESTCD": CODES,
        "LBTEST": [LAB_TESTS[c][0] for c in CODES],
        "LBCAT": [LAB_TESTS[c][1] for c in CODES],
        "LBSTRESU": [LAB_TESTS[c][2] for c in CODES],
        "LBSTNRLO": [float(LAB_TESTS[c][3]) for c in CODES],
        "LBSTNRHI": [float(LAB_TESTS[c][4]) for c in CODES],
        "_DP": decimals.astype(np.int32),
    }).with_columns(
        LBORNRLO=pl.col("LBSTNRLO").round(2).cast(pl.String).str.replace(r"\.0$", ""),
        LBORNRHI=pl.col("LBSTNRHI").round(2).cast(pl.String).str.replace(r"\.0$", ""),
    )
    subj = plan.select("IDX", "STUDYID", "USUBJID", "FIRST", "CUT_DAY")
    lb = long.join(tests, on="_T").join(subj, on="IDX")
    dp = pl.col("_DP")
    value = (
        pl.when(dp == 0).then(pl.col("LBSTRESN").round(0))
        .when(dp == 1).then(pl.col("LBSTRESN").round(1)).otherwise(pl.col("LBSTRESN").round(2))
    )
    text = pl.when(dp == 0).then(pl.col("LBSTRESN").cast(pl.Int64).cast(pl.String)).otherwise(
        pl.col("LBSTRESN").cast(pl.String)
    )
    cycle = (pl.col("DAY") - 1) // CYCLE_DAYS + 1
    cday = (pl.col("DAY") - 1) % CYCLE_DAYS + 1
    lb = lb.with_columns(LBSTRESN=value).with_columns(
        DOMAIN=pl.lit("LB"),
        LBORRES=text, LBSTRESC=text, LBORRESU=pl.col("LBSTRESU"),
        LBNRIND=pl.when(pl.col("LBSTRESN") < pl.col("LBSTNRLO")).then(pl.lit("LOW"))
        .when(pl.col("LBSTRESN") > pl.col("LBSTNRHI")).then(pl.lit("HIGH")).otherwise(pl.lit("NORMAL")),
        LBBLFL=pl.when(pl.col("DAY") < 0).then(pl.lit("Y")).otherwise(pl.lit("")),
        VISITNUM=pl.when(pl.col("DAY") < 0).then(0.0).otherwise(cycle + cday / 100.0),
        VISIT=pl.when(pl.col("DAY") < 0).then(pl.lit("SCREENING"))
        .otherwise(pl.format("CYCLE {} DAY {}", cycle, cday)),
        LBDTC=study_day_to_date(pl.col("FIRST"), pl.col("DAY")).dt.strftime("%Y-%m-%d"),
        _KNOWN=study_day_to_date(pl.col("FIRST"), pl.col("DAY") + 2 + pl.col("IDX") % 4),
    ).sort("USUBJID", "DAY", "_T")
    lb = lb.with_columns(LBSEQ=pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64))
    return lb.select(
        "STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU",
        "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBBLFL",
        "VISITNUM", "VISIT", "LBDTC", "_KNOWN",
    )
