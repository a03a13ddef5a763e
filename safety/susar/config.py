"""The pharmacovigilance rules (`config/pharmacovigilance.yaml`): causality values and clocks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.config import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _upper(values: list[str]) -> list[str]:
    return [v.strip().upper() for v in values]


class SuspectDrug(_Strict):
    drug: str = Field(min_length=1)
    causality_column: str = Field(pattern=r"^[A-Z][A-Z0-9]*$")
    code: str = Field(pattern=r"^[A-Z0-9]{1,8}$")

    @field_validator("drug")
    @classmethod
    def _drug_upper(cls, v: str) -> str:
        return v.strip().upper()


class Clocks(_Strict):
    fatal_or_life_threatening_days: int = Field(default=7, ge=1)
    fatal_followup_days: int = Field(default=8, ge=1)
    other_days: int = Field(default=15, ge=1)
    due_soon_days: int = Field(default=2, ge=0)


class PvConfig(_Strict):
    version: str = Field(min_length=1)
    suspected_relatedness: list[str] = Field(min_length=1)
    not_suspected_relatedness: list[str] = Field(default_factory=list)
    missing_or_unrecognised_is_suspected: bool = True
    suspect_drugs: list[SuspectDrug] = Field(min_length=1)
    clocks: Clocks = Clocks()
    # Which date picks the RSI version an event is judged against (rsi.yaml `superseded`).
    rsi_in_force_at: Literal["onset", "awareness"] = "onset"

    @field_validator("suspected_relatedness", "not_suspected_relatedness")
    @classmethod
    def _normalise(cls, values: list[str]) -> list[str]:
        return _upper(values)

    @model_validator(mode="after")
    def _disjoint(self) -> PvConfig:
        both = sorted(set(self.suspected_relatedness) & set(self.not_suspected_relatedness))
        if both:
            raise ValueError(f"values in both suspected and not-suspected lists: {', '.join(both)}")
        codes = [d.code for d in self.suspect_drugs]
        if len(set(codes)) != len(codes):
            raise ValueError("suspect_drugs codes must be unique")
        return self


def load_pv_config(path: Path | str) -> PvConfig:
    """Load and validate; errors name the file and the field."""
    return load_model(PvConfig, Path(path))
