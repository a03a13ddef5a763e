"""The PFS and FES-PET rules (config/pfs.yaml), validated on load.

A statistician changes the rules in the YAML; a wrong field fails at load with the file and the
field named, never later inside a derivation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safety.config import REPO_ROOT, load_model

DEFAULT_PFS_CONFIG = REPO_ROOT / "config" / "pfs.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseRules(_Strict):
    test_code: str = "OVRLRESP"
    evaluator: str = "INVESTIGATOR"
    accepted_records_only: bool = True
    progression: list[str] = Field(default_factory=lambda: ["PD"], min_length=1)
    adequate: list[str] = Field(default_factory=lambda: ["CR", "PR", "SD", "NON-CR/NON-PD", "PD"], min_length=1)

    @model_validator(mode="after")
    def _progression_is_adequate(self) -> ResponseRules:
        missing = set(self.progression) - set(self.adequate)
        if missing:
            raise ValueError(f"progression responses {sorted(missing)} must also be listed in adequate")
        return self


class DeathRules(_Strict):
    from_dm: bool = True
    ds_decod: list[str] = Field(default_factory=lambda: ["DEATH"])


class NewTherapyRules(_Strict):
    ds_terms: list[str] = Field(default_factory=lambda: ["NEW ANTICANCER THERAPY"])
    assessment_on_start_day_counts: bool = True


class MissedAssessmentRules(_Strict):
    interval_days: int = Field(56, gt=0)
    window_days: int = Field(7, ge=0)
    missed_count: int = Field(2, ge=1)

    @property
    def max_gap_days(self) -> int:
        """Longest gap (days) to an event that still counts it; longer means missed_count+ missed."""
        return self.missed_count * self.interval_days + self.window_days


class SixMonthRateRules(_Strict):
    landmark_day: int = Field(183, gt=1)
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0)
    follow_up_ends: list[str] = Field(default_factory=lambda: [
        "WITHDRAWAL BY SUBJECT", "WITHDRAWAL OF CONSENT", "LOST TO FOLLOW-UP", "STUDY TERMINATED BY SPONSOR"])


class FesPetRules(_Strict):
    methods: list[str] = Field(default_factory=lambda: ["PET", "PET/CT", "FES-PET"], min_length=1)
    suvmax_test_code: str = "SUVMAX"
    avid_flag: str = "TRFESAVD"
    measurable_lesions: list[str] = Field(default_factory=lambda: ["TARGET"], min_length=1)
    min_avid_share: float = Field(0.50, ge=0.0, le=1.0)
    early_scan_window_days: tuple[int, int] = (15, 42)

    @model_validator(mode="after")
    def _window_ordered(self) -> FesPetRules:
        first, last = self.early_scan_window_days
        if not 1 < first <= last:
            raise ValueError("early_scan_window_days must be [first, last] with 1 < first <= last")
        return self


class PfsConfig(_Strict):
    version: str = Field(min_length=1)
    start: Literal["first_dose"] = "first_dose"
    response: ResponseRules = ResponseRules()
    death: DeathRules = DeathRules()
    new_anticancer_therapy: NewTherapyRules = NewTherapyRules()
    missed_assessments: MissedAssessmentRules = MissedAssessmentRules()
    six_month_rate: SixMonthRateRules = SixMonthRateRules()
    fes_pet: FesPetRules = FesPetRules()


def load_pfs_config(path: Path | str = DEFAULT_PFS_CONFIG) -> PfsConfig:
    """Read and validate a pfs.yaml; `ConfigError` names the file and the offending field."""
    return load_model(PfsConfig, Path(path))
