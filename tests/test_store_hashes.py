"""Derived tables carry the SHA-256 of exactly the bytes stored; older rows, hashed over the frame's
NDJSON, still verify, and a changed payload is noticed under either definition."""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl
from sqlalchemy import select

from safety.store import frame_bytes, payload_matches, schema

FRAME = pl.DataFrame({"USUBJID": ["S1", "S2"], "ATOXGRH": pl.Series([3, None], dtype=pl.Int8),
                      "LBDT": [date(2024, 3, 1), date(2024, 3, 2)]})


def test_stored_hash_is_over_the_stored_bytes_and_legacy_hashes_still_verify(store):
    with store.write() as conn:
        row_id = store.put_derived(conn, "lab_worst", FRAME, None, "test v1")
    dv = schema.derived
    with store.read() as conn:
        payload, digest = conn.execute(select(dv.c.payload, dv.c.content_sha256).where(dv.c.id == row_id)).one()
    assert digest == hashlib.sha256(payload).hexdigest()
    assert payload_matches(payload, digest)

    legacy = hashlib.sha256(FRAME.write_ndjson().encode()).hexdigest()
    assert payload_matches(payload, legacy)

    changed = frame_bytes(FRAME.with_columns(pl.lit(4, pl.Int8).alias("ATOXGRH")))
    assert not payload_matches(changed, digest)
    assert not payload_matches(changed, legacy)
