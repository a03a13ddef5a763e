"""The REDCap source against a loopback HTTP server that answers like the REDCap API."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.parse
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from jobs.config import load_jobs_config
from jobs.health import service_health
from jobs.runs import job_runs
from jobs.tasks import run_step
from safety.config import REPO_ROOT, load_config
from safety.ingest import ingest
from safety.sources import SourceUnavailable
from safety.sources.configured import pull_source
from safety.store import Store, schema, utcnow

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
STUDY = "VIGIL-ELA-EXE-01"


def _base(rid: str) -> dict[str, str]:
    return {"record_id": rid, "redcap_repeat_instrument": "", "redcap_repeat_instance": "",
            "usubjid": f"{STUDY}-{rid}", "site": "101", "age": "61", "sex": "1", "arm": "ELA+EXE", "cohort": "RUN-IN",
            "consent_date": "2025-01-02", "first_dose_date": "2025-01-06", "last_dose_date": "", "death": "0",
            "death_date": "", "ae_term": "", "ae_pt": "", "ae_soc": "", "ae_grade": "", "ae_serious": "",
            "ae_hosp": "", "ae_lifethreat": "", "ae_death": "", "ae_rel_elacestrant": "", "ae_rel_exemestane": "",
            "ae_action": "", "ae_outcome": "", "ae_start": "", "ae_end": "", "ae_aware_date": "",
            "lab_test": "", "lab_value": "", "lab_unit": "", "lab_low": "", "lab_high": "", "lab_date": ""}


def _ae(rid: str, instance: int, term: str, grade: str, serious: str) -> dict[str, str]:
    row = {k: "" for k in _base(rid)} | {"record_id": rid, "usubjid": f"{STUDY}-{rid}"}
    return row | {"redcap_repeat_instrument": "adverse_events", "redcap_repeat_instance": str(instance),
                  "ae_term": term, "ae_pt": term.capitalize(), "ae_soc": "Gastrointestinal disorders",
                  "ae_grade": grade, "ae_serious": serious, "ae_hosp": serious, "ae_lifethreat": "0", "ae_death": "0",
                  "ae_rel_elacestrant": "1", "ae_rel_exemestane": "0", "ae_start": "2025-02-01",
                  "ae_aware_date": "2025-02-02"}


def _lab(rid: str, instance: int, value: str) -> dict[str, str]:
    row = {k: "" for k in _base(rid)} | {"record_id": rid, "usubjid": f"{STUDY}-{rid}"}
    return row | {"redcap_repeat_instrument": "local_labs", "redcap_repeat_instance": str(instance),
                  "lab_test": "ALT", "lab_value": value, "lab_unit": "U/L", "lab_low": "7", "lab_high": "40",
                  "lab_date": "2025-02-03"}


def records() -> list[dict[str, str]]:
    b = _base("002") | {"sex": "2", "age": "55"}
    return [_base("001"), _ae("001", 1, "nausea", "2", "0"), _ae("001", 2, "diarrhoea", "3", "1"),
            _lab("001", 1, "35"), _lab("001", 2, "130"), b, _ae("002", 1, "fatigue", "1", "0")]


class FakeRedcap:
    """Answers `content=record` like REDCap: JSON or CSV flat records, or {"error": ...}."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.records = records()
        self.requests: list[dict[str, str]] = []
        self.fail_first = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                outer.requests.append(form)
                outer.answer(self, form)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, h: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            return self._send(h, 500, "text/html", "<html>Internal Server Error</html>")
        if form.get("token") != TOKEN or self.mode == "forbidden":
            return self._send(h, 403, "application/json",
                              json.dumps({"error": "You do not have permissions to use the API"}))
        if self.mode == "garbage":
            return self._send(h, 200, "text/html", "<html><body>Maintenance</body></html>")
        if self.mode == "slow":
            time.sleep(1.0)
        forms = [v for k, v in form.items() if k.startswith("forms[")]
        if form.get("content") != "record" or form.get("type") != "flat" or not forms:
            return self._send(h, 400, "application/json", json.dumps({"error": "bad request"}))
        if form.get("format") == "csv":
            import csv
            import io

            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(self.records[0]))
            writer.writeheader()
            writer.writerows(self.records)
            return self._send(h, 200, "text/csv", out.getvalue())
        return self._send(h, 200, "application/json", json.dumps(self.records))

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, ctype: str, text: str) -> None:
        data = text.encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redcap():
    server = FakeRedcap()
    yield server
    server.close()


