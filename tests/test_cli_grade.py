"""`vigil grade` writes every LB row with its grades in the format the output's suffix names."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pyreadstat
import pytest

VIGIL = [sys.executable, "-m", "safety.cli"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xpt"])
def test_grade_writes_every_row_in_the_requested_format(tmp_path, sdtm_dir, study_config, suffix):
    pilot = sdtm_dir / "cdiscpilot01"
    out = tmp_path / f"adlb{suffix}"
    done = subprocess.run([*VIGIL, "grade", str(pilot / "lb.xpt"), "--dm", str(pilot / "dm.xpt"), "-o", str(out),
                           "--config", str(study_config.path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    source, _ = pyreadstat.read_xport(str(pilot / "lb.xpt"))
    if suffix == ".parquet":
        graded = pl.read_parquet(out)
    elif suffix == ".csv":
        graded = pl.read_csv(out, infer_schema_length=0)
    else:
        graded = pl.from_pandas(pyreadstat.read_xport(str(out))[0])
    # The pilot's six '<x' results without LBSTRESN are quarantined, not graded (test_ingest_pilot).
    assert graded.height == len(source) - 6
    # Hand-verified in test_grading_pilot: 01-701-1341 LYM seq 74, 0.47 GI/L -> grade 3 (low).
    row = graded.filter((pl.col("USUBJID") == "01-701-1341") & (pl.col("LBSEQ").cast(pl.Float64) == 74))
    assert int(float(row["ATOXGRL"].item())) == 3
    assert row["ATOXDSCL"].cast(pl.String).item() == "Lymphocyte count decreased"
    assert row["AVALU"].cast(pl.String).item() == "10^9/L"


def test_grade_prints_the_output_path_as_text_not_rich_markup(tmp_path, sdtm_dir, study_config):
    # Standard: a CLI message is one clear line, never a traceback. The summary quotes the -o path; as
    # Rich markup a '[/x]' in it raised MarkupError after the file was written (exit status 1).
    pilot = sdtm_dir / "cdiscpilot01"
    out = tmp_path / "[/x]" / "adlb.parquet"
    done = subprocess.run([*VIGIL, "grade", str(pilot / "lb.xpt"), "-o", str(out), "--config", str(study_config.path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "1000"})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert out.is_file() and f"-> {out} (" in done.stdout
