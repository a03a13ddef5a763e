"""One entry point for the monitoring cycle: the status of any configured design against observed counts."""

from __future__ import annotations

from safety.boundaries.bayes import BayesDesign, bayes_status
from safety.boundaries.boin import BoinDesign, boin_status
from safety.boundaries.pocock import PocockDesign, pocock_status
from safety.boundaries.simon import SimonDesign, simon_status
from safety.boundaries.three_plus_three import ThreePlusThreeDesign, three_plus_three_status
from safety.boundaries.types import BoundaryStatus

Design = BayesDesign | PocockDesign | BoinDesign | SimonDesign | ThreePlusThreeDesign


def status(design: Design, events: int, n: int) -> BoundaryStatus:
    """Where the observed counts stand against the design's boundary (see BoundaryStatus for `events`)."""
    match design:
        case BayesDesign():
            return bayes_status(design, events, n)
        case PocockDesign():
            return pocock_status(design, events, n)
        case BoinDesign():
            return boin_status(design, events, n)
        case SimonDesign():
            return simon_status(design, events, n)
        case ThreePlusThreeDesign():
            return three_plus_three_status(design, events, n)
    raise TypeError(f"not a stopping design: {type(design).__name__}")
