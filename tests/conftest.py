"""Shared fixtures: the public SDTM data, and a fresh database per test.

The database is SQLite in the test's temporary folder unless VIGIL_TEST_DATABASE_URL names a
PostgreSQL server, in which case each test gets its own database on that server (created and
dropped here), so the same suite runs against both (CI runs it once each way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pg import throwaway_database

REPO = Path(__file__).resolve().parents[1]
SDTM = (REPO / ".." / "shared" / "data" / "sdtm").resolve()


@pytest.fixture(scope="session")
def sdtm_dir() -> Path:
    if not SDTM.is_dir():
        pytest.skip(f"public SDTM data not found at {SDTM} (expected ../shared/data/sdtm beside the repo)")
    return SDTM


@pytest.fixture
def database_url(tmp_path: Path):
    base = os.environ.get("VIGIL_TEST_DATABASE_URL")
    if not base or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'vigil.db'}"
        return
    with throwaway_database("vigil_t", base) as url:
        yield url


@pytest.fixture
def store(database_url):
    from safety.store import Store

    s = Store(database_url)
    yield s
    s.dispose()


@pytest.fixture
def study_config(tmp_path: Path, database_url: str, monkeypatch):
    """A copy of the repo's config folder pointing at this test's database and a temp source."""
    import shutil

    import yaml

    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    study = yaml.safe_load((folder / "study.yaml").read_text())
    study["database_url"] = database_url
    study["source"]["path"] = str(tmp_path / "source")
    (folder / "study.yaml").write_text(yaml.safe_dump(study))
    from safety.config import load_config

    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    return load_config(folder / "study.yaml")
