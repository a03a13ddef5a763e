"""Disproportionality end to end on 20 million drug-event rows (5,000 drugs, 10,000 events).

Prints the wall time of every method end to end (counting, PRR/ROR, IC, GPS fit and EBGM
quantiles, flags) and the peak resident memory. Target: < 60 s and < 8 GiB on 2 cores.
Usage: .venv/bin/python benchmarks/signals.py [--rows 20000000] [--seed 9]
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import polars as pl
import psutil

from safety.signals.config import load_signal_config, signals_config_path
from safety.signals.disproportionality import run_disproportionality


def synthetic_reports(rows: int, drugs: int, events: int, seed: int) -> pl.DataFrame:
    """Reports with 1-8 drug-event rows each; drugs and events drawn with Zipf-like skew."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=rows // 4)
    report_id = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)[:rows]

    def skewed(k: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, k + 1) ** 1.1
        return rng.choice(k, size=report_id.size, p=weights / weights.sum()).astype(np.int32)

    drug, event = skewed(drugs), skewed(events)
    # a few strong drug-event associations so that something is flagged
    boost = rng.random(report_id.size) < 0.01
    event[boost] = (drug[boost] * 7 + 13) % events
    return pl.DataFrame({"report_id": report_id, "drug": drug, "event": event})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    cfg = load_signal_config(signals_config_path())
    t0 = time.perf_counter()
    reports = synthetic_reports(args.rows, 5_000, 10_000, args.seed)
    t1 = time.perf_counter()
    result, prior = run_disproportionality(reports, cfg)
    t2 = time.perf_counter()
    stop.set()
    peak[0] = max(peak[0], proc.memory_info().rss)
    print(f"rows {reports.height:,}  reports {reports['report_id'].n_unique():,}  cells {result.height:,}")
    print(f"generate {t1 - t0:.1f} s")
    print(f"all methods end to end {t2 - t1:.1f} s")
    print(f"prior alpha1={prior.alpha1:.4g} beta1={prior.beta1:.4g} alpha2={prior.alpha2:.4g} "
          f"beta2={prior.beta2:.4g} P={prior.p:.4g} (fit on {prior.n_points:,} squashed points)")
    print(f"flagged: PRR {result['flag_prr'].sum():,}  ROR {result['flag_ror'].sum():,}  "
          f"IC {result['flag_ic'].sum():,}  EBGM {result['flag_ebgm'].sum():,}  any {result['signal'].sum():,}")
    print(f"peak RSS {peak[0] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
