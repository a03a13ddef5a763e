"""Loading the criteria: errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from safety.grading.criteria import CRITERIA_FILE, UNITS_FILE, CriteriaError, load_criteria, parse_condition

CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_condition_language():
    (clause1, clause2) = parse_condition("<0.75*LLN | <LLN & <=0.75*BL")
    assert [a.text for a in clause1] == ["<0.75*LLN"]
    assert [a.text for a in clause2] == ["<LLN", "<=0.75*BL"]
    assert [a.text for a in parse_condition(">ULN+20")[0]] == [">ULN+20"]
    assert parse_condition("") == ()
    with pytest.raises(ValueError, match="cannot read comparison"):
        parse_condition("=>ULN")


def _copy_config(tmp_path: Path, edit_line: str | None = None, replacement: str = "") -> Path:
    text = (CONFIG / CRITERIA_FILE).read_text()
    if edit_line:
        text = "\n".join(replacement if line.startswith(edit_line) else line for line in text.splitlines())
    (tmp_path / CRITERIA_FILE).write_text(text)
    (tmp_path / UNITS_FILE).write_text((CONFIG / UNITS_FILE).read_text())
    return tmp_path


def test_shipped_config_loads_with_version():
    criteria = load_criteria(CONFIG)
    assert criteria.version.startswith("CTCAE v5.0")


def test_bad_grade_cell_names_file_line_and_field(tmp_path):
    bad = ("NEUTDEC,Neutrophil count decreased,L,NEUT,10^9/L,<LLN,<<1.5,<1.0,<0.5,,,,,,,N,,,Y,neutropenia,")
    folder = _copy_config(tmp_path, "NEUTDEC,", bad)
    with pytest.raises(CriteriaError, match=r"ctcae_v5_lab.csv, line \d+ \(term 'NEUTDEC' 'L'\): field grade2"):
        load_criteria(folder)


def test_bad_direction_is_reported(tmp_path):
    bad = ("NEUTDEC,Neutrophil count decreased,X,NEUT,10^9/L,<LLN,<1.5,<1.0,<0.5,,,,,,,N,,,Y,neutropenia,")
    with pytest.raises(CriteriaError, match="field direction"):
        load_criteria(_copy_config(tmp_path, "NEUTDEC,", bad))


def test_unit_target_must_match_criterion(tmp_path):
    folder = _copy_config(tmp_path)
    (folder / UNITS_FILE).write_text((folder / UNITS_FILE).read_text() + "HGB,mg/L,mg/L,1,1\n")
    with pytest.raises(CriteriaError, match="HGB converts to"):
        load_criteria(folder)


def test_missing_version_is_reported(tmp_path):
    folder = _copy_config(tmp_path, "# version:", "# no version here")
    with pytest.raises(CriteriaError, match="version"):
        load_criteria(folder)
