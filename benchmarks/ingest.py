"""Issue 3 benchmark: ingest of a scaled demo study (2,000 subjects, >= 5 million LB rows).

Prints, measured in one run on SQLite: the time to read the Parquet files, a first full ingest,
a re-ingest with no change, and a re-ingest with 1% of LB rows changed.
Targets: no-change re-ingest within 2x the read time; first ingest within 6x the read time.

    .venv/bin/python benchmarks/ingest.py [--subjects 2000] [--lb-rows 5000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from safety.config import load_config
from safety.demo import generate_scaled, write_study
from safety.ingest import ingest
from safety.sources.configured import pull_source
from safety.store import Store


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<42} {seconds:8.2f} s", flush=True)
    return result, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--lb-rows", type=int, default=5_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    source = work / "sdtm"
    cfg = load_config()

    study, _ = timed("generate scaled study", lambda: generate_scaled(args.subjects, args.lb_rows))
    timed("write Parquet files", lambda: write_study(study, source, fmt="parquet"))
    files = sorted(source.glob("*.parquet"))
    frames, read_s = timed("read the files (polars)", lambda: [pl.read_parquet(f) for f in files])
    n_rows = sum(f.height for f in frames)
    n_lb = next(f.height for p, f in zip(files, frames, strict=True) if p.stem == "lb")
    print(f"{'rows in files / of which LB':<42} {n_rows:>12,} / {n_lb:,}")
    del frames

    db = work / "bench.db"
    db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    first, first_s = timed("first full ingest (SQLite)", lambda: ingest(store, pull_source(cfg, source)))
    same, same_s = timed("re-ingest, no change", lambda: ingest(store, pull_source(cfg, source)))

    lb_path = source / "lb.parquet"
    lb = pl.read_parquet(lb_path)
    every = 100  # 1% of rows
    lb = lb.with_columns(
        pl.when(pl.int_range(pl.len()) % every == 0).then(pl.col("LBSTRESN") * 1.05).otherwise(pl.col("LBSTRESN"))
    )
    lb.write_parquet(lb_path)
    del lb
    changed, changed_s = timed("re-ingest, 1% of LB rows changed", lambda: ingest(store, pull_source(cfg, source)))

    print()
    print(f"first ingest: {first.counts.new:,} new, {first.quarantined:,} quarantined")
    print(f"no change:    {same.counts.new + same.counts.changed:,} new or changed versions")
    print(f"1% changed:   {changed.counts.changed:,} changed versions")
    print(f"database size: {db.stat().st_size / 2**20:,.0f} MiB")
    print()
    print(f"no-change re-ingest / read  = {same_s / read_s:5.2f}x   (target <= 2x)")
    print(f"first ingest / read         = {first_s / read_s:5.2f}x   (target <= 6x)")
    print(f"1% changed re-ingest / read = {changed_s / read_s:5.2f}x")


if __name__ == "__main__":
    main()
