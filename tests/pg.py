"""A throwaway PostgreSQL database per test, on the local server (or VIGIL_TEST_POSTGRES_URL).

Unreachable server: the test is skipped with the reason, or fails when VIGIL_REQUIRE_POSTGRES=1
(CI sets it, so a PostgreSQL test can never pass by being skipped there).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

ADMIN_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _with_driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextmanager
def throwaway_database(prefix: str, admin_url: str | None = None) -> Iterator[str]:
    """Create a fresh database, yield its URL, drop it afterwards (closing any leftover sessions)."""
    admin_url = _with_driver(admin_url or ADMIN_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the same thing here
        admin.dispose()
        problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if os.environ.get("VIGIL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (VIGIL_REQUIRE_POSTGRES=1) but unreachable at {admin_url}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {admin_url} ({problem})")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
