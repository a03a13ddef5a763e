"""The committee data cut: a frozen, hashed snapshot the DMC meeting is reproducible from.

The cut stores no copy of the data: records are versioned and never rewritten, so the derived-table
ids of the last successful cycle and, per domain, the highest changeset that cycle read pin the
exact state; content hashes over those immutable payloads let anyone verify it later. Records
ingested after that cycle (an ingest without a cycle, or a cycle that failed after its ingest) are
not in the cut: the records it shows are those its derived tables were computed from.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, insert, select

from safety.store import Store, payload_matches, schema, utcnow


def data_cut_manifest(store: Store) -> dict[str, Any]:
    ch, dv, cy, ir = schema.changeset, schema.derived, schema.cycle, schema.ingest_run
    with store.read() as conn:
        cycle = conn.execute(select(cy.c.id, cy.c.finished_at, cy.c.data_cut, cy.c.ingest_run_id, cy.c.started_at)
                             .where(cy.c.status == "success").order_by(cy.c.id.desc()).limit(1)).mappings().first()
        newest = select(ch.c.domain, func.max(ch.c.id)).group_by(ch.c.domain)
        if cycle is not None:
            # what the cycle read: its own ingest and those before it (a cycle and an ingest never
            # run at once: they share a lease), or, without an ingest of its own, the runs finished
            # before it started
            read = (ch.c.run_id <= cycle["ingest_run_id"] if cycle["ingest_run_id"] is not None else
                    ch.c.run_id.in_(select(ir.c.id).where(ir.c.finished_at <= cycle["started_at"])))
            newest = newest.where(read)
        maxima = conn.execute(newest).all()
        cycle = None if cycle is None else {k: v for k, v in dict(cycle).items() if k != "started_at"}
        derived: dict[str, Any] = {}
        if cycle is not None:
            rows = conn.execute(select(dv.c.id, dv.c.name, dv.c.rule_version, dv.c.n_rows, dv.c.content_sha256)
                                .where(dv.c.cycle_id == cycle["id"]).order_by(dv.c.id)).mappings()
            for row in rows:
                derived[row["name"]] = {"id": row["id"], "rule_version": row["rule_version"],
                                        "n_rows": row["n_rows"], "content_sha256": row["content_sha256"]}
    # changesets are immutable: hashing their payloads in id order fixes each domain's content
    domains = {d: {"max_changeset_id": m, "content_sha256": _domain_hash(store, d, m)} for d, m in sorted(maxima)}
    return {
        "domains": domains,
        "cycle": None if cycle is None else {k: str(v) if v is not None else None for k, v in dict(cycle).items()},
        "derived": derived,
    }


def manifest_sha256(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()


def freeze_data_cut(store: Store, label: str, user: str) -> dict[str, Any]:
    """Freeze the current state as a labelled cut; a label already frozen is returned unchanged."""
    t = schema.data_cut
    with store.read() as conn:
        existing = conn.execute(select(t).where(t.c.label == label).order_by(t.c.id).limit(1)).mappings().first()
    if existing is not None:
        return dict(existing)
    manifest = data_cut_manifest(store)
    with store.write() as conn:
        values = {"label": label, "created_at": utcnow(), "created_by": user,
                  "cycle_id": (manifest["cycle"] or {}).get("id") and int(manifest["cycle"]["id"]),
                  "content_sha256": manifest_sha256(manifest), "manifest": manifest}
        cut_id = conn.execute(insert(t).values(**values)).inserted_primary_key[0]
        store.audit(conn, user, "data_cut", label, {"id": cut_id, "content_sha256": values["content_sha256"]})
    return {"id": cut_id, **values}


def verify_data_cut(store: Store, cut_id: int) -> bool:
    """Recompute the hashes of what the cut points to; False if anything it froze changed."""
    t = schema.data_cut
    with store.read() as conn:
        row = conn.execute(select(t).where(t.c.id == cut_id)).mappings().one()
    manifest = row["manifest"]
    if manifest_sha256(manifest) != row["content_sha256"]:
        return False
    for domain, info in manifest["domains"].items():
        if _domain_hash(store, domain, info["max_changeset_id"]) != info["content_sha256"]:
            return False
    dv = schema.derived
    with store.read() as conn:
        for info in manifest["derived"].values():
            payload = conn.execute(select(dv.c.payload).where(dv.c.id == info["id"])).scalar_one_or_none()
            # recomputed from the stored bytes, not read back from the row's own hash column
            if payload is None or not payload_matches(payload, info["content_sha256"]):
                return False
    return True


def _domain_hash(store: Store, domain: str, max_id: int) -> str:
    ch = schema.changeset
    digest = hashlib.sha256()
    with store.read() as conn:
        for cid, payload in conn.execute(select(ch.c.id, ch.c.payload).where(
                ch.c.domain == domain, ch.c.id <= max_id).order_by(ch.c.id)):
            digest.update(f"{cid}:".encode())
            digest.update(payload)
    return digest.hexdigest()
