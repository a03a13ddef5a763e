"""Time every boundary table and exact operating characteristic up to n = 100, and the Simon search.

Run: .venv/bin/python benchmarks/boundaries.py
"""

from __future__ import annotations

import time

from safety.boundaries import (
    bayes_design,
    boin_design,
    boundary_table,
    operating_characteristics,
    pocock_design,
    simon_search,
    three_plus_three_design,
)

RATES = [0.05 * k for k in range(1, 20)]
DOSE_RATES = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6]  # 3+3: true DLT rate of each of 8 doses


def timed(label: str, fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best * 1000:9.1f} ms")
    return best


def all_designs_n100() -> None:
    for design in (
        bayes_design(0.3, 0.7, 0.30, 0.90, 6, 100),
        pocock_design(0.30, 0.10, 100),
        boin_design(0.30, n_max=100),
        three_plus_three_design(),
    ):
        boundary_table(design)
        rates = DOSE_RATES if design.id == "3+3" else RATES
        operating_characteristics(design, rates)


def main() -> None:
    print(f"{'what':<58} {'best of 5':>12}")
    timed("bayes N=100: design + table + OC at 19 rates",
          lambda: operating_characteristics(bayes_design(0.3, 0.7, 0.3, 0.9, 6, 100), RATES))
    timed("pocock N=100: gamma search + table + OC at 19 rates",
          lambda: (d := pocock_design(0.3, 0.1, 100), boundary_table(d), operating_characteristics(d, RATES)))
    timed("boin n<=100: table + decision probabilities",
          lambda: (d := boin_design(0.3, n_max=100), boundary_table(d), operating_characteristics(d, RATES)))
    timed("3+3: exact OC, 8 doses", lambda: operating_characteristics(three_plus_three_design(), DOSE_RATES))
    timed("3+3: exact OC, 12 doses (the maximum)",
          lambda: operating_characteristics(three_plus_three_design(), [0.04 * k for k in range(1, 13)]))
    total = timed("ALL of the above designs at n=100 (target < 1 s)", all_designs_n100)
    timed("simon search n<=70 (p0 .35, p1 .55): optimal + minimax", lambda: simon_search(0.35, 0.55), repeat=3)
    timed("simon search n<=100 (p0 .35, p1 .55)", lambda: simon_search(0.35, 0.55, n_max=100), repeat=1)
    print("OK" if total < 1.0 else "SLOW: all designs took more than 1 s")


if __name__ == "__main__":
    main()
