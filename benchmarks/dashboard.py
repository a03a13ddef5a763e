"""Time the dashboard's page renders and interactive callbacks (issue 8 targets: < 1 s on the demo
store, < 3 s on a 2,000-subject store), and print the figures.

Each page is timed as Dash serves it: the layout built from the store and serialised to the JSON the
browser receives. "cold" is the first render in the process (Parquet decoded from the store),
"warm" the median of the next renders (decoded frames cached by derived id).

    .venv/bin/python benchmarks/dashboard.py                 # demo store and 2,000 subjects
    .venv/bin/python benchmarks/dashboard.py --skip-large    # demo store only
    .venv/bin/python benchmarks/dashboard.py --lb-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import plotly

DEMO_TARGET = 1.0
LARGE_TARGET = 3.0


def _serialise(component) -> int:
    return len(json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder))


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    out = fn()
    size = _serialise(out)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        _serialise(fn())
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm) if warm else cold, size


def bench_store(label: str, folder: Path, target: float, repeats: int, **build) -> list[dict]:
    from dashboards.app import create_app, render_page
    from dashboards.pages import PAGES, adverse_events, dlt_boundaries, labs, patients

    os.environ.setdefault("VIGIL_SECRET_KEY", "benchmark-only-" + "x" * 32)
    from dashboards.sample_store import build_demo_store

    start = time.perf_counter()
    cfg, store = build_demo_store(folder, **build)
    built = time.perf_counter() - start
    n_subjects = store.current("DM").height
    print(f"\n{label}: {n_subjects} subjects, store built in {built:.1f} s ({cfg.database})")
    app = create_app(cfg, store)
    ctx = app.vigil_context
    rows = []
    for page in PAGES:
        cold, warm, size = _time(lambda p=page: render_page(ctx, p.PATH, role="committee", username="bench"),
                                 repeats)
        rows.append({"store": label, "what": f"page {page.PATH}", "cold": cold, "warm": warm, "bytes": size})
    dm = store.current("DM")
    subject = dm["USUBJID"][dm.height // 2]
    callbacks = {
        "cb patient profile": lambda: patients._profile(ctx, None, subject, "ALT")[0],
        "cb lab trend (ALT)": lambda: labs.lab_trend_figure(ctx.reader.view(None).derived("lb_graded"), "ALT"),
        "cb AE filter (grade>=3)": lambda: adverse_events.filter_events(
            ctx.reader.view(None).derived("ae_events"), ["g3"]).height,
        "cb DLT candidates": lambda: dlt_boundaries._candidates_rows(ctx, None),
    }
    for name, fn in callbacks.items():
        cold, warm, size = _time(fn, repeats)
        rows.append({"store": label, "what": name, "cold": cold, "warm": warm, "bytes": size})
    for row in rows:
        row["ok"] = row["cold"] < target
    store.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="only the 60-subject demo store")
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--lb-rows", type=int, default=5_000_000, help="lab rows in the large store")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-dash-") as tmp:
        results += bench_store("demo", Path(tmp) / "demo", DEMO_TARGET, args.repeats)
        if not args.skip_large:
            results += bench_store(f"{args.subjects} subjects", Path(tmp) / "large", LARGE_TARGET, args.repeats,
                                   n_subjects=args.subjects, lb_rows=args.lb_rows)
    print(f"\n{'store':<16}{'what':<30}{'cold s':>9}{'warm s':>9}{'KB':>9}  target")
    for r in results:
        target = DEMO_TARGET if r["store"] == "demo" else LARGE_TARGET
        verdict = "ok" if r["ok"] else "SLOW"
        print(f"{r['store']:<16}{r['what']:<30}{r['cold']:>9.3f}{r['warm']:>9.3f}{r['bytes'] / 1024:>9.0f}"
              f"  < {target:g} s {verdict}")
    slow = [r for r in results if not r["ok"]]
    print(f"\n{len(results) - len(slow)} of {len(results)} within target (cold)")


if __name__ == "__main__":
    main()
