"""The committee's decisions on DLT candidates: stored, audited, and the only DLTs that count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from safety.store import Store, schema, utcnow

DECISIONS = ("CONFIRMED", "REJECTED")


class DecisionError(ValueError):
    pass


def record_dlt_decision(store: Store, candidate_id: str, decision: str, user: str, comment: str,
                        at: datetime | None = None) -> int:
    """Confirm or reject a DLT candidate of the last cycle; a later decision supersedes an earlier one."""
    decision = decision.upper()
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not user.strip():
        raise DecisionError("a decision needs the name of who made it")
    candidates = store.derived("dlt_candidates")
    if candidates is None or candidate_id not in candidates["CANDIDATE_ID"].to_list():
        raise DecisionError(f"no DLT candidate {candidate_id!r} in the last cycle")
    at = at or utcnow()
    with store.write() as conn:
        new_id = conn.execute(insert(schema.dlt_confirmation).values(
            candidate_id=candidate_id, decision=decision, decided_by=user, decided_at=at, comment=comment,
        )).inserted_primary_key[0]
        store.audit(conn, user, f"dlt.{decision.lower()}", candidate_id, {"comment": comment})
    return new_id
