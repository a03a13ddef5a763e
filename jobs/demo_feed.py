"""The demo study 'arriving' over time: each tick writes the study as known on a later date.

The date advances by `step_days` per tick from `start` and is kept in `feed_state.json` next to
the source folder, so a restarted service continues where it stopped. Files are written to a
temporary folder and moved in one rename each, so a cycle never reads a half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from jobs.config import DemoFeedSchedule
from safety.config import StudyConfig


@lru_cache(maxsize=2)
def _study(seed: int):  # noqa: ANN202 - a DemoStudy; generated once per process
    from safety.demo import generate_study

    return generate_study(seed=seed)


def state_path(folder: Path) -> Path:
    return folder.parent / "feed_state.json"


def next_as_of(folder: Path, feed: DemoFeedSchedule, today: date) -> date:
    path = state_path(folder)
    if path.is_file():
        previous = date.fromisoformat(json.loads(path.read_text())["as_of"])
        return min(previous + timedelta(days=feed.step_days), today)
    return min(feed.start, today)


def write_snapshot(folder: Path, as_of: date, feed: DemoFeedSchedule) -> dict[str, Any]:
    from safety.demo import write_study

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".feed-") as tmp:
        manifest = write_study(_study(feed.seed), Path(tmp), as_of=as_of, fmt=feed.file_format)
        for entry in sorted(Path(tmp).iterdir()):
            os.replace(entry, folder / entry.name)
    state_path(folder).write_text(json.dumps({"as_of": as_of.isoformat()}) + "\n")
    files = getattr(manifest, "files", {}) or {}
    return {"as_of": as_of.isoformat(), "folder": str(folder), "files": len(files)}


def feed_tick(cfg: StudyConfig, feed: DemoFeedSchedule, today: date | None = None) -> dict[str, Any]:
    folder = cfg.source_path
    if folder is None:
        raise ValueError(f"{cfg.path}: the demo feed needs source.path (an SDTM folder)")
    return write_snapshot(folder, next_as_of(folder, feed, today or date.today()), feed)


def reset(folder: Path) -> None:
    """Start the feed over (used by `vigil serve --demo --fresh`)."""
    shutil.rmtree(folder, ignore_errors=True)
    state_path(folder).unlink(missing_ok=True)
