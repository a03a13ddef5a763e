"""Boundary table and operating characteristics of any design, as polars frames for the CLI and the DMC report."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from safety.boundaries.bayes import BayesDesign, bayes_boundary_table, bayes_operating_characteristics
from safety.boundaries.boin import BoinDesign, boin_boundary_table, boin_operating_characteristics
from safety.boundaries.pocock import PocockDesign, pocock_boundary_table, pocock_operating_characteristics
from safety.boundaries.simon import SimonDesign, simon_boundary_table, simon_operating_characteristics
from safety.boundaries.status import Design
from safety.boundaries.three_plus_three import (
    ThreePlusThreeDesign,
    three_plus_three_oc,
    three_plus_three_table,
)


def boundary_table(design: Design) -> pl.DataFrame:
    match design:
        case BayesDesign():
            return bayes_boundary_table(design)
        case PocockDesign():
            return pocock_boundary_table(design)
        case BoinDesign():
            return boin_boundary_table(design)
        case SimonDesign():
            return simon_boundary_table(design)
        case ThreePlusThreeDesign():
            return three_plus_three_table(design)
    raise TypeError(f"not a stopping design: {type(design).__name__}")


def operating_characteristics(design: Design, rates: Sequence[float]) -> pl.DataFrame:
    """Exact OC at the true rates; for 3+3 the rates are the doses' true DLT rates, lowest first."""
    match design:
        case BayesDesign():
            return bayes_operating_characteristics(design, rates)
        case PocockDesign():
            return pocock_operating_characteristics(design, rates)
        case BoinDesign():
            return boin_operating_characteristics(design, rates)
        case SimonDesign():
            return simon_operating_characteristics(design, rates)
        case ThreePlusThreeDesign():
            return three_plus_three_oc(rates, design)
    raise TypeError(f"not a stopping design: {type(design).__name__}")
