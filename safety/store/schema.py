"""The store's tables (SQLAlchemy Core). Alembic migrations in `safety/store/migrations` create them.

Canonical records are kept as changesets: each ingest run writes, per domain, the records that
are new, changed or deleted, as Parquet inside the database, with the version number and the
run that made it. The current state of a domain is the last version of every key; every older
version stays readable. Writing millions of lab rows as a few columnar blobs is what keeps a
full ingest within a few times the time it takes to read the files (issue 3 targets), on
SQLite and PostgreSQL alike. Small, queried-by-row things (runs, quarantine, alerts, users,
audit) are ordinary tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ingest_run = Table(
    "ingest_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("source_kind", String(32), nullable=False),
    Column("fingerprint", String(64)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # running | success | partial (some files rejected) | failed | abandoned (process died)
    Column("status", String(16), nullable=False),
    Column("n_new", BigInteger, default=0),
    Column("n_changed", BigInteger, default=0),
    Column("n_unchanged", BigInteger, default=0),
    Column("n_deleted", BigInteger, default=0),
    Column("n_quarantined", BigInteger, default=0),
    Column("seconds", JSON),  # {"total": s, "read": s, ...}
    Column("message", Text),
    Column("details", JSON),  # per domain: file, fingerprint, counts; file errors
)

changeset = Table(
    "changeset",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("ingest_run.id"), nullable=False),
    Column("domain", String(16), nullable=False),
    Column("part", Integer, nullable=False, default=0),
    Column("n_rows", BigInteger, nullable=False),
    Column("hash_scheme", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Index("ix_changeset_domain", "domain", "id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("ingest_run.id"), nullable=False),
    Column("domain", String(16), nullable=False),
    Column("file", Text, nullable=False),
    Column("source_row", BigInteger),
    Column("record_key", Text),
    Column("reason", Text, nullable=False),
    Column("row_json", Text),
    Index("ix_quarantine_run", "run_id"),
)

derived = Table(
    "derived",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycle.id")),
    Column("rule_version", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("n_rows", BigInteger, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Index("ix_derived_name", "name", "id"),
)

cycle = Table(
    "cycle",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("ingest_run_id", Integer, ForeignKey("ingest_run.id")),
    Column("data_cut", DateTime(timezone=True)),
    Column("steps", JSON),
    Column("message", Text),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text),
    Column("details", JSON),
)

dlt_confirmation = Table(
    "dlt_confirmation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", String(128), nullable=False),
    Column("decision", String(16), nullable=False),  # CONFIRMED | REJECTED
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text),
    Index("ix_dlt_confirmation_candidate", "candidate_id", "id"),
)

susar_submission = Table(
    "susar_submission",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(128), nullable=False),
    Column("report_type", String(32), nullable=False),
    Column("submitted_on", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text),
    UniqueConstraint("case_id", "report_type", name="uq_susar_submission"),
)

listing = Table(
    "listing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("format", String(8), nullable=False),
    Column("params", JSON, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

alert = Table(
    "alert",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # rule|subject|record|version: the same event can never be inserted twice
    Column("event_key", String(512), nullable=False, unique=True),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("delivery", String(16), nullable=False),  # immediate | digest | none
    Column("usubjid", String(64)),
    Column("record_key", Text),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("link", Text),
    Column("recipients", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cycle_id", Integer),
    Column("status", String(16), nullable=False),  # pending | sent | failed | digested | suppressed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("claimed_by", String(128)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(128)),
    Column("ack_comment", Text),
    Index("ix_alert_status", "status", "next_attempt_at"),
)

delivery_attempt = Table(
    "delivery_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alert.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("message_id", String(255)),
)

lease = Table(
    "lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

job_run = Table(
    "job_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(16), nullable=False),  # running | success | failed | skipped
    Column("host", String(128)),
    Column("counts", JSON),
    Column("error", Text),
    # the fire time a scheduler claimed: two schedulers on one database run each fire time once
    Column("scheduled_for", DateTime(timezone=True)),
    Index("ix_job_run_job", "job", "id"),
    UniqueConstraint("job", "scheduled_for", name="uq_job_run_fire_time"),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
)

signal_state = Table(
    "signal_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("signal_key", String(256), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # new | ongoing | closed
    Column("first_seen_cycle", Integer),
    Column("last_seen_cycle", Integer),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("assessment", String(32)),
    Column("assessed_by", String(128)),
    Column("assessed_at", DateTime(timezone=True)),
    Column("assessment_comment", Text),
)

data_cut = Table(
    "data_cut",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("cycle_id", Integer),
    Column("content_sha256", String(64), nullable=False),
    Column("manifest", JSON, nullable=False),
)

# APScheduler's job store (jobs/scheduler.py), created by migration 0003 so that two schedulers
# starting at once do not race to create it; the columns are APScheduler 3.x's own
apscheduler_jobs = Table(
    "apscheduler_jobs",
    metadata,
    Column("id", String(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
