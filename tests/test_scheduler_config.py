"""The `jobs:` section: validation errors name the file and field; triggers are shared by processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from jobs.config import load_jobs_config
from safety.config import REPO_ROOT, ConfigError, StudyConfig, load_config


def cfg_with(tmp_path: Path, jobs: dict) -> StudyConfig:
    data = yaml.safe_load((REPO_ROOT / "config" / "study.yaml").read_text()) | {"jobs": jobs}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


@pytest.mark.parametrize("jobs, field", [
    ({"cycle": {"every": "fortnightly"}}, "jobs.cycle.every"),
    ({"digest": {"every": "1m", "cron": "0 7 * * *"}}, "jobs.digest"),
    ({"susar_listing": {"cron": "0 6 * *"}}, "jobs.susar_listing.cron"),
    ({"cylce": {"every": "1m"}}, "jobs.cylce"),
])
def test_invalid_jobs_section_names_file_and_field(tmp_path, jobs, field):
    with pytest.raises(ConfigError) as err:
        load_jobs_config(cfg_with(tmp_path, jobs))
    assert str(tmp_path / "study.yaml") in str(err.value) and field in str(err.value)


def test_interval_fire_times_do_not_depend_on_when_a_process_starts(tmp_path):
    jobs = load_jobs_config(cfg_with(tmp_path, {"cycle": {"every": "15m"}}))
    a = jobs.cycle.trigger("UTC").get_next_fire_time(None, datetime(2026, 11, 24, 10, 7, 3, tzinfo=UTC))
    b = jobs.cycle.trigger("UTC").get_next_fire_time(None, datetime(2026, 11, 24, 10, 14, 59, tzinfo=UTC))
    assert a == b == datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
    assert set(jobs.schedules()) == {"cycle", "delivery", "digest", "susar_listing", "committee_cut"}
