"""config/boundaries.yaml: which stopping designs the trial uses, with their parameters, validated on load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safety.boundaries.bayes import bayes_design
from safety.boundaries.boin import boin_design
from safety.boundaries.pocock import pocock_design
from safety.boundaries.simon import simon_design
from safety.boundaries.status import Design
from safety.boundaries.three_plus_three import three_plus_three_design
from safety.config import ConfigError, config_path, load_model

Probability = Annotated[float, Field(gt=0, lt=1)]
BOUNDARIES_FILE = "boundaries.yaml"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    title: str = ""


class BayesRule(_Rule):
    design: Literal["bayes"]
    prior_a: float = Field(gt=0)
    prior_b: float = Field(gt=0)
    p_max: Probability
    threshold: Probability
    n_min: int = Field(ge=1)
    n_max: int = Field(ge=1)
    look_every: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _looks(self) -> BayesRule:
        if self.n_min > self.n_max:
            raise ValueError(f"n_min ({self.n_min}) must not exceed n_max ({self.n_max})")
        return self


class PocockRule(_Rule):
    design: Literal["pocock"]
    p0: Probability
    alpha: Probability
    n_max: int = Field(ge=1)
    n_min: int = Field(default=1, ge=1)


class SimonRule(_Rule):
    design: Literal["simon"]
    p0: Probability
    p1: Probability
    alpha: Probability
    power: Probability
    criterion: Literal["optimal", "minimax"] = "optimal"
    search_n_max: int = Field(default=70, ge=2, le=200)

    @model_validator(mode="after")
    def _rates(self) -> SimonRule:
        if self.p1 <= self.p0:
            raise ValueError(f"p1 ({self.p1}) must exceed p0 ({self.p0})")
        return self


class BoinRule(_Rule):
    design: Literal["boin"]
    phi: Probability
    phi1: Probability | None = None
    phi2: Probability | None = None
    elimination_cutoff: Probability = 0.95
    elimination_min_n: int = Field(default=3, ge=1)
    cohort_size: int = Field(default=3, ge=1)
    n_max: int = Field(default=18, ge=1)


class ThreePlusThreeRule(_Rule):
    design: Literal["3+3"]


Rule = Annotated[BayesRule | PocockRule | SimonRule | BoinRule | ThreePlusThreeRule, Field(discriminator="design")]


class BoundaryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1)
    oc_rates: list[Probability] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> BoundaryConfig:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique, repeated: {', '.join(dupes)}")
        return self

    def rule(self, id: str) -> Rule:
        for r in self.rules:
            if r.id == id:
                return r
        raise KeyError(f"no boundary rule with id {id!r} (have: {', '.join(r.id for r in self.rules)})")

    def first_of(self, design: str) -> Rule | None:
        return next((r for r in self.rules if r.design == design), None)


def boundaries_path(study_config: Path | str | None = None) -> Path:
    """boundaries.yaml sits beside study.yaml."""
    return config_path(study_config).parent / BOUNDARIES_FILE


def load_boundary_config(path: Path | str) -> BoundaryConfig:
    """Read and validate; ConfigError names the file and the field on any problem."""
    return load_model(BoundaryConfig, Path(path))


def design_from_rule(rule: Rule) -> Design:
    """Build the design (boundaries computed) from one validated rule."""
    common = {"id": rule.id, "version": rule.version}
    match rule:
        case BayesRule():
            return bayes_design(rule.prior_a, rule.prior_b, rule.p_max, rule.threshold, rule.n_min, rule.n_max,
                                rule.look_every, **common)
        case PocockRule():
            return pocock_design(rule.p0, rule.alpha, rule.n_max, rule.n_min, **common)
        case SimonRule():
            return simon_design(rule.p0, rule.p1, rule.alpha, rule.power, rule.criterion, rule.search_n_max,
                                **common)
        case BoinRule():
            return boin_design(rule.phi, rule.phi1, rule.phi2, rule.elimination_cutoff, rule.elimination_min_n,
                               rule.cohort_size, rule.n_max, **common)
        case ThreePlusThreeRule():
            return three_plus_three_design(**common)
    raise TypeError(f"unknown rule type {type(rule).__name__}")


def design_from_config(cfg: BoundaryConfig, id: str) -> Design:
    """The design of rule `id`; ConfigError when the id is unknown or its parameters admit no design."""
    try:
        return design_from_rule(cfg.rule(id))
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    except ValueError as exc:
        raise ConfigError(f"boundary rule {id!r}: {exc}") from None
