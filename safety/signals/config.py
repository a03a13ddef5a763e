"""The signal detection rules (config/signals.yaml), validated on load."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.config import config_path, load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PRRRule(_Strict):
    min_prr: float = Field(2.0, gt=0)
    min_chi2: float = Field(4.0, ge=0)
    min_a: int = Field(3, ge=1)


class RORRule(_Strict):
    min_lower_95: float = Field(1.0, gt=0)
    min_a: int = Field(3, ge=1)


class ICRule(_Strict):
    min_ic025: float = 0.0


class EBGMRule(_Strict):
    min_eb05: float = Field(2.0, gt=0)


class GPSSettings(_Strict):
    starts: list[tuple[float, float, float, float, float]] = Field(
        default_factory=lambda: [(0.2, 0.1, 2.0, 4.0, 1 / 3)], min_length=1
    )
    min_count: int = Field(1, ge=1)
    log_expected_bin_width: float = Field(0.01, ge=0)

    @field_validator("starts")
    @classmethod
    def _positive(cls, starts: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
        for i, s in enumerate(starts):
            if min(s[:4]) <= 0 or not 0 < s[4] < 1:
                raise ValueError(f"start {i}: alpha and beta must be > 0 and 0 < P < 1")
        return starts


class DisproportionalityRules(_Strict):
    prr: PRRRule = PRRRule()
    ror: RORRule = RORRule()
    ic: ICRule = ICRule()
    ebgm: EBGMRule = EBGMRule()
    overall_min_methods: int = Field(1, ge=1, le=4)
    gps: GPSSettings = GPSSettings()


class ObservedExpectedRules(_Strict):
    margin: float = Field(0.05, ge=0, lt=1)
    prior_weight: float = Field(10.0, gt=0)
    posterior_threshold: float = Field(0.8, gt=0, lt=1)
    min_subjects_unlisted: int = Field(2, ge=1)
    ci_level: float = Field(0.95, gt=0, lt=1)
    unknown_rate: float = Field(0.01, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _allowance_moved(cls, data: Any) -> Any:
        # One allowance, with the rule that makes the combination's reference rate (it was also
        # here, and the two added up).
        if isinstance(data, dict) and "combination_allowance" in data:
            raise ValueError("combination_allowance is set in rsi.yaml (combination.additive_allowance), "
                             "with the rest of the combination's reference rate")
        return data


class SignalConfig(_Strict):
    version: str = Field(min_length=1)
    effective_date: date | None = None
    disproportionality: DisproportionalityRules = DisproportionalityRules()
    observed_vs_expected: ObservedExpectedRules = ObservedExpectedRules()


def signals_config_path(study_config: Path | str | None = None) -> Path:
    """config/signals.yaml lives beside the study's study.yaml."""
    return config_path(study_config).parent / "signals.yaml"


def load_signal_config(path: Path | str | None = None) -> SignalConfig:
    """Load signals.yaml; `path` is the file itself, or None for the one beside study.yaml.

    Raises `safety.config.ConfigError` naming the file and field when invalid.
    """
    resolved = Path(path).resolve() if path is not None else signals_config_path()
    return load_model(SignalConfig, resolved)
