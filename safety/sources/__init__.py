"""Sources: where records come from. Each maps its data to the canonical tables, once.

A source's `pull()` says, per domain, what it has (a fingerprint) and how to load it; loading
is deferred so an unchanged domain costs only its fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from safety.sources.canonical import Canonical, canonicalize, merge_supplemental
from safety.sources.files import SourceFileError


@dataclass
class DomainPull:
    domain: str
    files: list[str]
    fingerprint: str
    load: Callable[[], Canonical]


@dataclass
class Pull:
    source: str
    kind: str
    domains: dict[str, DomainPull] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # whole files that could not be used
    skipped: list[str] = field(default_factory=list)  # files that are not canonical domains


class SourceUnavailable(RuntimeError):
    """The source could not be reached or read at all; nothing stored is touched."""


__all__ = [
    "Canonical", "DomainPull", "Pull", "SourceFileError", "SourceUnavailable", "canonicalize", "merge_supplemental",
]
