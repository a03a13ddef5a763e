"""Send due immediate alerts by SMTP, once each, with retries and exponential back-off.

Each alert is claimed before it is sent (outbox.claim), every attempt is recorded in
delivery_attempt with its error, and a failed attempt schedules the next at
backoff * factor^(attempts-1) (capped). After `retry.max_attempts` the alert is 'failed': the
scheduler stops retrying it (a broken address must not mail every minute), it stays visible, and
an explicit `vigil alerts deliver` (retry_failed=True) tries it again. A server that is down
never makes delivery raise: the alerts wait and the next run sends them.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from safety.alerts import outbox
from safety.alerts.events import as_utc
from safety.alerts.render import alert_message
from safety.alerts.rules import AlertConfig
from safety.config import Settings
from safety.store import HOST, Store


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later, or given up: see `gave_up`)
    retried: int = 0  # failed attempts with a retry scheduled
    gave_up: int = 0  # alerts that reached max_attempts in this run (status 'failed')
    skipped_reason: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "retried": self.retried, "gave_up": self.gave_up,
                "skipped_reason": self.skipped_reason, "errors": self.errors}


class SmtpMailer:
    """One SMTP session, opened on first use and reopened after an error; settings from the environment."""

    def __init__(self, settings: Settings, timeout: float = 30):
        self.settings = settings
        self.timeout = timeout
        self.sender = settings.mail_from or f"vigil@{HOST}"
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        port = s.smtp_port or {"ssl": 465, "starttls": 587}.get(s.smtp_tls, 25)
        if s.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, port, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, port, timeout=self.timeout)
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user and s.smtp_password:
            try:
                smtp.login(s.smtp_user, s.smtp_password)
            except Exception:
                smtp.close()  # a refused login must not leave the connection open until the next attempt
                raise
        return smtp

    def send(self, msg: EmailMessage, to: list[str]) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(msg, from_addr=self.sender, to_addrs=to)
        except Exception:
            self.close()
            raise
        if refused:
            # some recipients accepted: a retry would mail them twice, so record it as sent with the refusals
            raise PartialDelivery(refused)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:  # noqa: BLE001 - the session is gone either way
                pass
            self._smtp = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PartialDelivery(Exception):
    def __init__(self, refused: dict):
        super().__init__("recipients refused: " + ", ".join(f"{k} ({v[0]} {v[1]!r})" for k, v in refused.items()))


def holder_id() -> str:
    return f"{HOST}:{os.getpid()}:{id(object())}"


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def smtp_missing(settings: Settings) -> str | None:
    return None if settings.smtp_host else "VIGIL_SMTP_HOST is not set: alerts stay pending"


def deliver_pending(store: Store, settings: Settings, cfg: AlertConfig, now: dt.datetime | None = None,
                    limit: int = 100, retry_failed: bool = False) -> DeliveryReport:
    """Send due 'immediate' alerts (at most `limit`); never raises for a mail server problem."""
    now = as_utc(now or dt.datetime.now(dt.UTC))
    report = DeliveryReport()
    reason = smtp_missing(settings)
    if reason:
        report.skipped_reason = reason
        return report
    holder = holder_id()
    retry = cfg.retry
    statuses = ("pending", "failed") if retry_failed else ("pending",)
    with SmtpMailer(settings, retry.smtp_timeout_seconds) as mailer:
        for alert_id in outbox.due_ids(store, "immediate", now, limit, retry_failed):
            alert = outbox.claim(store, alert_id, holder, now, retry.claim_seconds, statuses)
            if alert is None:
                continue  # another process took it, or it was sent meanwhile
            to = cfg.addresses(list(alert["recipients"] or []))
            msg = alert_message(cfg.study_id, alert, mailer.sender, to)
            error: str | None = None
            ok = False
            try:
                if not to:
                    raise ValueError(f"no recipient addresses for {alert['recipients']}")
                mailer.send(msg, to)
                ok = True
            except PartialDelivery as exc:
                ok, error = True, describe_error(exc)
            except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never raised
                error = describe_error(exc)
            attempts = int(alert["attempts"] or 0) + 1
            if ok:
                report.sent += 1
                outbox.record_attempt(store, alert_id, holder, now, True, error, msg["Message-ID"], "sent", None)
                continue
            report.failed += 1
            report.errors.append(f"alert {alert_id}: {error}")
            if attempts >= retry.max_attempts:
                report.gave_up += 1
                outbox.record_attempt(store, alert_id, holder, now, False, error, None, "failed", None)
            else:
                report.retried += 1
                next_at = now + dt.timedelta(seconds=retry.next_delay(attempts))
                outbox.record_attempt(store, alert_id, holder, now, False, error, None, "pending", next_at)
    return report
