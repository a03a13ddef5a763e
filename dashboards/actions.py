"""The only two writes the dashboard makes: acknowledging an alert and deciding on a DLT candidate.

Each is one transaction with its audit record, so the audit log can never disagree with the data.
Permission checks are here, not only in the page, because a callback can be called directly.
"""

from __future__ import annotations

from safety.store import Store

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
    from safety.alerts import AlertError, acknowledge

    text = _comment(comment, required=True)
    try:
        acknowledge(store, alert_id, username, text)  # the same write, audit and once-only rule as the CLI
    except AlertError as exc:
        raise ActionRefused(str(exc)) from None


def decide_dlt(store: Store, candidate_id: str, decision: str, username: str, role: str,
               comment: str | None) -> None:
    """Record the committee's decision on a DLT candidate; a later decision supersedes an earlier one."""
    if role not in DLT_ROLES:
        raise ActionRefused("only the committee role can confirm or reject DLT candidates")
    if decision not in DECISIONS:
        raise ActionRefused(f"decision must be one of {', '.join(DECISIONS)}")
    if not candidate_id:
        raise ActionRefused("no candidate selected")
    from safety.committee import DecisionError, record_dlt_decision

    text = _comment(comment, required=decision == "REJECTED")
    try:
        record_dlt_decision(store, candidate_id, decision, username, text or "")
    except DecisionError as exc:
        raise ActionRefused(str(exc)) from None


__all__ = ["ACK_ROLES", "DECISIONS", "DLT_ROLES", "ActionRefused", "acknowledge_alert", "decide_dlt"]