def alerts_config_hours(cfg) -> float:
    from safety import alerts

    return alerts.load_alert_config(cfg).stale_data.hours


def study(tmp_path: Path, url: str, fmt: str = "json", **jobs: object):
    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", folder)
    data = yaml.safe_load((folder / "study.yaml").read_text())
    data["source"] = {"kind": "redcap", "url": url, "token_env": "TEST_REDCAP_TOKEN", "format": fmt,
                      "mapping": "sources/redcap_example.yaml", "timeout_seconds": 0.5, "attempts": 2,
                      "backoff_seconds": 0.05}
    data["database_url"] = f"sqlite:///{tmp_path / 'vigil.db'}"
    data["jobs"] = {"cycle": {"every": "1m", "derive": False}, **jobs}
    (folder / "study.yaml").write_text(yaml.safe_dump(data))
    return load_config(folder / "study.yaml")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_maps_fields_recodes_and_repeating_instruments(tmp_path, redcap, monkeypatch, fmt):
    monkeypatch.setenv("TEST_REDCAP_TOKEN", TOKEN)
    cfg = study(tmp_path, redcap.url, fmt)
    pull = pull_source(cfg)
    sent = redcap.requests[0]
    assert (sent["content"], sent["format"], sent["type"], sent["returnFormat"]) == ("record", fmt, "flat", "json")
    assert sorted(v for k, v in sent.items() if k.startswith("forms[")) == ["adverse_events", "enrolment", "local_labs"]
    assert set(pull.domains) == {"DM", "AE", "LB"}
    dm = pull.domains["DM"].load().frame.sort("USUBJID")
    assert dm.get_column("SEX").to_list() == ["F", "M"]
    assert dm.get_column("AGEU").to_list() == ["YEARS", "YEARS"]
    ae = pull.domains["AE"].load()
    assert ae.quarantine.height == 0
    rows = ae.frame.sort("USUBJID", "AESEQ").select("USUBJID", "AESEQ", "AETERM", "AETOXGR", "AESER", "AEREL2").rows()
    assert rows == [(f"{STUDY}-001", 1, "nausea", 2, "N", "NOT RELATED"),
                    (f"{STUDY}-001", 2, "diarrhoea", 3, "Y", "NOT RELATED"),
                    (f"{STUDY}-002", 1, "fatigue", 1, "N", "NOT RELATED")]
    lb = pull.domains["LB"].load().frame.sort("LBSEQ")
    assert lb.get_column("LBSTRESN").to_list() == [35.0, 130.0]


def test_unchanged_domains_are_skipped_by_fingerprint(tmp_path, redcap, monkeypatch):
    monkeypatch.setenv("TEST_REDCAP_TOKEN", TOKEN)
    cfg = study(tmp_path, redcap.url)
    store = Store(cfg.database)
    first = ingest(store, pull_source(cfg))
    assert first.counts.new == 2 + 3 + 2
    redcap.records[2] = redcap.records[2] | {"ae_grade": "4"}
    second = ingest(store, pull_source(cfg))
    assert second.per_domain["DM"].get("skipped_unchanged") and second.per_domain["LB"].get("skipped_unchanged")
    assert not second.per_domain["AE"].get("skipped_unchanged")
    assert (second.counts.changed, second.counts.new) == (1, 0)
    grades = store.current("AE").sort("AESEQ").filter(AETERM="diarrhoea").get_column("AETOXGR").to_list()
    assert grades == [4]


def test_api_error_is_reported_at_once_with_its_message(tmp_path, redcap, monkeypatch):
    monkeypatch.setenv("TEST_REDCAP_TOKEN", "not-the-token")
    cfg = study(tmp_path, redcap.url)
    with pytest.raises(SourceUnavailable, match="HTTP 403: You do not have permissions to use the API"):
        pull_source(cfg)
    assert len(redcap.requests) == 1  # a refused token is not retried


