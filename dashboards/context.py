"""What every page module receives: the study, the store reader and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from dashboards.data import DataView, StoreReader
from safety.config import StudyConfig
from safety.store import Store


@dataclass
class AppContext:
    cfg: StudyConfig
    store: Store
    reader: StoreReader
    listing_dir: Path
    demo: bool = False


@dataclass
class PageRequest:
    """One render: the data (live or a cut), the query string, the user's role and visit time."""

    view: DataView
    query: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    role: str | None = None
    since: str | None = None

    @classmethod
    def parse_query(cls, search: str | None) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}


__all__ = ["AppContext", "PageRequest"]
