"""Versioned canonical records: compare an incoming domain with the store, write what changed.

A changeset row holds, as Parquet, the new versions a run made for one domain: new and changed
records with their full content, deleted records as their key only. `_VERSION` counts per
natural key from 1; `_OP` is new | changed | deleted | undeleted; `_RUN_ID` is the ingest run.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, insert, select

from safety.schemas import TABLES, key_hash, keys_distinct
from safety.store.schema import changeset

# Row hashes are compared across runs, so a polars upgrade that changed hash_rows would make
# every record look changed; the scheme is stored with each changeset and a mismatch triggers a
# rehash of the stored content instead of trusting the stored hashes.
HASH_SCHEME = f"polars-{pl.__version__}-hash_rows-v1"
HASH_SEEDS = dict(seed=20171127)
PART_ROWS = 500_000
META = ["_KEY", "_HASH", "_VERSION", "_OP", "_RUN_ID"]


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    live: int = 0

    def add(self, other: Counts) -> None:
        for f in ("new", "changed", "unchanged", "deleted", "live"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def content_hash(frame: pl.DataFrame, domain: str) -> pl.Series:
    """A 64-bit hash of each record's declared columns (derived dates follow from the text)."""
    return frame.select(list(TABLES[domain].columns)).hash_rows(**HASH_SEEDS).alias("_HASH")


def _payloads(conn: Connection, domain: str, upto_changeset: int | None = None):
    query = select(changeset.c.id, changeset.c.hash_scheme, changeset.c.payload).where(changeset.c.domain == domain)
    if upto_changeset is not None:
        query = query.where(changeset.c.id <= upto_changeset)
    return conn.execute(query.order_by(changeset.c.id))


def history(conn: Connection, domain: str, upto_changeset: int | None = None,
            columns: list[str] | None = None) -> pl.DataFrame:
    """Every stored version of every record of a domain, oldest first."""
    parts, schemes = [], set()
    for cs_id, scheme, payload in _payloads(conn, domain, upto_changeset):
        part = pl.read_parquet(io.BytesIO(payload), columns=columns)
        parts.append(part.with_columns(pl.lit(cs_id, pl.Int64).alias("_CHANGESET")))
        schemes.add(scheme)
    if not parts:
        from safety.schemas import empty_frame

        base = empty_frame(domain).with_columns(
            pl.lit(None, pl.String).alias("_KEY"), pl.lit(None, pl.UInt64).alias("_HASH"),
            pl.lit(None, pl.Int32).alias("_VERSION"), pl.lit(None, pl.String).alias("_OP"),
            pl.lit(None, pl.Int64).alias("_RUN_ID"), pl.lit(None, pl.Int64).alias("_CHANGESET"),
        )
        return base.select(columns + ["_CHANGESET"]) if columns else base
    out = pl.concat(parts, how="diagonal_relaxed")
    return out.with_columns(pl.lit(len(schemes) == 1 and HASH_SCHEME in schemes).alias("_SCHEME_OK"))


def current(conn: Connection, domain: str, upto_changeset: int | None = None,
            include_deleted: bool = False) -> pl.DataFrame:
    """The latest version of every record (deleted ones dropped unless asked for)."""
    versions = history(conn, domain, upto_changeset)
    latest = versions
    if not keys_distinct(versions.get_column("_KEY")):
        latest = versions.sort("_CHANGESET", maintain_order=True).unique("_KEY", keep="last", maintain_order=True)
    if not include_deleted:
        latest = latest.filter(pl.col("_OP") != "deleted")
    return latest.drop("_SCHEME_OK", strict=False)


def _stored_index(conn: Connection, domain: str) -> pl.DataFrame:
    idx = history(conn, domain, columns=["_KEY", "_HASH", "_VERSION", "_OP"])
    if idx.height and not idx["_SCHEME_OK"][0]:
        full = current(conn, domain, include_deleted=True)
        live = full.filter(pl.col("_OP") != "deleted")
        rehashed = live.select("_KEY", "_VERSION", "_OP").with_columns(content_hash(live, domain))
        gone = full.filter(pl.col("_OP") == "deleted").select("_KEY", "_HASH", "_VERSION", "_OP")
        return pl.concat([rehashed.select(gone.columns), gone])
    if not keys_distinct(idx.get_column("_KEY")):  # some key has several versions (or a hash collides)
        idx = idx.sort("_CHANGESET").unique("_KEY", keep="last")
    return idx.select("_KEY", "_HASH", "_VERSION", "_OP")


