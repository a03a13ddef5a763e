"""Issue 5 benchmark: the DLT and boundary step against the grading time, on the 2,000-subject study.

Prints: grading time, DLT candidates + status + run-in + Hy's law + toxicity events time,
boundary tables/status/OC time, and the step's share of the grading time (target under 5%);
then the step's main parts, each timed alone.

    .venv/bin/python benchmarks/dlt.py [--subjects 2000] [--lb-rows 5000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import polars as pl

from safety.config import load_config
from safety.demo import export_tables, generate_scaled
from safety.derive import Derived, Inputs, Rules, _boundaries, _dlt
from safety.dlt import dlt_candidates, dlt_status, read_lab_rows
from safety.grading import derive_lab_grades
from safety.hyslaw import hys_law
from safety.schemas import TABLES
from safety.sources.canonical import canonicalize
from safety.toxicity_events import toxicity_events


def best_of(fn, repeat: int = 3) -> tuple[object, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--lb-rows", type=int, default=5_000_000)
    args = ap.parse_args()
    cfg = load_config()
    rules = Rules.load(cfg)
    study = generate_scaled(args.subjects, args.lb_rows)
    raw = export_tables(study, None)
    tables = {d: canonicalize(raw[d.lower()], d, d).frame for d in TABLES if d.lower() in raw}
    data_cut = max(tables["LB"]["LBDT"].max(), date(2000, 1, 1))
    print(f"subjects {tables['DM'].height:,}, LB rows {tables['LB'].height:,}, AE rows {tables['AE'].height:,}")

    graded, grade_s = best_of(lambda: derive_lab_grades(tables["LB"], tables["DM"], rules.criteria), 1)
    print(f"{'grading (CTCAE v5.0)':<44} {grade_s:8.3f} s")

    empty = pl.DataFrame(schema={"CANDIDATE_ID": pl.String, "DECISION": pl.String, "BY": pl.String,
                                 "AT": pl.Datetime("us", "UTC"), "COMMENT": pl.String})

    inputs = Inputs(tables, pl.DataFrame(), empty, pl.DataFrame(), data_cut)

    def dlt_step() -> Derived:
        out = Derived()
        _dlt(out, tables, graded, inputs, rules)
        return out

    out, dlt_s = best_of(dlt_step)
    print(f"{'DLT, run-in, Hys law, toxicity events':<44} {dlt_s:8.3f} s")
    out.tables["pfs"] = pl.DataFrame(schema={"USUBJID": pl.String, "STARTDT": pl.Date, "LMSTAT": pl.String,
                                             "LMPEND": pl.Boolean})
    _, bound_s = best_of(lambda: _boundaries(out, rules))
    print(f"{'boundary status, tables and OC (n <= 40)':<44} {bound_s:8.3f} s")
    share = (dlt_s + bound_s) / grade_s
    print(f"\nDLT + boundary step / grading = {share:6.1%}   (target < 5%)")
    print(f"candidates: {out.tables['dlt_candidates'].height}, Hy's law cases: {out.tables['hyslaw_cases'].height}")
    print("(all designs' tables and operating characteristics for n up to 100: benchmarks/boundaries.py)")
    print("\nthe DLT step's parts, each timed alone:")
    r = rules.dlt
    labs, part_s = best_of(lambda: read_lab_rows(graded, r))
    print(f"  {'graded LB rows the rules read':<42} {part_s:8.3f} s")
    candidates, part_s = best_of(lambda: dlt_candidates(tables["AE"], labs, tables["EX"], tables["DM"], r))
    print(f"  {'DLT candidates from those rows':<42} {part_s:8.3f} s")
    _, part_s = best_of(lambda: hys_law(labs, r))
    print(f"  {'Hys law cases and eDISH from those rows':<42} {part_s:8.3f} s")
    _, part_s = best_of(lambda: dlt_status(tables["DM"], tables["EX"], candidates, empty, r, data_cut, ds=tables["DS"]))
    print(f"  {'DLT status':<42} {part_s:8.3f} s")
    _, part_s = best_of(lambda: toxicity_events(tables["AE"], tables["DM"], tables["EX"], tables["DS"], r, data_cut))
    print(f"  {'toxicity events':<42} {part_s:8.3f} s")


if __name__ == "__main__":
    main()
