"""Load and validate the CTCAE lab criteria and unit conversions kept as data in `config/`.

As in admiral (`ncictcaev5.json` + `derive_var_atoxgr_dir()`), the criteria are a table a
statistician can read and the code that applies them is generic: a new CTCAE version is a new
file, not new code. A grade cell is a tiny language of comparisons, parsed here into polars
expressions over AVAL (value in the criterion unit), ANRLO/ANRHI (LLN/ULN in that unit) and a
baseline column; see the header of `config/ctcae_v5_lab.csv`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CRITERIA_FILE = "ctcae_v5_lab.csv"
UNITS_FILE = "lab_units.csv"

# admiral compares after signif(x, 8) so that 3 x 40 = 120.00000001 does not flip a grade (ctcae.md).
SIGNIFICANT_DIGITS = 8

_ATOM = re.compile(
    r"^(?P<op><=|>=|<|>)\s*(?:(?P<factor>\d+(?:\.\d+)?)\s*\*\s*)?(?P<ref>ULN|LLN|BL)?"
    r"\s*(?:(?P<sign>[+-])\s*(?P<offset>\d+(?:\.\d+)?))?$"
)
_NUMBER_ONLY = re.compile(r"^(?P<op><=|>=|<|>)\s*(?P<number>\d+(?:\.\d+)?)$")

Reference = Literal["ULN", "LLN", "BL"] | None


class CriteriaError(ValueError):
    """A criteria or units file that cannot be used; the message names file, line and field."""


@dataclass(frozen=True)
class Comparison:
    """One comparison of the value against a threshold: `op factor*ref + offset` (ref None: a number)."""

    op: str
    ref: Reference
    factor: float
    offset: float

    @property
    def text(self) -> str:
        ref = "" if self.ref is None else (self.ref if self.factor == 1 else f"{self.factor:g}*{self.ref}")
        off = f"{self.offset:g}" if self.ref is None else (f"{self.offset:+g}" if self.offset else "")
        return f"{self.op}{ref}{off}"


# A condition: OR over clauses, each clause an AND over comparisons.
Condition = tuple[tuple[Comparison, ...], ...]


def parse_condition(text: str) -> Condition:
    """`<0.75*LLN | <LLN & <=0.75*BL` -> ((<0.75*LLN,), (<LLN, <=0.75*BL)). Empty text: no condition."""
    text = (text or "").strip()
    if not text or text == "-":
        return ()
    clauses = []
    for clause in text.split("|"):
        atoms = []
        for atom in clause.split("&"):
            atom = atom.strip()
            number = _NUMBER_ONLY.match(atom)
            if number:
                atoms.append(Comparison(number["op"], None, 1.0, float(number["number"])))
                continue
            m = _ATOM.match(atom)
            if not m or m["ref"] is None:
                raise ValueError(f"cannot read comparison {atom!r} (expected e.g. '<LLN', '>1.5*ULN', '<=129')")
            offset = float(m["offset"] or 0) * (-1 if m["sign"] == "-" else 1)
            atoms.append(Comparison(m["op"], m["ref"], float(m["factor"] or 1), offset))
        clauses.append(tuple(atoms))
    return tuple(clauses)


def _grades(text: str | None) -> tuple[int, ...]:
    text = (text or "").strip()
    if not text:
        return ()
    grades = tuple(int(g) for g in text.split("|"))
    if any(g not in (1, 2, 3, 4) for g in grades):
        raise ValueError("grades must be 1 to 4, separated by '|'")
    return grades


def _codes(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in (text or "").split("|") if c.strip())


class Criterion(BaseModel):
    """One CTCAE term in one direction, as read from one row of the criteria file."""

    model_config = {"frozen": True, "arbitrary_types_allowed": True}

    term_id: str
    term: str
    direction: Literal["L", "H"]
    lbtestcd: tuple[str, ...]
    unit: str
    grade1: Condition = ()
    grade2: Condition = ()
    grade3: Condition = ()
    grade4: Condition = ()
    grade1_abnormal_bl: Condition = ()
    grade2_abnormal_bl: Condition = ()
    grade3_abnormal_bl: Condition = ()
    grade4_abnormal_bl: Condition = ()
    worst_case_grades: tuple[int, ...] = ()
    clinical_only_grades: tuple[int, ...] = ()
    baseline_required: bool = False
    correct_codes: tuple[str, ...] = ()
    exclude_specimens: tuple[str, ...] = ()
    lab_gradeable: bool = True
    ae_terms: tuple[str, ...] = ()
    note: str = ""

    @field_validator(
        "grade1", "grade2", "grade3", "grade4",
        "grade1_abnormal_bl", "grade2_abnormal_bl", "grade3_abnormal_bl", "grade4_abnormal_bl",
        mode="before",
    )
    @classmethod
    def _condition(cls, v: object) -> Condition:
        return v if isinstance(v, tuple) else parse_condition(str(v or ""))

    @field_validator("worst_case_grades", "clinical_only_grades", mode="before")
    @classmethod
    def _grade_list(cls, v: object) -> tuple[int, ...]:
        return v if isinstance(v, tuple) else _grades(None if v is None else str(v))

    @field_validator("lbtestcd", "correct_codes", "exclude_specimens", mode="before")
    @classmethod
    def _code_list(cls, v: object) -> tuple[str, ...]:
        return v if isinstance(v, tuple) else _codes(None if v is None else str(v))

    @field_validator("ae_terms", mode="before")
    @classmethod
    def _ae_terms(cls, v: object) -> tuple[str, ...]:
        if isinstance(v, tuple):
            return v
        return tuple(t.strip().lower() for t in str(v or "").split("|") if t.strip())

    @field_validator("note", mode="before")
    @classmethod
    def _text(cls, v: object) -> str:
        return "" if v is None else str(v)

    @field_validator("baseline_required", "lab_gradeable", mode="before")
    @classmethod
    def _yes_no(cls, v: object) -> bool:
        if isinstance(v, bool):
            return v
        text = str(v or "").strip().upper()
        if text not in ("Y", "N"):
            raise ValueError("must be Y or N")
        return text == "Y"

    @model_validator(mode="after")
    def _consistent(self) -> Criterion:
        if not self.lbtestcd:
            raise ValueError("lbtestcd: at least one LBTESTCD is needed")
        normal = (self.grade1, self.grade2, self.grade3, self.grade4)
        if self.lab_gradeable and not any(normal):
            raise ValueError("a lab-gradeable term needs at least one grade condition")
        if not self.lab_gradeable and any(normal):
            raise ValueError("a term that is not lab-gradeable must have no grade conditions")
        for grade in self.worst_case_grades:
            if not normal[grade - 1]:
                raise ValueError(f"worst_case_grades: grade {grade} has no condition")
        for grade in self.clinical_only_grades:
            if normal[grade - 1]:
                raise ValueError(f"clinical_only_grades: grade {grade} has a lab condition")
        return self

    def conditions(self, abnormal_baseline: bool = False) -> tuple[Condition, ...]:
        if abnormal_baseline:
            return (self.grade1_abnormal_bl, self.grade2_abnormal_bl, self.grade3_abnormal_bl,
                    self.grade4_abnormal_bl)
        return (self.grade1, self.grade2, self.grade3, self.grade4)

    @property
    def has_baseline_rule(self) -> bool:
        return any(self.conditions(abnormal_baseline=True))

    def references(self) -> set[str]:
        refs = self.conditions() + self.conditions(abnormal_baseline=True)
        return {a.ref for cond in refs for clause in cond for a in clause if a.ref}


class UnitConversion(BaseModel):
    model_config = {"frozen": True}

    lbtestcd: tuple[str, ...]
    from_unit: str
    to_unit: str
    multiply_by: float
    divide_by: float

    @field_validator("lbtestcd", mode="before")
    @classmethod
    def _code_list(cls, v: object) -> tuple[str, ...]:
        codes = _codes(None if v is None else str(v))
        if not codes:
            raise ValueError("at least one LBTESTCD is needed")
        return codes

    @field_validator("from_unit", "to_unit", mode="before")
    @classmethod
    def _unit(cls, v: object) -> str:
        return "" if v is None else str(v).strip()

    @field_validator("multiply_by", "divide_by")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("must be a positive number")
        return v


def normalise_unit(unit: pl.Expr | str | None) -> pl.Expr | str:
    """Units are compared ignoring case, spaces and the micro sign spelling (ug/µg/μg)."""
    if unit is None or isinstance(unit, str):
        text = (unit or "").upper().replace(" ", "").replace("µ", "U").replace("μ", "U")
        return text
    return (
        unit.cast(pl.String).fill_null("").str.to_uppercase().str.replace_all(" ", "", literal=True)
        .str.replace_all("µ", "U", literal=True).str.replace_all("μ", "U", literal=True)
    )


@dataclass(frozen=True)
class Criteria:
    """The validated criteria and unit conversions, and the version string they carry."""

    version: str
    terms: tuple[Criterion, ...]
    units: tuple[UnitConversion, ...]
    source: str = ""

    def by_id(self, term_id: str) -> Criterion:
        return next(t for t in self.terms if t.term_id == term_id)

    def code_map(self) -> pl.DataFrame:
        """LBTESTCD -> term per direction: columns LBTESTCD_UP, direction, term_id, term."""
        rows = [(code, t.direction, t.term_id, t.term) for t in self.terms for code in t.lbtestcd]
        return pl.DataFrame(rows, schema=["LBTESTCD_UP", "direction", "term_id", "term"], orient="row")

    def unit_map(self) -> pl.DataFrame:
        """(LBTESTCD, normalised unit) -> criterion unit and factor."""
        rows = [
            (code, normalise_unit(u.from_unit), u.to_unit, u.multiply_by / u.divide_by)
            for u in self.units
            for code in u.lbtestcd
        ]
        return pl.DataFrame(
            rows, schema={"LBTESTCD_UP": pl.String, "UNIT_KEY": pl.String, "AVALU": pl.String, "FACTOR": pl.Float64},
            orient="row",
        )

    @property
    def term_enum(self) -> pl.Enum:
        """The type of ATOXDSCL/ATOXDSCH: every term name, sorted (so an Enum sorts as the text)."""
        return pl.Enum(sorted({t.term for t in self.terms}))

    @property
    def unit_enum(self) -> pl.Enum:
        """The type of AVALU: every criterion unit, sorted."""
        return pl.Enum(sorted({u.to_unit for u in self.units}))

    def ae_term_map(self) -> pl.DataFrame:
        """Lower-case AE term or synonym -> criterion term (for AE reconciliation)."""
        rows = {(s, t.term) for t in self.terms for s in (t.term.lower(), *t.ae_terms)}
        return pl.DataFrame(sorted(rows), schema=["ae_term_lower", "term"], orient="row")


def _read_table(path: Path) -> tuple[list[dict], dict[str, str]]:
    """Rows (each with its 1-based file line as `_line`) and the '# key: value' header lines."""
    if not path.is_file():
        raise CriteriaError(f"{path}: file not found")
    meta: dict[str, str] = {}
    numbered = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep and key.strip().isidentifier():
                meta.setdefault(key.strip(), value.strip())
        elif line.strip():
            numbered.append((number, line))
    if not numbered:
        raise CriteriaError(f"{path}: no header row")
    reader = csv.reader([line for _, line in numbered])
    header = [h.strip() for h in next(reader)]
    rows = []
    for (number, _), values in zip(numbered[1:], reader, strict=True):
        if len(values) != len(header):
            raise CriteriaError(f"{path}, line {number}: {len(values)} fields, the header has {len(header)}")
        row: dict = {h: (v.strip() or None) for h, v in zip(header, values, strict=True)}
        row["_line"] = number
        rows.append(row)
    return rows, meta


def _validate(model: type[BaseModel], row: dict, path: Path, label: str):
    line = row.pop("_line")
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in e['loc']) or '(row)'}: {e['msg']}" for e in exc.errors()
        )
        raise CriteriaError(f"{path}, line {line} ({label}): {problems}") from None


def load_criteria(path: Path | str | None = None, units_path: Path | str | None = None) -> Criteria:
    """Read and validate `ctcae_v5_lab.csv` and `lab_units.csv` (default: the repository's config/).

    `path` may be the criteria CSV or the folder holding both files (e.g. the study config's folder).
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_DIR
    if path.is_dir():
        path = path / CRITERIA_FILE
    units_path = Path(units_path) if units_path is not None else path.parent / UNITS_FILE
    rows, meta = _read_table(path)
    if "version" not in meta:
        raise CriteriaError(f"{path}: the header needs a line '# version: ...'")
    terms = tuple(
        _validate(Criterion, row, path, f"term {row.get('term_id')!r} {row.get('direction')!r}") for row in rows
    )
    seen: dict[tuple[str, str], str] = {}
    for t in terms:
        for code in t.lbtestcd:
            other = seen.setdefault((code, t.direction), t.term_id)
            if other != t.term_id:
                raise CriteriaError(
                    f"{path}: LBTESTCD {code} direction {t.direction} is claimed by both {other} and {t.term_id}"
                )
    unit_rows, _ = _read_table(units_path)
    units = tuple(_validate(UnitConversion, row, units_path, f"{row.get('lbtestcd')} {row.get('from_unit')}")
                  for row in unit_rows)
    keys: set[tuple[str, str]] = set()
    for u in units:
        for code in u.lbtestcd:
            key = (code, str(normalise_unit(u.from_unit)))
            if key in keys:
                raise CriteriaError(f"{units_path}: unit {u.from_unit!r} for {code} is listed twice")
            keys.add(key)
    targets = {(c, u.to_unit) for u in units for c in u.lbtestcd}
    for t in terms:
        for code in t.lbtestcd:
            wrong = {to for c, to in targets if c == code and to != t.unit}
            if wrong:
                raise CriteriaError(
                    f"{units_path}: {code} converts to {sorted(wrong)} but {path.name} term {t.term_id} expects {t.unit!r}"
                )
    return Criteria(version=meta["version"], terms=terms, units=units, source=str(path))
