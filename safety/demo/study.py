"""`generate_study`: the whole demo study, every record with the date it reaches the EDC (`_KNOWN`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from safety.demo.adverse_events import ae_frame
from safety.demo.exposure import ex_frame
from safety.demo.labs import dense_schedule, lb_frame, protocol_schedule
from safety.demo.subjects import dm_frame, ds_frame, plan_subjects
from safety.demo.terms import LAB_TESTS, STUDYID
from safety.demo.tumour import tumour_frames

DOMAINS = ("DM", "EX", "AE", "LB", "RS", "TU", "TR", "DS")


@dataclass(frozen=True)
class DemoStudy:
    """All versions of all records. `tables[domain]` has the canonical columns plus `_KNOWN` (Date)."""

    studyid: str
    seed: int
    start: date
    data_cut: date
    plan: pl.DataFrame
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    scaled: bool = False


def _generators(seed: int) -> list[np.random.Generator]:
    # one independent stream per domain: changing how one domain draws leaves the others unchanged
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]


def _build(seed: int, n_subjects: int, start: date, studyid: str, lab_visits: int | None) -> DemoStudy:
    g_plan, g_ae, g_lb, g_tu, _ = _generators(seed)
    plan = plan_subjects(g_plan, n_subjects, start, studyid)
    if lab_visits is None:
        lb = lb_frame(g_lb, plan, protocol_schedule(plan))
    else:
        lb = lb_frame(g_lb, plan, dense_schedule(n_subjects, lab_visits), planted=False)
    tables = {
        "DM": dm_frame(plan),
        "EX": ex_frame(plan),
        "AE": ae_frame(g_ae, plan),
        "LB": lb,
        **tumour_frames(g_tu, plan),
        "DS": ds_frame(plan),
    }
    return DemoStudy(studyid, seed, start, plan["CUT_DATE"][0], plan, {d: tables[d] for d in DOMAINS},
                     scaled=lab_visits is not None)


def generate_study(seed: int = 20261124, n_subjects: int = 60, start: date = date(2025, 1, 6),
                   studyid: str = STUDYID) -> DemoStudy:
    """The demo study: a 7-subject safety run-in, then expansion, enrolled over 18 months from `start`."""
    return _build(seed, n_subjects, start, studyid, None)


def generate_scaled(n_subjects: int = 2000, lb_rows_target: int = 5_000_000, seed: int = 20261124,
                    start: date = date(2025, 1, 6), studyid: str = STUDYID) -> DemoStudy:
    """A benchmark-sized study: the same generators, with weekly labs sized to reach `lb_rows_target`.

    The planted lab values are not placed (the dense schedule has other days); AEs, tumour data and the
    other planted events are as in the demo study.
    """
    per_visit = len(LAB_TESTS)
    visits = max(2, -(-lb_rows_target // (n_subjects * per_visit)))
    return _build(seed, n_subjects, start, studyid, visits)
