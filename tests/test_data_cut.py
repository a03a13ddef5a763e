"""A committee data cut pins the records its derived tables were computed from."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import yaml
from sqlalchemy import func, select

from jobs.data_cut import freeze_data_cut, verify_data_cut
from safety.config import REPO_ROOT, load_config
from safety.cycle import run_cycle
from safety.demo import generate_study, write_study
from safety.ingest import ingest_configured
from safety.store import Store, schema


def newest_changesets(store: Store) -> dict[str, int]:
    ch = schema.changeset
    with store.read() as conn:
        return dict(conn.execute(select(ch.c.domain, func.max(ch.c.id)).group_by(ch.c.domain)).all())


def test_records_ingested_after_the_last_cycle_are_not_in_the_cut(tmp_path, database_url, monkeypatch):
    # The cut shows the committee the records and the results computed from them; an ingest
    # without a cycle after it (or a cycle that failed after its ingest) must not slip newer
    # records in beside older derived tables.
    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", folder)
    study = yaml.safe_load((folder / "study.yaml").read_text())
    study.update(database_url=database_url)
    study["source"]["path"] = str(tmp_path / "sdtm")
    study["jobs"]["data_cut"] = "latest_record"
    (folder / "study.yaml").write_text(yaml.safe_dump(study))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    cfg = load_config(folder / "study.yaml")
    demo = generate_study()
    write_study(demo, tmp_path / "sdtm", as_of=date(2025, 12, 1), fmt="parquet")
    store = Store(cfg.database)
    try:
        run_cycle(cfg, store, now=datetime(2025, 12, 1, 12, tzinfo=UTC), deliver=False)
        read_by_cycle = newest_changesets(store)
        write_study(demo, tmp_path / "sdtm", as_of=date(2026, 3, 1), fmt="parquet")
        ingest_configured(cfg, store)  # three more months of records, no cycle yet
        assert newest_changesets(store) != read_by_cycle
        cut = freeze_data_cut(store, "DMC 1", "statistician")
        assert {d: v["max_changeset_id"] for d, v in cut["manifest"]["domains"].items()} == read_by_cycle
        assert verify_data_cut(store, cut["id"])
        run_cycle(cfg, store, now=datetime(2026, 3, 1, 12, tzinfo=UTC), ingest_first=False, deliver=False)
        later = freeze_data_cut(store, "DMC 2", "statistician")
        assert {d: v["max_changeset_id"] for d, v in later["manifest"]["domains"].items()} == newest_changesets(store)
    finally:
        store.dispose()