def _join_on_key(left: pl.DataFrame, right: pl.DataFrame, how: str) -> pl.DataFrame:
    """left.join(right, on='_KEY', how=how, coalesce=True), joined through a 64-bit hash of the
    key, which is several times faster than joining millions of texts. Exact: a pair of rows whose
    hashes meet but whose keys differ (a collision) makes it redo the join on the texts."""
    hashed = left.with_columns(key_hash("_KEY").alias("_KH"))
    other = right.rename({"_KEY": "_KEY_R"}).with_columns(key_hash("_KEY_R").alias("_KH"))
    joined = hashed.join(other, on="_KH", how=how, coalesce=True)
    if (joined.get_column("_KEY") != joined.get_column("_KEY_R")).any():
        return left.join(right, on="_KEY", how=how, coalesce=True)
    return joined.with_columns(pl.coalesce("_KEY", "_KEY_R").alias("_KEY")).drop("_KH", "_KEY_R")


def write_changes(
    conn: Connection,
    run_id: int,
    domain: str,
    incoming: pl.DataFrame,
    keep_keys: pl.Series | None = None,
    progress: Callable[[int], None] | None = None,
) -> Counts:
    """Store the difference between `incoming` (the whole domain as the source has it now) and the store.

    `keep_keys` are keys the source still has but could not deliver this time (quarantined
    rows): their stored versions are kept, not marked deleted.
    """
    incoming = incoming.with_columns(content_hash(incoming, domain))
    stored = _stored_index(conn, domain)
    if stored.height == 0:
        # a domain's first ingest: every record is new, nothing to compare or delete
        counts = Counts(new=incoming.height, live=incoming.height)
        changes = incoming.with_columns(pl.lit(1, pl.Int32).alias("_VERSION"), pl.lit("new").alias("_OP"))
        _write_parts(conn, run_id, domain, changes, progress)
        return counts
    joined = _join_on_key(incoming.select("_KEY", "_HASH"), stored.rename({"_HASH": "_OLD_HASH"}), how="full")
    in_source = pl.col("_HASH").is_not_null()
    was_live = pl.col("_OP").is_not_null() & (pl.col("_OP") != "deleted")
    status = (
        pl.when(in_source & pl.col("_OP").is_null()).then(pl.lit("new"))
        .when(in_source & (pl.col("_OP") == "deleted")).then(pl.lit("undeleted"))
        .when(in_source & (pl.col("_HASH") != pl.col("_OLD_HASH"))).then(pl.lit("changed"))
        .when(in_source).then(pl.lit("unchanged"))
        .when(was_live).then(pl.lit("deleted"))
        .otherwise(pl.lit("gone"))
    )
    joined = joined.with_columns(status.alias("_STATUS"))
    if keep_keys is not None and keep_keys.len():
        joined = joined.with_columns(
            pl.when((pl.col("_STATUS") == "deleted") & pl.col("_KEY").is_in(keep_keys.implode()))
            .then(pl.lit("kept")).otherwise(pl.col("_STATUS")).alias("_STATUS")
        )
    tally = dict(joined.group_by("_STATUS").len().iter_rows())
    counts = Counts(
        new=tally.get("new", 0) + tally.get("undeleted", 0),
        changed=tally.get("changed", 0),
        unchanged=tally.get("unchanged", 0) + tally.get("kept", 0),
        deleted=tally.get("deleted", 0),
    )
    counts.live = counts.new + counts.changed + counts.unchanged
    versioned = joined.filter(pl.col("_STATUS").is_in(["new", "undeleted", "changed", "deleted"])).select(
        "_KEY",
        (pl.col("_VERSION").fill_null(0) + 1).cast(pl.Int32).alias("_VERSION"),
        pl.col("_STATUS").alias("_OP"),
    )
    if versioned.height == 0:
        return counts
    # The few changed rows are picked out before the join (joining all of `incoming` costs seconds).
    changes = incoming.filter(pl.col("_KEY").is_in(versioned.get_column("_KEY").implode())).join(
        versioned, on="_KEY", how="inner")
    deleted = versioned.filter(pl.col("_OP") == "deleted")
    if deleted.height:
        # the deleted version repeats the last content, so it still says what was deleted
        last = current(conn, domain).drop("_VERSION", "_OP", "_RUN_ID", "_CHANGESET", "_HASH")
        gone = last.join(deleted, on="_KEY", how="inner").with_columns(content_hash(last.join(
            deleted, on="_KEY", how="semi"), domain))
        changes = pl.concat([changes, gone.select(changes.columns)], how="vertical_relaxed")
    _write_parts(conn, run_id, domain, changes, progress)
    return counts


def _write_parts(conn: Connection, run_id: int, domain: str, changes: pl.DataFrame,
                 progress: Callable[[int], None] | None) -> None:
    changes = changes.with_columns(pl.lit(run_id, pl.Int64).alias("_RUN_ID"))
    for part_no, start in enumerate(range(0, changes.height, PART_ROWS)):
        part = changes.slice(start, PART_ROWS)
        buf = io.BytesIO()
        part.write_parquet(buf, compression="zstd", compression_level=1, statistics=False)
        conn.execute(insert(changeset).values(
            run_id=run_id, domain=domain, part=part_no, n_rows=part.height,
            hash_scheme=HASH_SCHEME, payload=buf.getvalue(),
        ))
        if progress is not None:
            progress(part.height)
