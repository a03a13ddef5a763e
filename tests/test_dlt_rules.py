"""config/dlt.yaml loads, and a bad file is reported by file and field."""

from __future__ import annotations

import pytest
import yaml

from safety.config import ConfigError
from safety.dlt.rules import DEFAULT_DLT_CONFIG, load_dlt_rules


def test_shipped_rules_follow_protocol():
    r = load_dlt_rules()
    assert (r.window.first_day, r.window.last_day) == (1, 28)
    assert (r.evaluability.planned_doses, r.evaluability.min_doses) == (28, 21)
    assert {p.split("-")[0] for p in (x.id for x in r.rules)} == {f"DLT{i}" for i in range(1, 10)}
    assert r.runin.dose_levels == {0: 345, -1: 258, -2: 172}
    assert set(r.related_values) == {"POSSIBLE", "PROBABLE", "DEFINITE", "RELATED", "Y"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["window"].pop("last_day"), "window.last_day: Field required"),
        (lambda d: d["evaluability"].update(min_doses=30), "min_doses is larger than planned_doses"),
        (lambda d: d["rules"][0].pop("threshold"), "rule DLT1 (kind lab) needs threshold"),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "rule ids repeated: DLT1"),
        (lambda d: d["runin"].update(de_escalate_to={0: -3}), "dose levels [-3] have no dose"),
    ],
)
def test_invalid_file_names_file_and_field(tmp_path, change, message):
    data = yaml.safe_load(DEFAULT_DLT_CONFIG.read_text())
    change(data)
    path = tmp_path / "dlt.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_dlt_rules(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
