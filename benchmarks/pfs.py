"""PFS for 10,000 subjects x 20 assessments: time to build/read the data, then derive_pfs + six_month_rate.

Run: .venv/bin/python benchmarks/pfs.py [N_SUBJECTS] [N_ASSESSMENTS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safety.activity.config import load_pfs_config  # noqa: E402
from safety.activity.pfs import derive_pfs, with_dates  # noqa: E402
from safety.activity.rate import six_month_rate  # noqa: E402


def build(n_subjects: int, n_assessments: int, seed: int = 20240101) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"SUBJ-{i:06d}" for i in range(n_subjects)])
    start = np.datetime64("2023-01-01") + rng.integers(0, 365, n_subjects)
    dm = pl.DataFrame({
        "USUBJID": ids, "RFXSTDTC": start.astype(str),
        "DTHDTC": (start + rng.integers(30, 600, n_subjects)).astype(str), "DIED": rng.random(n_subjects) < 0.05,
    }).with_columns(pl.when("DIED").then(pl.col("DTHDTC")).alias("DTHDTC")).drop("DIED")
    # assessments every 56 days (+/- 7) with occasional long gaps; PD from a random visit on
    visit = np.tile(np.arange(1, n_assessments + 1), n_subjects)
    subj = np.repeat(np.arange(n_subjects), n_assessments)
    offset = visit * 56 + rng.integers(-7, 8, visit.size) + (rng.random(visit.size) < 0.02) * 70
    pd_from = rng.integers(2, n_assessments * 2, n_subjects)[subj]
    response = np.where(visit >= pd_from, "PD", rng.choice(["SD", "PR", "CR", "NON-CR/NON-PD", "NE"], visit.size))
    rs = pl.DataFrame({
        "USUBJID": ids[subj], "RSSEQ": visit, "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
        "RSSTRESC": response, "RSDTC": (start[subj] + offset).astype(str),
    })
    nat = rng.random(n_subjects) < 0.1
    ds = pl.DataFrame({
        "USUBJID": ids[nat], "DSSEQ": 1, "DSDECOD": "NEW ANTICANCER THERAPY", "DSTERM": "NEW ANTICANCER THERAPY",
        "DSSTDTC": (start[nat] + rng.integers(60, 900, int(nat.sum()))).astype(str),
    })
    return dm, rs, ds


def main() -> None:
    n_subjects = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    n_assessments = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    cfg = load_pfs_config()
    t0 = time.perf_counter()
    dm, rs, ds = build(n_subjects, n_assessments)
    t_build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in (("dm", dm), ("rs", rs), ("ds", ds)):
            frame.write_parquet(Path(tmp) / f"{name}.parquet")
        t0 = time.perf_counter()
        # reading = Parquet in, plus the canonical derived dates every stored frame carries
        dm = with_dates(pl.read_parquet(Path(tmp) / "dm.parquet"), "RFXSTDTC")
        dm = with_dates(dm, "DTHDTC")
        rs = with_dates(pl.read_parquet(Path(tmp) / "rs.parquet"), "RSDTC")
        ds = with_dates(with_dates(pl.read_parquet(Path(tmp) / "ds.parquet"), "DSSTDTC"), "DSDTC")
        t_read = time.perf_counter() - t0
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        pfs = derive_pfs(dm, rs, ds, cfg)
        rate = six_month_rate(pfs, cfg)
        runs.append(time.perf_counter() - t0)
    print(f"subjects {n_subjects:,}, RS records {rs.height:,}, DS records {ds.height:,}")
    print(f"build synthetic data      {t_build:8.3f} s")
    print(f"read Parquet + dates      {t_read:8.3f} s")
    print(f"derive_pfs + six_month_rate  best {min(runs):.3f} s, median {sorted(runs)[2]:.3f} s (5 runs)")
    print(f"events {int((pfs['CNSR'] == 0).sum()):,}; evaluable {rate.n_evaluable:,}; "
          f"rate {rate.rate:.3f} [{rate.rate_lower:.3f}, {rate.rate_upper:.3f}]; "
          f"KM S(183) {rate.km_survival:.3f} [{rate.km_lower:.3f}, {rate.km_upper:.3f}]")


if __name__ == "__main__":
    main()
