"""EX: one dosing period per drug per cycle, split by interruptions and dose reductions.

Interruptions are gaps between records (no zero-dose records), so 'days covered by a record' is the
number of doses taken; the record that resumes or changes the dose carries EXADJ = 'ADVERSE EVENT'.
A period is known to the EDC a few days after it ends (the cycle's dosing diary is entered then).
"""

from __future__ import annotations

import polars as pl

from safety.demo.subjects import study_day_to_date
from safety.demo.terms import CYCLE_DAYS, DOSE_LEVELS_MG, ELACESTRANT, EXEMESTANE, EXEMESTANE_MG


def ex_frame(plan: pl.DataFrame) -> pl.DataFrame:
    """Dosing periods of both drugs for every subject from day 1 to her last dose day."""
    cycles = plan.select(
        "STUDYID", "USUBJID", "FIRST", "IDX", "EOT_DAY", "RED1_DAY", "RED2_DAY", "INT_START", "INT_END", "INT_BOTH",
        pl.int_ranges(1, (pl.col("EOT_DAY") - 1) // CYCLE_DAYS + 2).alias("CYCLE"),
    ).explode("CYCLE").with_columns(
        C_START=(pl.col("CYCLE") - 1) * CYCLE_DAYS + 1,
        C_END=pl.min_horizontal(pl.col("CYCLE") * CYCLE_DAYS, pl.col("EOT_DAY")),
    )
    drugs = pl.DataFrame({"EXTRT": [ELACESTRANT, EXEMESTANE], "_DRUGORD": [0, 1]})
    rows = cycles.join(drugs, how="cross")
    interrupted = (pl.col("INT_START") > 0) & ((pl.col("EXTRT") == ELACESTRANT) | pl.col("INT_BOTH"))
    # a cycle is cut into: before the interruption, after it, and at a mid-cycle dose reduction
    cuts = []
    for seg in ("A", "B"):
        if seg == "A":
            s = pl.col("C_START")
            e = pl.when(interrupted & pl.col("INT_START").is_between(pl.col("C_START"), pl.col("C_END")))
            e = e.then(pl.col("INT_START") - 1).otherwise(pl.col("C_END"))
            s = pl.when(interrupted & pl.col("INT_END").is_between(pl.col("C_START"), pl.col("C_END") - 1)
                        & (pl.col("INT_START") < pl.col("C_START"))).then(pl.col("INT_END") + 1).otherwise(s)
        else:
            in_cycle = interrupted & pl.col("INT_START").is_between(pl.col("C_START"), pl.col("C_END"))
            s = pl.when(in_cycle & (pl.col("INT_END") < pl.col("C_END"))).then(pl.col("INT_END") + 1)
            e = pl.when(s.is_not_null()).then(pl.col("C_END"))
        cuts.append(rows.with_columns(S=s, E=e, SEG=pl.lit(seg)))
    seg = pl.concat(cuts).filter(pl.col("S").is_not_null() & (pl.col("S") <= pl.col("E")))
    # a reduction inside a segment splits it once more (the DLT subject is reduced mid-cycle)
    red = pl.col("RED1_DAY")
    split = (pl.col("EXTRT") == ELACESTRANT) & (red > pl.col("S")) & (red <= pl.col("E"))
    seg = pl.concat([
        seg.filter(~split),
        seg.filter(split).with_columns(E=red - 1),
        seg.filter(split).with_columns(S=red),
    ])
    level = (
        pl.when((pl.col("RED2_DAY") > 0) & (pl.col("S") >= pl.col("RED2_DAY"))).then(2)
        .when((red > 0) & (pl.col("S") >= red)).then(1).otherwise(0)
    )
    dose = pl.when(pl.col("EXTRT") == ELACESTRANT).then(
        level.replace_strict([0, 1, 2], list(DOSE_LEVELS_MG), return_dtype=pl.Float64)
    ).otherwise(pl.lit(EXEMESTANE_MG))
    adjusted = (pl.col("EXTRT") == ELACESTRANT) & ((pl.col("S") == pl.col("RED1_DAY")) | (pl.col("S") == pl.col("RED2_DAY")))
    resumed = interrupted & (pl.col("S") == pl.col("INT_END") + 1)
    ex = seg.with_columns(EXDOSE=dose, EXADJ=pl.when(adjusted | resumed).then(pl.lit("ADVERSE EVENT")).otherwise(pl.lit("")))
    ex = ex.sort("USUBJID", "S", "_DRUGORD")
    return ex.select(
        "STUDYID", pl.lit("EX").alias("DOMAIN"), "USUBJID",
        pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64).alias("EXSEQ"),
        "EXTRT", "EXDOSE", pl.lit("mg").alias("EXDOSU"), pl.lit("QD").alias("EXDOSFRQ"),
        pl.lit("ORAL").alias("EXROUTE"),
        study_day_to_date(pl.col("FIRST"), pl.col("S")).dt.strftime("%Y-%m-%d").alias("EXSTDTC"),
        study_day_to_date(pl.col("FIRST"), pl.col("E")).dt.strftime("%Y-%m-%d").alias("EXENDTC"),
        "EXADJ",
        pl.col("CYCLE").cast(pl.Float64).alias("VISITNUM"),
        pl.format("CYCLE {} DAY 1", pl.col("CYCLE")).alias("VISIT"),
        study_day_to_date(pl.col("FIRST"), pl.col("E") + 3 + pl.col("IDX") % 5).alias("_KNOWN"),
    )
