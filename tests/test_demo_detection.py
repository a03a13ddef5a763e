"""The demo study's planted events, run through the whole cycle, are found; nothing else is.

The generator writes what it planted into manifest.json (DLTs, Hy's law, SUSARs, a signal, the
futility outcome, FES-PET deviations); this test reads the service's stored results against it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import insert

from safety.cli.core import DEMO_START
from safety.cycle import run_cycle
from safety.demo import generate_study, write_study
from safety.store import frame_bytes, schema


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo study through one cycle (SQLite, or the test PostgreSQL server)."""
    import os
    import shutil

    import yaml

    from safety.config import load_config
    from safety.store import Store

    root = tmp_path_factory.mktemp("demo")
    source = root / "sdtm"
    manifest = write_study(generate_study(start=DEMO_START), source, fmt="xpt").to_dict()
    folder = root / "config"
    shutil.copytree(__import__("tests.conftest", fromlist=["REPO"]).REPO / "config", folder)
    study = yaml.safe_load((folder / "study.yaml").read_text())
    base = os.environ.get("VIGIL_TEST_DATABASE_URL")
    study["database_url"] = f"sqlite:///{root / 'vigil.db'}"
    study["source"]["path"] = str(source)
    study["jobs"] = {"data_cut": "latest_record"}
    (folder / "study.yaml").write_text(yaml.safe_dump(study))
    cfg = load_config(folder / "study.yaml")
    if base and not base.startswith("sqlite"):
        pytest.skip("the demo detection test runs once, on SQLite; PostgreSQL is covered by the store tests")
    store = Store(cfg.database)
    result = run_cycle(cfg, store, now=datetime(2026, 11, 24, 12, tzinfo=UTC), deliver=False)
    yield cfg, store, manifest, result
    store.dispose()


def test_the_cycle_succeeds_and_stores_every_derived_table(demo):
    _, store, _, result = demo
    assert result.status == "success"
    for name in ("lb_graded", "dlt_candidates", "dlt_status", "runin_decision", "hyslaw_cases", "edish",
                 "boundary_status", "susar_cases", "signals_oe", "pfs", "pfs_rate", "fes_pet", "ae_soc_pt"):
        assert store.derived(name) is not None, name


def test_planted_dlt_is_the_only_candidate_and_the_run_in_confirms_the_dose(demo):
    cfg, store, manifest, _ = demo
    run_in = manifest["planted"]["run_in"]
    planted = {d["USUBJID"] for d in run_in["dlts"]}
    candidates = store.derived("dlt_candidates")
    assert set(candidates["USUBJID"].to_list()) == planted
    status = store.derived("dlt_status")
    not_evaluable = run_in["not_evaluable"]["USUBJID"]
    assert status.filter(pl.col("USUBJID") == not_evaluable)["DLTSTAT"].item() == "NOT EVALUABLE"
    # unconfirmed candidates do not count: the decision waits for the committee
    assert store.derived("runin_decision")["decision"].item() == "PENDING"
    with store.write() as conn:
        for cid in candidates["CANDIDATE_ID"].to_list():
            conn.execute(insert(schema.dlt_confirmation).values(
                candidate_id=cid, decision="CONFIRMED", decided_by="committee", decided_at=datetime.now(UTC),
                comment="test"))
    again = run_cycle(cfg, store, now=datetime(2026, 11, 24, 12, tzinfo=UTC), ingest_first=False, deliver=False)
    assert again.status == "success"
    decision = store.derived("runin_decision").row(0, named=True)
    assert decision["decision"] == run_in["expected_decision"]
    assert decision["n_dlt"] == run_in["dlts_among_first_6_evaluable"]
    assert set(decision["subjects"].split(", ")) == set(run_in["dlt_evaluable"])


def test_planted_hys_law_case_is_the_only_one(demo):
    _, store, manifest, _ = demo
    cases = store.derived("hyslaw_cases")
    assert set(cases["USUBJID"].to_list()) == {manifest["planted"]["hys_law"]["USUBJID"]}
    edish = store.derived("edish")
    right_upper = edish.filter(pl.col("EDISHQ").str.starts_with("Potential"))
    assert right_upper["USUBJID"].to_list() == [manifest["planted"]["hys_law"]["USUBJID"]]


def test_planted_susars_are_the_cases_with_correct_due_dates(demo):
    _, store, manifest, _ = demo
    cases = store.derived("susar_cases").filter(pl.col("CASE_STATE") == "SUSAR")
    found = {(r["USUBJID"], r["AESEQ"]): r for r in cases.iter_rows(named=True)}
    planted = {(s["USUBJID"], s["AESEQ"]): s for s in manifest["planted"]["susars"]}
    assert set(found) == set(planted)
    for key, s in planted.items():
        case = found[key]
        if s["AEAWDTC"]:
            assert case["DAY0"] == date.fromisoformat(s["AEAWDTC"])
        else:
            assert case["DAY0"] == date.fromisoformat(s["AESTDTC"]) and case["DAY0_IMPUTED"]
        assert case["DUE_DATE"] == case["DAY0"] + timedelta(days=s["clock_days"]), key
    for control in manifest["planted"]["negative_controls"]["serious_not_susar"]:
        assert (control["USUBJID"], control["AESEQ"]) not in found


