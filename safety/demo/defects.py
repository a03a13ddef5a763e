"""Planted data problems for one export (`with_defects=True`), to exercise validation and quarantine.

Each defect is a new row (a fresh sequence number, or a deliberate duplicate key), so the clean
records, and the planted safety events, are untouched: quarantining the defects must leave the same
findings as the clean export.
"""

from __future__ import annotations

import polars as pl


def apply_defects(files: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], list[dict]]:
    """Add the defect rows; return the files and the list of defects for the manifest."""
    ae, lb = files["ae"], files["lb"]
    defects: list[dict] = []
    # pick stable subjects: the last subjects with labs and AEs in this export
    ae_subj = ae["USUBJID"].max()
    lb_subj = lb["USUBJID"].max()
    next_aeseq = ae.filter(pl.col("USUBJID") == ae_subj)["AESEQ"].max() + 1
    template = ae.filter(pl.col("USUBJID") == ae_subj).tail(1)

    bad_date = template.with_columns(AESEQ=pl.lit(next_aeseq, pl.Int64), AESPID=pl.lit(f"AE-{next_aeseq}"),
                                     AESTDTC=pl.lit("31/02/2026"), AEENDTC=pl.lit(""))
    defects.append({"kind": "unparseable date", "domain": "AE", "USUBJID": ae_subj, "seq": next_aeseq,
                    "column": "AESTDTC", "value": "31/02/2026"})
    no_subject = template.with_columns(USUBJID=pl.lit(""), AESEQ=pl.lit(1, pl.Int64))
    defects.append({"kind": "missing USUBJID", "domain": "AE", "USUBJID": "", "seq": 1, "column": "USUBJID",
                    "value": "", "note": f"copy of {ae_subj} AESEQ {template['AESEQ'][0]} without its subject"})
    files["ae"] = pl.concat([ae, bad_date, no_subject])

    subj_lb = lb.filter(pl.col("USUBJID") == lb_subj)
    seq = int(subj_lb["LBSEQ"].max())
    last = subj_lb.tail(1)
    below_limit = last.filter(pl.lit(True)).with_columns(
        LBSEQ=pl.lit(seq + 1, pl.Int64), LBORRES=pl.lit("<0.1"), LBSTRESC=pl.lit("<0.1"),
        LBSTRESN=pl.lit(None, pl.Float64), LBNRIND=pl.lit(""),
    )
    defects.append({"kind": "result below limit of quantification, no numeric value", "domain": "LB",
                    "USUBJID": lb_subj, "seq": seq + 1, "column": "LBSTRESN", "value": "<0.1"})
    hgb = subj_lb.filter(pl.col("LBTESTCD") == "HGB").tail(1).with_columns(
        LBSEQ=pl.lit(seq + 2, pl.Int64), LBORRESU=pl.lit("U/L"), LBSTRESU=pl.lit("U/L"))
    defects.append({"kind": "unit contradicts the test", "domain": "LB", "USUBJID": lb_subj, "seq": seq + 2,
                    "column": "LBSTRESU", "value": "HGB in U/L"})
    dup = subj_lb.filter(pl.col("LBSEQ") == seq).with_columns(
        LBSTRESN=pl.col("LBSTRESN") * 2, LBORRES=(pl.col("LBSTRESN") * 2).cast(pl.String),
        LBSTRESC=(pl.col("LBSTRESN") * 2).cast(pl.String))
    defects.append({"kind": "duplicate key", "domain": "LB", "USUBJID": lb_subj, "seq": seq, "column": "LBSEQ",
                    "value": seq, "note": "two rows with this LBSEQ: the original and one with a doubled result"})
    files["lb"] = pl.concat([lb, below_limit, hgb, dup])
    return files, defects