def test_missing_token_names_the_environment_variable(tmp_path, redcap, monkeypatch):
    monkeypatch.delenv("TEST_REDCAP_TOKEN", raising=False)
    with pytest.raises(SourceUnavailable, match="TEST_REDCAP_TOKEN"):
        pull_source(study(tmp_path, redcap.url))
    assert redcap.requests == []


def test_server_errors_are_retried_with_backoff(tmp_path, redcap, monkeypatch):
    monkeypatch.setenv("TEST_REDCAP_TOKEN", TOKEN)
    redcap.fail_first = 1
    pull = pull_source(study(tmp_path, redcap.url))
    assert len(redcap.requests) == 2 and "AE" in pull.domains


@pytest.mark.parametrize("mode, reason", [("garbage", "not JSON"), ("slow", "no answer within 0.5 s")])
def test_failing_source_fails_the_run_keeps_data_and_goes_stale(tmp_path, redcap, monkeypatch, mode, reason):
    monkeypatch.setenv("TEST_REDCAP_TOKEN", TOKEN)
    cfg = study(tmp_path, redcap.url)
    alerting = cfg.folder / "alerting.yaml"
    alerting.write_text(alerting.read_text().replace("  hours: 26 ", "  hours: 2 "))
    jobs_cfg = load_jobs_config(cfg)
    store = Store(cfg.database)
    assert run_step(cfg, jobs_cfg, store, "cycle").outcome == "success"
    before = store.current("AE")
    redcap.mode = mode
    outcome = run_step(cfg, jobs_cfg, store, "cycle")
    assert outcome.outcome == "failed" and reason in outcome.error and "after 2 attempts" in outcome.error
    assert len(redcap.requests) == 1 + 2
    last = store.runs(1).row(0, named=True)
    assert last["status"] == "failed" and reason in last["message"]
    assert store.current("AE").equals(before)
    assert job_runs(store, "cycle")[0]["error"] == outcome.error
    assert alerts_config_hours(cfg) == 2
    later = utcnow().replace(microsecond=0)
    assert not service_health(store, cfg, later)["stale"]
    from datetime import timedelta

    assert service_health(store, cfg, later + timedelta(hours=3))["stale"]
    # the delivery job raises the stale-data alert once the (alerting) limit has passed
    from safety import alerts

    hours = alerts.load_alert_config(cfg).stale_data.hours
    with store.write() as conn:
        conn.execute(schema.ingest_run.update().values(finished_at=utcnow() - timedelta(hours=hours + 1)))
    assert run_step(cfg, jobs_cfg, store, "delivery").counts["stale_alerts_raised"] == 1
    with store.read() as conn:
        rules = conn.execute(select(schema.alert.c.rule)).scalars().all()
    assert len(rules) == 1 and "stale" in rules[0]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_redcap_datetimes_with_a_space_are_iso_8601_not_quarantined(tmp_path, redcap, monkeypatch, fmt):
    # Rule: REDCap date formats are mapped correctly. A REDCap datetime field exports (raw) as
    # 'YYYY-MM-DD HH:MM[:SS]'; it is a valid date and must be kept as ISO 8601 (T), not quarantined.
    monkeypatch.setenv("TEST_REDCAP_TOKEN", TOKEN)
    redcap.records[3] = redcap.records[3] | {"lab_date": "2025-02-03 08:30"}
    redcap.records[4] = redcap.records[4] | {"lab_date": "2025-02-17 09:00:15"}
    redcap.records[1] = redcap.records[1] | {"ae_start": "2025-02-01 23:10"}
    pull = pull_source(study(tmp_path, redcap.url, fmt))
    lb = pull.domains["LB"].load()
    assert lb.quarantine.height == 0
    assert lb.frame.sort("LBSEQ").select("LBDTC", "LBDT").rows() == [
        ("2025-02-03T08:30", date(2025, 2, 3)), ("2025-02-17T09:00:15", date(2025, 2, 17))]
    ae = pull.domains["AE"].load()
    assert ae.quarantine.height == 0
    assert ae.frame.filter(AETERM="nausea").get_column("AESTDTC").to_list() == ["2025-02-01T23:10"]
