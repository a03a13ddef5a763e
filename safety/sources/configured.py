"""The source a study config names (or a folder given with --source), ready to pull."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from safety.config import StudyConfig
from safety.schemas import TABLES
from safety.sources import Pull, SourceUnavailable
from safety.sources.canonical import CANONICAL_RULES
from safety.store.records import HASH_SCHEME


def lab_units(cfg: StudyConfig) -> pl.DataFrame:
    """(LBTESTCD, LBSTRESU) pairs a lab test may be reported in, from config/lab_units.csv."""
    path = cfg.resolve("lab_units.csv")
    if not path.is_file():
        return pl.DataFrame(schema={"LBTESTCD": pl.String, "LBSTRESU": pl.String})
    table = pl.read_csv(path, comment_prefix="#", infer_schema=False)
    return table.select(
        pl.col("lbtestcd").str.to_uppercase().alias("LBTESTCD"),
        pl.col("from_unit").str.replace_all(" ", "").alias("LBSTRESU"),
    ).unique()


def rules_fingerprint(cfg: StudyConfig, units: pl.DataFrame) -> str:
    """What, besides the files, decides what ingest stores: mapping, unit table, schemas, hashing."""
    parts = {
        "supplemental": cfg.supplemental_map(),
        "units": units.sort(units.columns).write_csv(),
        "schemas": {d: {c: str(t) for c, t in s.columns.items()} for d, s in TABLES.items()},
        "hash": HASH_SCHEME,
        "canonical": CANONICAL_RULES,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def pull_source(cfg: StudyConfig, folder: Path | None = None) -> Pull:
    units = lab_units(cfg)
    kind = "sdtm_files" if folder is not None else cfg.source.kind
    if kind == "sdtm_files":
        from safety.sources.sdtm_folder import pull_folder

        path = folder or cfg.source_path
        if path is None:
            raise SourceUnavailable(f"{cfg.path}: source.path is not set")
        return pull_folder(Path(path), cfg.supplemental_map(), rules_fingerprint(cfg, units), units)
    if kind == "redcap":
        from safety.sources.redcap import pull_redcap

        return pull_redcap(cfg, rules_fingerprint(cfg, units), units)
    if kind == "sql":
        from safety.sources.sql import pull_sql

        return pull_sql(cfg, rules_fingerprint(cfg, units), units)
    raise SourceUnavailable(f"{cfg.path}: source kind {kind!r} is not available")
