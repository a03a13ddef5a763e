"""`vigil alerts list | ack | deliver` against a real store and a loopback SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import socket

from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from safety.alerts import AlertEvent, insert_events
from safety.cli import app
from safety.store import Store


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(n: int) -> AlertEvent:
    return AlertEvent(event_key=f"susar_new|S-{n}|C-{n}|", rule="susar_new", severity="critical",
                      delivery="immediate", usubjid=f"S-{n}", record_key=f"C-{n}", title=f"New SUSAR C-{n}",
                      body=f"Study: X\nSubject: S-{n}", link="http://127.0.0.1:8050/susars",
                      recipients=["pharmacovigilance"])


def test_list_ack_deliver(study_config, monkeypatch):
    store = Store(study_config.database)
    with store.write() as conn:
        insert_events(conn, [event(1), event(2)], None, dt.datetime.now(dt.UTC))
    store.dispose()
    cfg = ["--config", str(study_config.path)]
    runner = CliRunner()

    listed = json.loads(runner.invoke(app, ["alerts", "list", "--format", "json", *cfg]).stdout)
    assert [r["usubjid"] for r in listed["rows"]] == ["S-2", "S-1"] and listed["count"] == 2
    first = listed["rows"][1]["id"]

    ok = runner.invoke(app, ["alerts", "ack", str(first), "--comment", "seen", "--user", "dr.a", *cfg])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(app, ["alerts", "ack", str(first), "--comment", "x", "--user", "dr.b", *cfg])
    assert again.exit_code != 0 and "already acknowledged by dr.a" in str(again.exception)
    open_ = json.loads(runner.invoke(app, ["alerts", "list", "--unacknowledged", "--format", "json", *cfg]).stdout)
    assert [r["usubjid"] for r in open_["rows"]] == ["S-2"]
    bad = runner.invoke(app, ["alerts", "list", "--status", "nonsense", *cfg])
    assert bad.exit_code != 0

    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        monkeypatch.setenv("VIGIL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VIGIL_SMTP_PORT", str(port))
        monkeypatch.setenv("VIGIL_MAIL_FROM", "vigil@test.example")
        out = runner.invoke(app, ["alerts", "deliver", "--format", "json", *cfg])
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["rows"][0]["sent"] == 2
        out = runner.invoke(app, ["alerts", "deliver", "--format", "json", *cfg])
        assert json.loads(out.stdout)["rows"][0]["sent"] == 0
    finally:
        server.stop()
    assert len(inbox.messages) == 2
    sent = json.loads(runner.invoke(app, ["alerts", "list", "--status", "sent", "--format", "json", *cfg]).stdout)
    assert sent["count"] == 2
