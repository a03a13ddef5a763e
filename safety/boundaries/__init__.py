"""Stopping boundaries: tables, exact operating characteristics and current status for each design.

Designs: Bayesian beta-binomial monitoring (bayes), Ivanova-Qaqish-Schell Pocock-type boundary
(pocock), BOIN (boin), 3+3 (three_plus_three), Simon two-stage (simon). Every probability is
computed exactly from binomial / beta distributions, never by simulation.
"""

from safety.boundaries.bayes import BayesDesign, bayes_design
from safety.boundaries.boin import BoinDesign, boin_design
from safety.boundaries.config import BoundaryConfig, boundaries_path, design_from_config, load_boundary_config
from safety.boundaries.pocock import PocockDesign, pocock_design
from safety.boundaries.report import boundary_table, operating_characteristics
from safety.boundaries.simon import SimonDesign, SimonSearch, simon_design, simon_search
from safety.boundaries.status import Design, status
from safety.boundaries.three_plus_three import ThreePlusThreeDesign, three_plus_three_design
from safety.boundaries.types import BoundaryStatus

__all__ = [
    "BayesDesign", "BoinDesign", "BoundaryConfig", "BoundaryStatus", "Design", "PocockDesign", "SimonDesign",
    "SimonSearch", "ThreePlusThreeDesign", "bayes_design", "boin_design", "boundaries_path", "boundary_table",
    "design_from_config", "load_boundary_config", "operating_characteristics", "pocock_design", "simon_design",
    "simon_search", "status", "three_plus_three_design",
]
