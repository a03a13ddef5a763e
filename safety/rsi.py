"""The reference safety information (RSI) of each drug, loaded from `config/rsi.yaml`.

Expectedness of a suspected serious adverse reaction is judged against the RSI in force
(ICH E2A section III.C; EU 536/2014 art. 2(2)(4) and annex III; 21 CFR 312.32(a) "unexpected").
The RSI changes (at least yearly, with the DSUR) and an update applies only from its approval:
the file holds the current version and the versions it superseded, and each event is judged
against the version in force on its date (`Rsi.in_force`), so that an update never silently
turns a reported SUSAR into an expected reaction. Every assessment carries the version it used.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.config import load_model


def term_key(text: str) -> str:
    """The matching key of a term: lowercase, trimmed, single spaces (same as `term_key_expr`)."""
    return re.sub(r"\s+", " ", text.strip().lower())


def term_key_expr(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RsiTerm(_Strict):
    term: str = Field(min_length=1)
    rate_any: float | None = Field(default=None, ge=0, le=1)
    rate_g3: float | None = Field(default=None, ge=0, le=1)
    expected_serious: bool = False
    life_threatening_listed: bool = False
    fatal_listed: bool = False

    @model_validator(mode="after")
    def _g3_within_any(self) -> RsiTerm:
        if self.rate_any is not None and self.rate_g3 is not None and self.rate_g3 > self.rate_any:
            raise ValueError(f"rate_g3 ({self.rate_g3}) exceeds rate_any ({self.rate_any}) for '{self.term}'")
        return self


class DrugRsi(_Strict):
    document: str
    document_version: str
    effective_date: dt.date
    terms: list[RsiTerm] = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _unique_terms(cls, terms: list[RsiTerm]) -> list[RsiTerm]:
        keys = [term_key(t.term) for t in terms]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"terms listed more than once: {', '.join(dupes)}")
        return terms


class Combination(_Strict):
    rule: Literal["max"] = "max"
    additive_allowance: float = Field(default=0.0, ge=0, le=1)


class RsiVersion(_Strict):
    """One approved version of the RSI."""

    version: str = Field(min_length=1)
    effective_date: dt.date
    combination: Combination = Combination()
    drugs: dict[str, DrugRsi] = Field(min_length=1)
    synonyms: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("drugs")
    @classmethod
    def _upper_drugs(cls, drugs: dict[str, DrugRsi]) -> dict[str, DrugRsi]:
        return {name.strip().upper(): rsi for name, rsi in drugs.items()}

    @model_validator(mode="after")
    def _synonyms_point_to_terms(self) -> RsiVersion:
        listed = {term_key(t.term) for d in self.drugs.values() for t in d.terms}
        unknown = sorted(term_key(t) for t in self.synonyms if term_key(t) not in listed)
        if unknown:
            raise ValueError(f"synonyms name terms no drug lists: {', '.join(unknown)}")
        owner: dict[str, str] = {}
        for target, variants in self.synonyms.items():
            for v in variants:
                key = term_key(v)
                if key in owner and owner[key] != term_key(target):
                    raise ValueError(f"synonym '{v}' maps to both '{owner[key]}' and '{term_key(target)}'")
                owner[key] = term_key(target)
        return self

    def terms_frame(self) -> pl.DataFrame:
        """One row per drug and listed term."""
        rows = [
            {
                "drug": drug,
                "term": t.term,
                "term_key": term_key(t.term),
                "rate_any": t.rate_any,
                "rate_g3": t.rate_g3,
                "expected_serious": t.expected_serious,
                "fatal_listed": t.fatal_listed,
                "life_threatening_listed": t.life_threatening_listed,
            }
            for drug, d in self.drugs.items()
            for t in d.terms
        ]
        schema = {
            "drug": pl.String, "term": pl.String, "term_key": pl.String, "rate_any": pl.Float64,
            "rate_g3": pl.Float64, "expected_serious": pl.Boolean, "fatal_listed": pl.Boolean,
            "life_threatening_listed": pl.Boolean,
        }
        return pl.DataFrame(rows, schema=schema)

    def synonyms_frame(self) -> pl.DataFrame:
        """One row per variant: synonym_key -> term_key (the RSI term it counts as)."""
        rows = [
            {"synonym_key": term_key(v), "term_key": term_key(target)}
            for target, variants in self.synonyms.items()
            for v in variants
            if term_key(v) != term_key(target)
        ]
        return pl.DataFrame(rows, schema={"synonym_key": pl.String, "term_key": pl.String}).unique(
            maintain_order=True
        )

    def drug_label(self, drug: str) -> str:
        d = self.drugs[drug.upper()]
        return f"{drug.upper()} RSI {self.version} ({d.document}, effective {d.effective_date})"

    def reference_rates(self) -> pl.DataFrame:
        """Reference incidence of each term for the combination (reference-safety.md).

        rate = max over drugs (a drug not listing the term counts 0) + additive allowance; null
        when no drug gives a frequency (listed, frequency not known). `synonyms` lists the variant
        keys that count as the term, leaving out keys that are themselves a listed term (e.g.
        arthralgia, listed by exemestane, is its own row) so that no event counts twice.
        """
        terms = self.terms_frame()
        allowance = self.combination.additive_allowance
        rates = (
            terms.group_by("term_key", maintain_order=True)
            .agg(pl.col("term").first(), pl.col("rate_any").max(), pl.col("rate_g3").max())
            .with_columns((pl.col("rate_any") + allowance).clip(upper_bound=1.0),
                          (pl.col("rate_g3") + allowance).clip(upper_bound=1.0))
        )
        syn = (
            self.synonyms_frame()
            .filter(~pl.col("synonym_key").is_in(terms["term_key"].implode()))
            .group_by("term_key", maintain_order=True)
            .agg(pl.col("synonym_key").alias("synonyms"))
        )
        return (
            rates.join(syn, on="term_key", how="left")
            .with_columns(pl.col("synonyms").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .select("term", "term_key", "synonyms", "rate_any", "rate_g3")
        )


class Rsi(RsiVersion):
    """The current RSI (its own fields) and the versions it superseded, oldest first."""

    superseded: list[RsiVersion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _versions_in_order(self) -> Rsi:
        versions = self.versions()
        names = [v.version for v in versions]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"RSI versions named more than once: {', '.join(repeated)}")
        dates = [v.effective_date for v in versions]
        if dates != sorted(set(dates)):
            raise ValueError("superseded versions must take effect one after another, each before the "
                             f"current version ({self.version}, {self.effective_date}): got "
                             + ", ".join(f"{v.version} {v.effective_date}" for v in versions))
        return self

    def versions(self) -> list[RsiVersion]:
        """Every version, oldest first; the last is the current one."""
        return [*self.superseded, self]

    def in_force(self, day: dt.date | None) -> RsiVersion:
        """The version in force on `day`: the newest that took effect on or before it. An event
        before the first version's effective date is judged against the first version; an event
        without a date against the current one."""
        if day is None:
            return self
        earlier = [v for v in self.versions() if v.effective_date <= day]
        return earlier[-1] if earlier else self.versions()[0]

    def versions_label(self) -> str:
        """The versions a derivation may have used, for its rule version ('RSI-2024.1+RSI-2025.1')."""
        return "+".join(v.version for v in self.versions())


def load_rsi(path: Path | str) -> Rsi:
    """Load and validate the RSI file; errors name the file and the field."""
    return load_model(Rsi, Path(path))
