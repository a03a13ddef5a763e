"""`vigil boundaries ...` through typer's CliRunner, and config/boundaries.yaml loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safety.boundaries import design_from_config, load_boundary_config, status
from safety.cli import app
from safety.cli.app import UserError
from safety.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "config" / "study.yaml"  # boundaries.yaml is read beside it; study.yaml itself is not opened
runner = CliRunner()


def run_json(*args: str) -> dict:
    result = runner.invoke(app, ["boundaries", *args, "--format", "json", "--config", str(STUDY)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_repo_config_matches_protocol():
    cfg = load_boundary_config(REPO / "config" / "boundaries.yaml")
    assert cfg.oc_rates == [0.10, 0.20, 0.30, 0.40, 0.50]
    bayes = cfg.rule("tox-bayes")
    assert (bayes.prior_a, bayes.prior_b, bayes.p_max, bayes.threshold, bayes.n_min, bayes.n_max) == (
        0.3, 0.7, 0.30, 0.90, 6, 40)
    pocock = cfg.rule("tox-pocock")
    assert (pocock.p0, pocock.alpha, pocock.n_max) == (0.30, 0.10, 40)
    simon = cfg.rule("pfs6-simon")
    assert (simon.p0, simon.p1, simon.alpha, simon.power, simon.criterion) == (0.35, 0.55, 0.05, 0.80, "optimal")
    assert cfg.rule("dose-boin").phi == 0.30
    # every configured rule builds and reports a status the monitoring cycle can store
    for rule in cfg.rules:
        result = status(design_from_config(cfg, rule.id), 0, 0)
        assert result.design_id == rule.id and result.design_version == rule.version


def test_bad_config_names_file_and_field(tmp_path):
    bad = tmp_path / "boundaries.yaml"
    bad.write_text(
        "version: '1'\noc_rates: [0.1]\nrules:\n"
        "  - {id: x, version: '1', design: pocock, p0: 0.3, alpha: 1.5, n_max: 40}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_boundary_config(bad)
    assert str(bad) in str(info.value) and "alpha" in str(info.value)
    bad.write_text("version: '1'\noc_rates: [0.1]\nrules:\n  - {id: x, version: '1', design: magic}\n")
    with pytest.raises(ConfigError, match="rules.0"):
        load_boundary_config(bad)


def test_pocock_json_is_one_document():
    doc = run_json("pocock")
    rows = {r["n"]: r["stop_if_events_ge"] for r in doc["rows"]}
    # protocol.md: b_10 = 7, b_20 = 11, b_40 = 19 for p0 0.30, alpha 0.10, N 40
    assert (rows[10], rows[20], rows[40]) == (7, 11, 19)
    assert doc["design"]["gamma"] == pytest.approx(0.027)
    oc = {r["true_rate"]: r for r in doc["operating_characteristics"]}
    assert set(oc) == {0.1, 0.2, 0.3, 0.4, 0.5}
    assert oc[0.3]["p_stop"] <= 0.10 < oc[0.4]["p_stop"]


def test_bayes_options_override_config():
    doc = run_json("bayes", "--n-min", "10", "--n-max", "20", "--oc", "0.3")
    assert [r["n"] for r in doc["rows"]] == list(range(10, 21))
    assert doc["design"]["n_min"] == 10 and len(doc["operating_characteristics"]) == 1


def test_simon_shows_optimal_and_minimax():
    doc = run_json("simon")
    designs = {r["criterion"]: (r["r1"], r["n1"], r["r"], r["n"]) for r in doc["rows"]}
    assert designs == {"optimal": (5, 14, 20, 44), "minimax": (8, 21, 18, 39)}
    # Simon 1989, Table 1 (p0 0.30, p1 0.50, alpha 0.05, beta 0.20): optimal 5/15, 18/46
    doc = run_json("simon", "--p0", "0.3", "--p1", "0.5")
    assert doc["rows"][0]["r1"] == 5 and doc["rows"][0]["n"] == 46


def test_boin_and_three_plus_three():
    doc = run_json("boin", "--n-max", "6")
    assert [r["eliminate_if_dlt_ge"] for r in doc["rows"]] == [None, None, 3, 3, 4, 4]
    assert doc["design"]["lambda_e"] == pytest.approx(0.236, abs=5e-4)
    doc = run_json("3+3", "--oc", "0.1,0.2,0.4")
    assert sum(r["p_select_mtd"] for r in doc["operating_characteristics"]) == pytest.approx(1.0)


def test_table_and_csv_formats():
    result = runner.invoke(app, ["boundaries", "pocock", "--config", str(STUDY)])
    assert result.exit_code == 0 and "Operating characteristics" in result.stdout
    result = runner.invoke(app, ["boundaries", "boin", "--format", "csv", "--config", str(STUDY)])
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert header == "n,escalate_if_dlt_le,deescalate_if_dlt_ge,eliminate_if_dlt_ge"


def test_status_command():
    doc = run_json("status", "--rule", "tox-bayes", "--events", "4", "--n", "6")
    assert doc["rows"][0]["crossed"] is True and doc["rows"][0]["boundary"] == 4


@pytest.mark.parametrize(
    "args",
    [
        ["boin", "--phi", "1.5"],
        ["pocock", "--alpha", "0"],
        ["simon", "--p0", "0.6", "--p1", "0.5"],
        ["bayes", "--oc", "0.1,abc"],
        ["3+3", "--oc", ",".join(["0.1"] * 13)],
        ["status", "--rule", "no-such-rule", "--events", "1", "--n", "2"],
        ["status", "--rule", "tox-bayes", "--events", "5", "--n", "2"],
    ],
)
def test_bad_parameter_is_one_line_user_error(args):
    result = runner.invoke(app, ["boundaries", *args, "--config", str(STUDY)])
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError)
    message = str(result.exception)
    assert message and "\n" not in message
