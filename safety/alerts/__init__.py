"""Alerts: rules as data (config/alerting.yaml), an outbox that never holds one event twice,
e-mail delivery with retries, the daily digest, and acknowledgements.

The cycle calls `generate_alerts` inside its write transaction and `deliver_pending` after the
commit; the scheduler calls `stale_data_event` / `raise_stale_data_alert`, `deliver_pending` and
`send_digest`; the CLI and dashboard call `list_alerts` and `acknowledge`.
"""

from safety.alerts.delivery import DeliveryReport, SmtpMailer, deliver_pending
from safety.alerts.digest import DigestReport, send_digest
from safety.alerts.events import AlertEvent, AlertRuleError, events_for_rule, stale_data_event
from safety.alerts.outbox import (
    AlertError,
    acknowledge,
    generate_alerts,
    insert_events,
    list_alerts,
    raise_stale_data_alert,
)
from safety.alerts.rules import AlertConfig, Rule, load_alert_config

__all__ = [
    "AlertConfig", "AlertError", "AlertEvent", "AlertRuleError", "DeliveryReport", "DigestReport", "Rule",
    "SmtpMailer", "acknowledge", "deliver_pending", "events_for_rule", "generate_alerts", "insert_events",
    "list_alerts", "load_alert_config", "raise_stale_data_alert", "send_digest", "stale_data_event",
]
