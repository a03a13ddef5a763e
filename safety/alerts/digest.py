"""The daily digest: one message per recipient group (or address) with its digest alerts since the last digest.

Digest alerts wait as 'pending' with delivery 'digest'. A digest run claims them (as immediate
delivery does, so two runs never send the same alert), sends one message per recipient entry,
and marks an alert 'digested' once every entry it names has received it. An alert whose message
to some entry failed is released and comes again in the next digest (and so may reach the other
entries twice; a digest is a summary, not the record).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from safety.alerts import outbox
from safety.alerts.delivery import SmtpMailer, describe_error, holder_id, smtp_missing
from safety.alerts.events import as_utc
from safety.alerts.render import digest_message
from safety.alerts.rules import AlertConfig
from safety.config import Settings
from safety.store import Store


@dataclass
class DigestReport:
    messages: int = 0
    alerts: int = 0
    failed_messages: int = 0
    skipped_reason: str | None = None
    errors: list[str] = field(default_factory=list)


def send_digest(store: Store, settings: Settings, cfg: AlertConfig, now: dt.datetime | None = None,
                limit: int = 1000) -> DigestReport:
    now = as_utc(now or dt.datetime.now(dt.UTC))
    report = DigestReport()
    reason = smtp_missing(settings)
    if reason:
        report.skipped_reason = reason
        return report
    holder = holder_id()
    claimed = []
    for alert_id in outbox.due_ids(store, "digest", now, limit):
        alert = outbox.claim(store, alert_id, holder, now, cfg.retry.claim_seconds)
        if alert is not None:
            claimed.append(alert)
    by_entry: dict[str, list[dict]] = defaultdict(list)
    for alert in claimed:
        for entry in alert["recipients"] or []:
            by_entry[entry].append(alert)
    failed_alerts: dict[int, str] = {}
    message_ids: dict[int, list[str]] = defaultdict(list)
    with SmtpMailer(settings, cfg.retry.smtp_timeout_seconds) as mailer:
        for entry, alerts in sorted(by_entry.items()):
            to = cfg.addresses([entry])
            msg = digest_message(cfg.study_id, entry, alerts, mailer.sender, to)
            try:
                if not to:
                    raise ValueError(f"no recipient addresses for {entry}")
                mailer.send(msg, to)
                report.messages += 1
                for a in alerts:
                    message_ids[a["id"]].append(msg["Message-ID"])
            except Exception as exc:  # noqa: BLE001 - recorded, retried at the next digest
                report.failed_messages += 1
                error = f"digest to {entry}: {describe_error(exc)}"
                report.errors.append(error)
                for a in alerts:
                    failed_alerts[a["id"]] = error
    for alert in claimed:
        error = failed_alerts.get(alert["id"])
        ok = error is None
        outbox.record_attempt(store, alert["id"], holder, now, ok, error,
                              " ".join(message_ids[alert["id"]])[:255] or None, "pending",
                              None if ok else now, sent_status="digested")
        report.alerts += int(ok)
    return report
