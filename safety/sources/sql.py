"""Any SQL database as a source: a table or a query per domain, mapped to the canonical tables.

The URL comes from config without its password; the password comes from the environment
variable the config names. Connection failures are retried with backoff, then reported as
SourceUnavailable; a query that the database rejects (a wrong column or table) is reported at once.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import column, create_engine, select, table, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from safety.config import StudyConfig
from safety.sources import Pull, SourceUnavailable
from safety.sources.mapping import (
    DomainMapping,
    Retry,
    Retryable,
    apply_mapping,
    load_mapping,
    pull_from_frames,
    secret_from_env,
    source_options,
    with_retries,
)


class SqlOptions(Retry):
    url: str
    password_env: str | None = None
    mapping: str


def source_engine(opts: SqlOptions, password: str | None) -> Engine:
    url = make_url(opts.url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if password is not None:
        url = url.set(password=password)
    connect_args = {"connect_timeout": max(int(opts.timeout_seconds), 1)} if url.get_backend_name() == "postgresql" else {}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _statement(dm: DomainMapping):  # noqa: ANN202
    if dm.query:
        return text(dm.query)
    schema, _, name = dm.table.rpartition(".")
    fields = sorted(set(dm.columns.values()))
    return select(*(column(f) for f in fields)).select_from(table(name, schema=schema or None))


def read_domain(engine: Engine, dm: DomainMapping) -> pl.DataFrame:
    try:
        with engine.connect() as conn:
            result = conn.execute(_statement(dm))
            names = list(result.keys())
            rows = result.all()
    except OperationalError as exc:
        raise Retryable(f"database unreachable: {exc.orig}") from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Retryable(f"connection lost: {exc.orig}") from None
        raise SourceUnavailable(f"the database rejected the {dm.table or 'query'} read: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise SourceUnavailable(f"cannot read {dm.table or 'query'}: {exc}") from None
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def pull_sql(cfg: StudyConfig, rules_fingerprint: str, lab_units: pl.DataFrame | None = None) -> Pull:
    opts: SqlOptions = source_options(cfg, SqlOptions)
    mapping, mapping_path = load_mapping(cfg, opts.mapping)
    for domain, dm in mapping.domains.items():
        if (dm.table is None) == (dm.query is None):
            raise SourceUnavailable(f"{mapping_path}: domains.{domain}: give exactly one of table or query")
    password = secret_from_env(opts.password_env, "the source database password", cfg.path)
    engine = source_engine(opts, password)
    where = make_url(opts.url).render_as_string(hide_password=True)
    frames, labels = {}, {}
    try:
        for domain, dm in mapping.domains.items():
            raw = with_retries(lambda dm=dm: read_domain(engine, dm), opts, f"SQL source {where}")
            mapped = apply_mapping(raw, domain, dm, mapping.studyid, str(mapping_path))
            # without ORDER BY rows come in physical order, which changes when nothing else does:
            # sorted, the same records give the same fingerprint and quarantine row numbers
            frames[domain] = mapped.sort(mapped.columns, nulls_last=True)
            labels[domain] = f"sql:{dm.table or 'query'}"
    finally:
        engine.dispose()
    return pull_from_frames(where, "sql", frames, mapping, rules_fingerprint, lab_units, labels)
