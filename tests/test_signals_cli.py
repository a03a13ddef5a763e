"""`vigil disproportionality` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from safety.cli import app

CONFIG = Path(__file__).resolve().parents[1] / "config" / "study.yaml"
runner = CliRunner()


def write_reports(path: Path) -> None:
    rows = [(f"x{i}", "X", "Y") for i in range(25)] + [(f"x{i}", "X", "Z") for i in range(25, 30)]
    rows += [(f"o{i}", f"D{i % 40}", "Y" if i % 50 == 0 else "Z" if i % 3 == 0 else f"E{i % 30}")
             for i in range(2000)]
    frame = pl.DataFrame(rows, schema=["report_id", "drug", "event"], orient="row")
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)


def test_csv_in_parquet_out_with_json_summary(tmp_path):
    src, out = tmp_path / "reports.csv", tmp_path / "out" / "signals.parquet"
    write_reports(src)
    res = runner.invoke(app, ["disproportionality", str(src), "-o", str(out), "--config", str(CONFIG),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    result = pl.read_parquet(out)
    assert doc["pairs"] == result.height and doc["flagged"] == result["signal"].sum()
    assert {"drug": "X", "event": "Y"}.items() <= doc["rows"][0].items()
    assert doc["rules_version"] == "SIG-2025.1"


def test_missing_column_is_a_one_line_error(tmp_path):
    src = tmp_path / "bad.csv"
    pl.DataFrame({"report_id": ["1"], "drug": ["D"]}).write_csv(src)
    res = runner.invoke(app, ["disproportionality", str(src), "-o", str(tmp_path / "o.csv"),
                              "--config", str(CONFIG)])
    assert res.exit_code != 0
    assert "missing column(s) event" in str(res.exception) or "event" in res.output
    assert not (tmp_path / "o.csv").exists()


def test_json_summary_is_strict_json_when_a_ratio_is_infinite(tmp_path):
    # Contract (design.md): `--format json` is one JSON document. Drug A is the only one reported with
    # event X (c = 0), so its PRR is infinite: Python's json wrote `Infinity`, which is not JSON (RFC 8259)
    # and which JSON.parse / jq reject. Non-finite numbers are null, as in the -o .json file polars writes.
    rows, i = [], 0
    for drug, event, n in [("A", "X", 6), ("B", "Y", 30), ("C", "Z", 30), ("B", "Z", 5), ("C", "Y", 5), ("A", "Y", 2)]:
        for _ in range(n):
            rows.append((f"r{i}", drug, event))
            i += 1
    src = tmp_path / "reports.csv"
    pl.DataFrame(rows, schema=["report_id", "drug", "event"], orient="row").write_csv(src)
    res = runner.invoke(app, ["disproportionality", str(src), "-o", str(tmp_path / "o.json"), "--config", str(CONFIG),
                              "--format", "json"])
    assert res.exit_code == 0, res.output

    def reject(constant: str):
        raise ValueError(f"not JSON: {constant}")

    doc = json.loads(res.stdout, parse_constant=reject)
    a_x = next(r for r in doc["rows"] if (r["drug"], r["event"]) == ("A", "X"))
    assert a_x["PRR"] is None and a_x["a"] == 6
    assert pl.read_json(tmp_path / "o.json").filter(drug="A", event="X")["PRR"].to_list() == [None]
