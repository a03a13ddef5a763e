"""Alert rules from config/alerting.yaml applied to small literal frames (pure, no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml

from safety.alerts import AlertConfig, AlertRuleError, events_for_rule, stale_data_event
from safety.alerts.events import event_key, quarantine_growth_frame
from safety.alerts.render import alert_message, subject_line
from safety.alerts.rules import load_alert_config
from safety.config import ConfigError, load_config, load_model

ROOT = Path(__file__).resolve().parents[1]
CFG = load_alert_config(load_config(ROOT / "config" / "study.yaml"))
NOW = dt.datetime(2025, 3, 10, 8, 0, tzinfo=dt.UTC)


def ae(**over) -> pl.DataFrame:
    row = {"USUBJID": "S-001", "AESEQ": 3, "AEDECOD": "Pneumonitis", "AEBODSYS": "Respiratory", "AETOXGR": 3,
           "SERIOUS": True, "SERIOUS_CRITERIA": "hospitalisation", "AESTDTC": "2025-03-01", "_VERSION": 1,
           "AETERM": "lung thing"}
    return pl.DataFrame([row | over])


def test_shipped_config_loads_with_every_required_rule():
    ids = {r.id for r in CFG.rules}
    assert {"serious_ae", "ae_grade3plus", "dlt_candidate", "dlt_confirmed", "boundary_crossed",
            "boundary_one_away", "hys_law", "susar_new", "susar_due_soon", "susar_overdue", "lab_without_ae",
            "stale_data", "quarantine_growth"} <= ids
    assert CFG.study_id == "VIGIL-ELA-EXE-01" and CFG.base_url.startswith("http")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["rules"][0].update(recipients=["nobody_group"]), "unknown recipient groups nobody_group"),
    (lambda d: d["rules"][0].update(where=[{"column": "X", "op": "in", "value": 3}]), "non-empty list"),
    (lambda d: d["rules"][0].update(where=[{"column": "X", "op": "ge"}]), "needs a value"),
    (lambda d: d["rules"][0].update(title="broken {AEDECOD"), "malformed template"),
    (lambda d: d["rules"][0].update(delivery="sms"), "delivery"),
    (lambda d: d["groups"].update(pi=["not-an-address"]), "not e-mail addresses"),
    (lambda d: d["rules"].append(dict(d["rules"][0])), "duplicate rule ids: serious_ae"),
])
def test_invalid_config_names_file_and_field(tmp_path, mutate, message):
    data = yaml.safe_load((ROOT / "config" / "alerting.yaml").read_text())
    mutate(data)
    path = tmp_path / "alerting.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="alerting.yaml") as err:
        load_model(AlertConfig, path)
    assert message in str(err.value)


def test_serious_ae_keyed_without_version_so_a_correction_does_not_realert():
    rule = CFG.rule("serious_ae")
    v1 = events_for_rule(ae(), rule, CFG)
    v2 = events_for_rule(ae(_VERSION=2, AESTDTC="2025-03-02"), rule, CFG)
    assert len(v1) == 1 and v1[0].event_key == v2[0].event_key == "serious_ae|S-001|3|"
    assert v1[0].title == "Serious AE: Pneumonitis grade 3"
    assert v1[0].link == "http://127.0.0.1:8050/adverse-events"
    assert "lung thing" not in v1[0].body  # verbatim term is not a listed field
    assert events_for_rule(ae(SERIOUS=False), rule, CFG) == []
    assert events_for_rule(ae(SERIOUS=None), rule, CFG) == []


def test_grade_rule_boundary_values_and_worsening():
    rule = CFG.rule("ae_grade3plus")
    assert events_for_rule(ae(AETOXGR=2), rule, CFG) == []
    g3, g4 = events_for_rule(ae(AETOXGR=3), rule, CFG), events_for_rule(ae(AETOXGR=4), rule, CFG)
    assert len(g3) == len(g4) == 1 and g3[0].event_key != g4[0].event_key


def test_followup_rule_keys_on_version():
    rule = CFG.rule("susar_followup")
    base = {"CASE_ID": "ST-S-001-3", "USUBJID": "S-001", "FOLLOWUP_N": 1, "REPORT_TYPE": "follow-up 1",
            "CHANGED_FIELDS": "AEOUT", "DAY0": dt.date(2025, 3, 5), "DUE_DATE": dt.date(2025, 3, 20),
            "STATUS": "OPEN", "_version": 2}
    a = events_for_rule(pl.DataFrame([base]), rule, CFG)[0]
    b = events_for_rule(pl.DataFrame([base | {"_version": 3}]), rule, CFG)[0]
    assert a.event_key == "susar_followup|S-001|ST-S-001-3/1|2" and a.event_key != b.event_key


def test_susar_clock_rules_on_dates():
    due, soon, over = CFG.rule("susar_due_soon"), CFG.rule("susar_overdue"), CFG.rule("susar_new")
    frame = pl.DataFrame({
        "CASE_ID": ["C1", "C2", "C3", "C4"], "USUBJID": ["S1", "S2", "S3", "S4"],
        "CASE_STATE": ["SUSAR", "SUSAR", "SUSAR", "DOWNGRADED"],
        "DUE_DATE": [dt.date(2025, 3, 12), dt.date(2025, 3, 13), dt.date(2025, 3, 9), dt.date(2025, 3, 12)],
        "DAYS_TO_DUE": [2, 3, -1, 2], "STATUS": ["DUE SOON", "OPEN", "OVERDUE", "SUBMITTED"],
        "SUBMITTED_DATE": [None, None, None, dt.date(2025, 3, 8)], "DAY0": dt.date(2025, 3, 1),
        "SUSPECT_DRUGS": "ELACESTRANT", "SERIOUS_CRITERIA": "death",
    })
    assert [e.event_key for e in events_for_rule(frame, due, CFG)] == ["susar_due_soon|S1|C1/2025-03-12|"]
    assert [e.record_key for e in events_for_rule(frame, soon, CFG)] == ["C3/2025-03-09"]
    assert [e.usubjid for e in events_for_rule(frame, over, CFG)] == ["S1", "S2", "S3"]


def test_boundary_rules_key_on_design_version_and_n():
    frame = pl.DataFrame({"design_id": ["tox", "tox2"], "design_version": "B-1", "design": "bayes", "events": [5, 3],
                          "n": [20, 20], "boundary": [5, 5], "crossed": [True, False], "events_to_stop": [0, 1],
                          "decision": ["STOP", "CONTINUE"], "message": ["m", "m"]})
    crossed = events_for_rule(frame, CFG.rule("boundary_crossed"), CFG)
    near = events_for_rule(frame, CFG.rule("boundary_one_away"), CFG)
    assert [e.event_key for e in crossed] == ["boundary_crossed||tox/B-1/20|"]
    assert [e.event_key for e in near] == ["boundary_one_away||tox2/B-1/20|"] and near[0].usubjid is None


def test_missing_column_or_table_is_an_error_not_silence():
    with pytest.raises(AlertRuleError, match="serious_ae.*SERIOUS"):
        events_for_rule(ae().drop("SERIOUS"), CFG.rule("serious_ae"), CFG)
    with pytest.raises(AlertRuleError, match="was not derived"):
        events_for_rule(None, CFG.rule("serious_ae"), CFG)
    assert events_for_rule(pl.DataFrame(), CFG.rule("serious_ae"), CFG) == []  # nothing to alert about


def test_stale_data_event_threshold_and_daily_key():
    hours = CFG.stale_data.hours
    fresh = NOW - dt.timedelta(hours=hours - 0.1)
    stale = NOW - dt.timedelta(hours=hours + 0.1)
    assert stale_data_event(fresh, NOW, CFG) is None
    ev = stale_data_event(stale.replace(tzinfo=None), NOW, CFG)  # SQLite gives naive UTC
    assert ev is not None and ev.event_key == "stale_data||2025-03-10|" and ev.delivery == "immediate"
    later = stale_data_event(stale, NOW + dt.timedelta(hours=3), CFG)
    assert later.event_key == ev.event_key  # one per day
    assert "never" in stale_data_event(None, NOW, CFG).title


def test_quarantine_growth_frame():
    runs = pl.DataFrame({"id": [1, 2, 3], "n_quarantined": [5, 4, 7]})
    row = quarantine_growth_frame(runs).row(0, named=True)
    assert row == {"RUN_ID": 3, "N_QUARANTINED": 7, "PREV_RUN_ID": 2, "PREV_N_QUARANTINED": 4, "GROWTH": 3}
    rule = CFG.rule("quarantine_growth")
    assert len(events_for_rule(quarantine_growth_frame(runs), rule, CFG)) == 1
    assert events_for_rule(quarantine_growth_frame(runs.head(2)), rule, CFG) == []
    assert quarantine_growth_frame(runs.head(1)).height == 0


def test_long_keys_stay_unique_and_bounded():
    a, b = event_key("r", "S", "x" * 600 + "a", ""), event_key("r", "S", "x" * 600 + "b", "")
    assert len(a) <= 512 and a != b


def test_html_part_escapes_user_text_and_headers_stay_single_line():
    ev = events_for_rule(ae(AEDECOD="<script>alert(1)</script>\nBcc: x@evil"), CFG.rule("serious_ae"), CFG)[0]
    alert = {"id": 7, "rule": ev.rule, "severity": ev.severity, "title": ev.title, "body": ev.body,
             "link": ev.link, "usubjid": ev.usubjid}
    msg = alert_message(CFG.study_id, alert, "vigil@test", ["a@b.c"])
    html_part = msg.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part
    assert "\n" not in subject_line(CFG.study_id, alert) and msg["Bcc"] is None
    assert msg["Subject"].startswith("[VIGIL-ELA-EXE-01] HIGH: Serious AE")


def test_every_rule_links_to_a_real_dashboard_page():
    from dashboards.pages import PAGES
    from safety.alerts import load_alert_config
    from safety.config import load_config

    paths = {page.PATH for page in PAGES}
    for rule in load_alert_config(load_config()).rules:
        assert rule.page.split("?")[0] in paths, rule.id


def test_complete_report_clock_rules():
    soon, over = CFG.rule("susar_complete_due_soon"), CFG.rule("susar_complete_overdue")
    frame = pl.DataFrame({
        "CASE_ID": ["C1", "C2", "C3", "C4"], "USUBJID": ["S1", "S2", "S3", "S4"],
        "DUE_DATE": dt.date(2025, 3, 9),
        "COMPLETE_DUE": [dt.date(2025, 3, 17), dt.date(2025, 3, 16), dt.date(2025, 3, 17), None],
        "COMPLETE_DAYS_TO_DUE": [1, -1, 1, None], "COMPLETE_STATUS": ["DUE SOON", "OVERDUE", "SUBMITTED", None],
        "COMPLETE_SUBMITTED": [None, None, dt.date(2025, 3, 15), None],
    }, schema_overrides={"COMPLETE_DAYS_TO_DUE": pl.Int64})
    assert [e.record_key for e in events_for_rule(frame, soon, CFG)] == ["C1/2025-03-17"]
    assert [e.record_key for e in events_for_rule(frame, over, CFG)] == ["C2/2025-03-16"]


def test_ne_matches_a_missing_value_as_not_in_does():
    # an event is never lost to a where-clause that silently skips nulls: 'DECISION ne REJECTED' must keep
    # the candidates nobody has decided yet, exactly as 'DECISION not_in [REJECTED]' does
    from safety.alerts.rules import Condition

    frame = pl.DataFrame({"USUBJID": ["S1", "S2", "S3"], "CANDIDATE_ID": ["A", "B", "C"], "DLT_RULE": "r",
                          "TERM": "t", "DLTSTDT": None, "DECIDED_BY": None, "DLTSTAT": None,
                          "DECISION": ["CONFIRMED", None, "REJECTED"]})
    base = CFG.rule("dlt_confirmed")
    ne = base.model_copy(update={"where": [Condition(column="DECISION", op="ne", value="REJECTED")]})
    not_in = base.model_copy(update={"where": [Condition(column="DECISION", op="not_in", value=["REJECTED"])]})
    assert [e.usubjid for e in events_for_rule(frame, ne, CFG)] == ["S1", "S2"]
    assert [e.usubjid for e in events_for_rule(frame, not_in, CFG)] == ["S1", "S2"]


def test_hys_law_case_alerts_once_whatever_bilirubin_it_pairs_with():
    rule = CFG.rule("hys_law")
    case = {"USUBJID": "S1", "HYSCASEID": "HYS:S1:LB:12", "AMTTEST": "ALT", "AMTSEQ": 12, "AMTULN": 4.2,
            "AMTDT": dt.date(2025, 3, 1), "BILISEQ": 20, "BILIULN": 2.1, "BILIDT": dt.date(2025, 3, 5),
            "ALPSTAT": "BELOW 2 x ULN", "SRC": "LB"}
    first = pl.DataFrame([case])
    later = pl.DataFrame([{**case, "BILISEQ": 18, "BILIULN": 2.4, "BILIDT": dt.date(2025, 3, 3)}])  # a late result
    keys = [e.event_key for frame in (first, later) for e in events_for_rule(frame, rule, CFG)]
    assert len(set(keys)) == 1
