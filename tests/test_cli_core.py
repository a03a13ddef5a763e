"""The CLI as a user meets it: one-line errors, no tracebacks, JSON that parses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VIGIL = [sys.executable, "-m", "safety.cli"]


def run(*args: str, env_config: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [*VIGIL, *args] + (["--config", str(env_config)] if env_config else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_ingest_of_a_corrupt_folder_is_a_one_line_error_per_file(tmp_path, study_config, sdtm_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = (sdtm_dir / "cdiscpilot01" / "ex.xpt").read_bytes()
    (bad / "ex.xpt").write_bytes(data[:1000])
    (bad / "dm.csv").write_text("STUDYID,USUBJID\nS,1\n")
    result = run("ingest", "--source", str(bad), env_config=study_config.path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any("ex.xpt" in line and ("truncated" in line or "cannot read xpt" in line) for line in errors)
    assert any("dm.csv" in line and "RFXSTDTC" in line for line in errors)


def test_missing_source_folder_and_bad_config_are_one_line_errors(tmp_path, study_config):
    result = run("ingest", "--source", str(tmp_path / "nowhere"), env_config=study_config.path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "source folder does not exist" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("study: {id: X}\n")
    result = run("status", env_config=broken)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "study.drugs" in result.stderr


def test_demo_ingest_status_json(tmp_path, study_config):
    out = tmp_path / "demo"
    assert run("demo", "--out", str(out), env_config=study_config.path).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    ingest = run("ingest", "--source", str(out), "--format", "json", env_config=study_config.path)
    assert ingest.returncode == 0, ingest.stderr
    doc = json.loads(ingest.stdout)
    assert doc["status"] == "success"
    status = json.loads(run("status", "--format", "json", env_config=study_config.path).stdout)
    assert status["subjects"] == manifest["study"]["subjects_in_export"]
    counts = {r["domain"]: r["records"] for r in status["rows"]}
    assert counts["AE"] > 0 and counts["LB"] > 0


@pytest.mark.parametrize("command", ["demo", "ingest", "status", "cycle", "grade"])
def test_every_command_takes_config(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "--config" in result.stdout


def test_user_input_in_an_error_is_plain_text_not_rich_markup(tmp_path, study_config):
    # Standard: a CLI error is one clear line, never a traceback. The message quotes the user's input;
    # printed as Rich markup, '[/x]' raised MarkupError inside the error handler (a traceback) and
    # '[bold]x[/bold]' was shown as 'x', misquoting what was typed.
    for bad in ("[/x]", "[bold]x[/bold]"):
        result = run("listing", "susar", "--from", bad, env_config=study_config.path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip() == f"error: --from '{bad}' is not a date (YYYY-MM-DD)"
