"""Field-to-SDTM mapping shared by the REDCap and SQL sources, and their retry policy.

A mapping file (config/sources/*.yaml) says, per canonical domain, which source field feeds
which SDTM column, which coded values become which SDTM values (e.g. 1 -> 'Y'), and constants.
The mapped frame is all text, SDTM-named, ready for `canonicalize`, which types and validates it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from safety.config import StudyConfig, load_model
from safety.schemas import TABLES
from safety.sources import DomainPull, Pull, SourceUnavailable
from safety.sources.canonical import Canonical, canonicalize

log = logging.getLogger(__name__)
T = TypeVar("T")
_SPACED_DATETIME = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomainMapping(_Strict):
    # REDCap: the instrument; `repeating` picks its repeat instances (redcap_repeat_instrument)
    form: str | None = None
    repeating: bool = False
    # REDCap repeating instruments: the --SEQ column filled from redcap_repeat_instance if unmapped
    sequence: str | None = None
    # SQL: a table (only the mapped columns are read) or a query
    table: str | None = None
    query: str | None = None
    columns: dict[str, str] = Field(min_length=1)  # SDTM column -> source field
    recode: dict[str, dict[str, str]] = Field(default_factory=dict)  # SDTM column -> {source: SDTM}
    constants: dict[str, str] = Field(default_factory=dict)


class SourceMapping(_Strict):
    studyid: str | None = None
    domains: dict[str, DomainMapping]

    @model_validator(mode="after")
    def _known(self) -> SourceMapping:
        for domain, dm in self.domains.items():
            if domain not in TABLES:
                raise ValueError(f"domains.{domain}: not a canonical domain ({', '.join(TABLES)})")
            unknown = [c for c in [*dm.columns, *dm.constants, *dm.recode] if c not in TABLES[domain].columns]
            if unknown:
                raise ValueError(f"domains.{domain}: {', '.join(unknown)} not a column of {domain}")
        return self


class Retry(_Strict):
    timeout_seconds: float = Field(default=30, gt=0)
    attempts: int = Field(default=3, ge=1)
    backoff_seconds: float = Field(default=2, ge=0)


class Retryable(Exception):
    """A failure worth trying again (timeout, connection, server error, garbage body)."""


def with_retries(fetch: Callable[[], T], retry: Retry, what: str) -> T:
    last: Exception | None = None
    for attempt in range(retry.attempts):
        try:
            return fetch()
        except Retryable as exc:
            last = exc
            log.warning("%s: attempt %d of %d failed: %s", what, attempt + 1, retry.attempts, exc)
            if attempt + 1 < retry.attempts:
                time.sleep(retry.backoff_seconds * 2**attempt)
    raise SourceUnavailable(f"{what}: {last} (after {retry.attempts} attempts)")


def load_mapping(cfg: StudyConfig, relative: str) -> tuple[SourceMapping, Path]:
    path = cfg.resolve(relative)
    return load_model(SourceMapping, path), path


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, dates as ISO 8601: canonicalize types them by the SDTM schema."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            exprs.append(col.dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.strftime("%Y-%m-%dT%H:%M:%S"))
        elif dtype == pl.Null:
            exprs.append(col.cast(pl.String))
        else:
            exprs.append(col.cast(pl.String))
    return frame.select(exprs)


def apply_mapping(raw: pl.DataFrame, domain: str, dm: DomainMapping, studyid: str | None,
                  where: str) -> pl.DataFrame:
    """Source fields -> SDTM columns, recoded; `where` names the mapping file for errors."""
    missing = sorted({src for src in dm.columns.values() if src not in raw.columns})
    if missing:
        raise SourceUnavailable(f"{where}: domains.{domain}.columns: field(s) {', '.join(missing)} "
                                f"not in the source's {dm.form or dm.table or 'query'} data")
    exprs = [pl.col(src).alias(sdtm) for sdtm, src in dm.columns.items()]
    exprs += [pl.lit(value, pl.String).alias(sdtm) for sdtm, value in dm.constants.items() if sdtm not in dm.columns]
    mapped = as_text(raw.select(exprs))
    # REDCap (and SQLite) write a datetime as 'YYYY-MM-DD HH:MM[:SS]': ISO 8601 puts a T there
    dates = [c for c in TABLES[domain].dates if c in mapped.columns]
    mapped = mapped.with_columns(pl.col(c).str.replace(_SPACED_DATETIME, "${1}T${2}") for c in dates)
    mapped = mapped.with_columns(
        pl.col(c).replace(codes) for c, codes in dm.recode.items() if c in mapped.columns
    ).with_columns(pl.lit(domain).alias("DOMAIN"))
    if "STUDYID" not in mapped.columns:
        if studyid is None:
            raise SourceUnavailable(f"{where}: set studyid, or map STUDYID for domain {domain}")
        mapped = mapped.with_columns(pl.lit(studyid).alias("STUDYID"))
    return mapped


def domain_fingerprint(frame: pl.DataFrame, dm: DomainMapping, rules_fingerprint: str) -> str:
    content = hashlib.sha256(frame.write_csv().encode()).hexdigest()
    mapping = json.dumps(dm.model_dump(), sort_keys=True)
    return hashlib.sha256((content + mapping + rules_fingerprint).encode()).hexdigest()


def pull_from_frames(source: str, kind: str, frames: dict[str, pl.DataFrame], mapping: SourceMapping,
                     rules_fingerprint: str, lab_units: pl.DataFrame | None, labels: dict[str, str]) -> Pull:
    """A Pull over already-mapped SDTM frames; an unchanged domain is skipped by its fingerprint."""
    pull = Pull(source=source, kind=kind)
    for domain, frame in frames.items():
        dm = mapping.domains[domain]
        label = labels[domain]

        def load(frame: pl.DataFrame = frame, domain: str = domain, label: str = label) -> Canonical:
            return canonicalize(frame, domain, label, lab_units if domain == "LB" else None)

        pull.domains[domain] = DomainPull(domain, [label], domain_fingerprint(frame, dm, rules_fingerprint), load)
    return pull


def secret_from_env(env_name: str | None, what: str, config_path: Path) -> str | None:
    import os

    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise SourceUnavailable(f"{config_path}: {what} is read from the environment variable {env_name}, "
                                "which is not set")
    return value


def source_options(cfg: StudyConfig, model: type[BaseModel]) -> Any:
    """The `source:` section validated for one kind (extra fields are kind-specific)."""
    data = cfg.source.model_dump()
    data.pop("kind", None)
    data.pop("path", None)
    return load_model(model, cfg.path, data=data)
