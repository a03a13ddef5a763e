"""The only two writes the dashboard makes: acknowledging an alert and deciding on a DLT candidate.

Each is one transaction with its audit record, so the audit log can never disagree with the data.
Permission checks are here, not only in the page, because a callback can be called directly.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from safety.store import Store, schema, utcnow

ACK_ROLES = frozenset({"safety_officer", "committee", "admin"})
DLT_ROLES = frozenset({"committee"})
DECISIONS = ("CONFIRMED", "REJECTED")
MAX_COMMENT = 2000


class ActionRefused(PermissionError):
    """The user may not do this, or the request is incomplete; the message is shown to the user."""


def _comment(text: str | None, required: bool) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise ActionRefused("a comment is required")
    if len(text) > MAX_COMMENT:
        raise ActionRefused(f"the comment is longer than {MAX_COMMENT} characters")
    return text or None


def acknowledge_alert(store: Store, alert_id: int, username: str, role: str, comment: str | None) -> None:
    """Mark an alert acknowledged with the user's comment; an alert is acknowledged once."""
    if role not in ACK_ROLES:
        raise ActionRefused(f"the {role} role cannot acknowledge alerts")
    text = _comment(comment, required=True)
    t = schema.alert
    with store.write() as conn:
        row = conn.execute(select(t.c.id, t.c.acknowledged_at).where(t.c.id == alert_id)).first()
        if row is None:
            raise ActionRefused(f"no alert {alert_id}")
        if row.acknowledged_at is not None:
            raise ActionRefused(f"alert {alert_id} is already acknowledged")
        conn.execute(update(t).where(t.c.id == alert_id).values(
            acknowledged_at=utcnow(), acknowledged_by=username, ack_comment=text))
        store.audit(conn, username, "alert_acknowledge", str(alert_id), {"comment": text})


def decide_dlt(store: Store, candidate_id: str, decision: str, username: str, role: str,
               comment: str | None) -> None:
    """Record the committee's decision on a DLT candidate; a later decision supersedes an earlier one."""
    if role not in DLT_ROLES:
        raise ActionRefused("only the committee role can confirm or reject DLT candidates")
    if decision not in DECISIONS:
        raise ActionRefused(f"decision must be one of {', '.join(DECISIONS)}")
    if not candidate_id:
        raise ActionRefused("no candidate selected")
    text = _comment(comment, required=decision == "REJECTED")
    with store.write() as conn:
        conn.execute(insert(schema.dlt_confirmation).values(
            candidate_id=candidate_id, decision=decision, decided_by=username, decided_at=utcnow(), comment=text))
        store.audit(conn, username, "dlt_" + decision.lower(), candidate_id, {"comment": text})


__all__ = ["ACK_ROLES", "DECISIONS", "DLT_ROLES", "ActionRefused", "acknowledge_alert", "decide_dlt"]