def test_planted_signal_is_flagged_and_expected_events_are_not(demo):
    _, store, manifest, _ = demo
    table = store.derived("signals_oe")
    flagged = table.filter(pl.col("signal") & (pl.col("grade_class") == "any"))
    signal = manifest["planted"]["signal"]["AEDECOD"].lower()
    assert signal in flagged["term"].str.to_lowercase().to_list()
    controls = manifest["planted"]["negative_controls"]["expected_terms_at_reference_rate"]
    control_terms = {term.lower() for term in controls}
    assert control_terms, "the manifest lists expected background terms"
    assert not control_terms & set(flagged["term"].str.to_lowercase().to_list())


def test_planted_futility_outcome_is_found(demo):
    _, store, manifest, _ = demo
    simon = manifest["planted"]["efficacy"]["simon"]
    status = store.derived("boundary_status").filter(pl.col("design") == "simon").row(0, named=True)
    assert status["crossed"] == simon["futility_crossed"]
    assert (status["events"], status["n"]) == (simon["stage1_progression_free"], simon["n1"])
    assert status["boundary"] == simon["r1"]


def test_toxicity_boundaries_are_not_crossed(demo):
    _, store, _, _ = demo
    tox = store.derived("boundary_status").filter(pl.col("design").is_in(["bayes", "pocock"]))
    assert tox.height == 2 and not tox["crossed"].any()


def test_fes_pet_deviations_are_the_planted_subjects(demo):
    _, store, manifest, _ = demo
    fes = store.derived("fes_pet")
    deviations = set(fes.filter(pl.col("PROTOCOL_DEVIATION") == "Y")["USUBJID"].to_list())
    assert deviations == {d["USUBJID"] for d in manifest["planted"]["fes_protocol_deviations"]}


def test_every_result_names_its_rule_version(demo):
    _, store, _, _ = demo
    for name in ("lb_graded", "dlt_candidates", "boundary_status", "susar_cases", "signals_oe", "pfs"):
        meta = store.derived_meta(name)
        assert meta["rule_version"], name
        assert meta["cycle_id"] is not None


def _cli_json(cfg, *args: str) -> dict:
    from typer.testing import CliRunner

    from safety.cli import app

    result = CliRunner().invoke(app, [*args, "--config", str(cfg.path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_reports_read_the_stored_cycle(demo):
    cfg, store, manifest, _ = demo
    dlt = _cli_json(cfg, "dlt")
    assert dlt["runin_decision"] == store.derived("runin_decision")["decision"].item()
    assert {r["USUBJID"] for r in dlt["rows"] if r["CANDIDATE_ID"]} == {
        d["USUBJID"] for d in manifest["planted"]["run_in"]["dlts"]}
    signals = _cli_json(cfg, "signals")
    assert manifest["planted"]["signal"]["AEDECOD"].lower() in {r["term"].lower() for r in signals["rows"]}
    assert all(r["status"] in ("new", "ongoing") for r in signals["rows"])
    pfs = _cli_json(cfg, "pfs")
    rate = store.derived("pfs_rate").row(0, named=True)
    assert pfs["six_month_rate"]["rate"] == pytest.approx(rate["rate"])
    assert len(pfs["rows"]) == store.derived("pfs").height


def test_a_frozen_committee_data_cut_verifies_and_pins_its_tables(demo):
    from sqlalchemy import update

    from jobs.data_cut import freeze_data_cut, verify_data_cut

    cfg, store, _, _ = demo
    cut = freeze_data_cut(store, "DMC 2026-11", "statistician")
    assert verify_data_cut(store, cut["id"])
    assert freeze_data_cut(store, "DMC 2026-11", "someone else")["id"] == cut["id"]  # frozen once
    pinned = cut["manifest"]["derived"]["susar_cases"]["id"]
    frozen = store.derived("susar_cases", upto_id=pinned)
    run_cycle(cfg, store, now=datetime(2026, 11, 24, 12, tzinfo=UTC), ingest_first=False, deliver=False)
    assert store.derived_meta("susar_cases")["id"] > pinned  # live data moved on
    assert store.derived("susar_cases", upto_id=pinned).equals(frozen)
    assert verify_data_cut(store, cut["id"])
    other = store.derived("edish")
    with store.write() as conn:  # tamper with a frozen table: verification must notice
        conn.execute(update(schema.derived).where(schema.derived.c.id == pinned).values(
            payload=frame_bytes(other)))
    assert not verify_data_cut(store, cut["id"])
