"""The DLT rules file (config/dlt.yaml): load it, validate it, name the file and field on error."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safety.config import REPO_ROOT, load_model

DEFAULT_DLT_CONFIG = REPO_ROOT / "config" / "dlt.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    first_day: int = Field(1, ge=1)
    last_day: int = Field(ge=1)


class Evaluability(_Strict):
    drugs: list[str] = Field(min_length=1)
    planned_doses: int = Field(gt=0)
    min_doses: int = Field(gt=0)
    toxicity_reasons: list[str]
    not_a_departure: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _doses(self) -> Evaluability:
        if self.min_doses > self.planned_doses:
            raise ValueError("min_doses is larger than planned_doses")
        return self


class AeException(_Strict):
    terms: list[str] = Field(min_length=1)
    max_grade: int = Field(ge=1, le=5)
    # no duration: the exception applies whatever the duration
    max_duration_hours: float | None = Field(None, gt=0)
    why: str = ""


class Rule(_Strict):
    id: str = Field(min_length=1)
    description: str
    kind: Literal["ae", "lab", "lab_bleeding", "hys_law", "grade5", "interruption"]
    # ae / lab_bleeding
    ae_terms: list[str] = Field(default_factory=list)
    non_haematological: bool = False
    min_grade: int | None = Field(None, ge=1, le=5)
    exceptions: list[AeException] = Field(default_factory=list)
    bleeding_terms_containing: list[str] = Field(default_factory=list)
    within_days: int | None = Field(None, ge=0)
    # lab
    measure: Literal["grade", "uln"] | None = None
    lab_terms: list[str] = Field(default_factory=list)
    lab_tests: list[str] = Field(default_factory=list)
    exclude_lab_terms: list[str] = Field(default_factory=list)
    direction: Literal["low", "high"] | None = None
    threshold: float | None = None
    strict: bool = False
    recovery_below: float | None = None
    recover_to_baseline: bool = False
    # ae and lab: the event must last MORE than this (0 or absent = any duration)
    min_duration_days: float = Field(0, ge=0)
    # grade5
    fatal_outcomes: list[str] = Field(default_factory=lambda: ["FATAL"])
    # interruption
    max_interruption_days: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        need: dict[str, list[str]] = {
            "ae": ["min_grade"],
            "lab": ["measure", "threshold"],
            "lab_bleeding": ["threshold", "min_grade", "within_days"],
            "interruption": ["max_interruption_days"],
        }
        missing = [f for f in need.get(self.kind, []) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"rule {self.id} (kind {self.kind}) needs {', '.join(missing)}")
        if self.kind == "ae" and not (self.ae_terms or self.non_haematological):
            raise ValueError(f"rule {self.id}: give ae_terms or non_haematological: true")
        if self.kind == "lab" and not (self.lab_terms or self.lab_tests or self.non_haematological):
            raise ValueError(f"rule {self.id}: give lab_terms, lab_tests or non_haematological: true")
        if self.kind == "lab" and self.measure == "grade" and self.lab_tests:
            raise ValueError(f"rule {self.id}: a grade rule selects by lab_terms, not lab_tests")
        return self


class RunIn(_Strict):
    cohort: str
    start_level: int
    subjects_per_level: int = Field(gt=0)
    max_dlts_to_confirm: int = Field(ge=0)
    dlts_to_de_escalate: int = Field(gt=0)
    de_escalate_to: dict[int, int]
    dose_levels: dict[int, float]
    dose_drug: str

    @model_validator(mode="after")
    def _levels(self) -> RunIn:
        if self.dlts_to_de_escalate != self.max_dlts_to_confirm + 1:
            raise ValueError("dlts_to_de_escalate must be max_dlts_to_confirm + 1")
        unknown = {self.start_level, *self.de_escalate_to, *self.de_escalate_to.values()} - set(self.dose_levels)
        if unknown:
            raise ValueError(f"dose levels {sorted(unknown)} have no dose in dose_levels")
        return self


class HysLaw(_Strict):
    aminotransferase_uln: float = Field(gt=0)
    bilirubin_uln: float = Field(gt=0)
    bilirubin_within_days: int = Field(ge=0)
    alp_below_uln: float = Field(gt=0)
    edish_x: Literal["max_alt_ast", "alt"] = "max_alt_ast"
    edish_x_line: float = 3
    edish_y_line: float = 2


class ContinuousMonitoring(_Strict):
    min_grade: int = Field(ge=1, le=5)
    within_days: int = Field(gt=0)
    discontinuation_within_days: int | None = Field(None, gt=0)


class DltRules(_Strict):
    version: str = Field(min_length=1)
    window: Window
    evaluability: Evaluability
    related_values: list[str] = Field(min_length=1)
    haematological_terms: list[str]
    lab_tests: dict[Literal["ALT", "AST", "BILI", "ALP"], list[str]]
    rules: list[Rule] = Field(min_length=1)
    runin: RunIn
    hys_law: HysLaw
    continuous_monitoring: ContinuousMonitoring

    @model_validator(mode="after")
    def _unique(self) -> DltRules:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids repeated: {', '.join(dupes)}")
        missing = {"ALT", "AST", "BILI", "ALP"} - set(self.lab_tests)
        if missing:
            raise ValueError(f"lab_tests lacks {sorted(missing)}")
        return self

    def synonyms(self, *codes: str) -> list[str]:
        """Every LBTESTCD spelling of the given canonical codes, upper case."""
        return sorted({s.upper() for c in codes for s in [c, *self.lab_tests[c]]})

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def parse_dlt_rules(data: dict, source: str = "<dict>") -> DltRules:
    return load_model(DltRules, Path(source), data)


def load_dlt_rules(path: str | Path = DEFAULT_DLT_CONFIG) -> DltRules:
    return load_model(DltRules, Path(path))
