"""A direction's outcome for a row, in one byte: the grade and the reason.

Grading produces one byte per row and direction: the grade (0-4; NO_GRADE: none) plus 8 x the
reason (its position in REASONS; NO_REASON: none). Bytes are cheap to split, move and put back in
row order; the grade and reason columns are read from them by table lookup once, at the end.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

GRADE_TYPE = pl.Int8
REASON_TYPE = pl.UInt8
OUTCOME_TYPE = pl.UInt8
NO_GRADE = 7
NO_REASON = 31

NO_CRITERION = "no criterion"
NOT_GRADEABLE = "not lab-gradeable in CTCAE v5.0"
SPECIMEN = "specimen not graded for this term"
NO_RESULT = "no result"
NO_RANGE = "no normal range"
NO_BASELINE = "no baseline"
NO_BASELINE_RANGE = "baseline normal range missing"
UNKNOWN_UNIT = "unknown unit"
NO_ALBUMIN = "no albumin for corrected calcium"
WORST_CASE = "worst case: clinical component not assessed"
CLINICAL = "clinical component not assessed"
CORRECTED = "corrected calcium"

# Notes on a graded row, in the order they are joined ('; '); a row carries any combination.
NOTES = (WORST_CASE, CLINICAL, CORRECTED)
_WHY = (NO_CRITERION, NOT_GRADEABLE, SPECIMEN, NO_RESULT, NO_RANGE, NO_BASELINE, NO_BASELINE_RANGE,
        UNKNOWN_UNIT, NO_ALBUMIN)
# Position of the first note combination in REASONS; combination `mask` (bit i: NOTES[i]) follows at
# FIRST_NOTE + mask - 1.
FIRST_NOTE = len(_WHY)
REASONS = _WHY + tuple(
    "; ".join(n for bit, n in enumerate(NOTES) if mask >> bit & 1) for mask in range(1, 2 ** len(NOTES))
)


def reason_code(text: str) -> pl.Expr:
    return pl.lit(REASONS.index(text), REASON_TYPE)


def outcome_of(grade: int | None, reason: str | None) -> int:
    return (NO_GRADE if grade is None else grade) + 8 * (NO_REASON if reason is None else REASONS.index(reason))


def outcome(grade: pl.Expr, reason: pl.Expr) -> pl.Expr:
    return (grade.cast(pl.Int16).fill_null(NO_GRADE) + 8 * reason.cast(pl.Int16).fill_null(NO_REASON)).cast(OUTCOME_TYPE)


@lru_cache
def outcome_grades() -> pl.Series:
    """Grade per outcome byte (Int8, null: none)."""
    return pl.Series([None if b % 8 == NO_GRADE else b % 8 for b in range(256)], dtype=GRADE_TYPE)


# The reason columns (ATOXRSNL/ATOXRSNH) are a closed vocabulary: an Enum costs a byte per row where
# text costs sixteen, and ten million graded rows carry two of them. Sorted, so that sorting by a
# reason orders it as text would.
REASON_ENUM = pl.Enum(sorted(REASONS))


@lru_cache
def outcome_reasons() -> pl.Series:
    """Reason per outcome byte (REASON_ENUM; null: none)."""
    return pl.Series([REASONS[b // 8] if b // 8 < len(REASONS) else None for b in range(256)], dtype=REASON_ENUM)


@lru_cache
def with_note(note: str) -> pl.Series:
    """Outcome byte -> the same outcome with `note` added, for graded outcomes (others unchanged)."""
    bit = 1 << NOTES.index(note)
    table = []
    for b in range(256):
        grade, reason = b % 8, b // 8
        if grade == NO_GRADE or not (reason == NO_REASON or FIRST_NOTE <= reason < len(REASONS)):
            table.append(b)
            continue
        mask = 0 if reason == NO_REASON else reason - FIRST_NOTE + 1
        table.append(grade + 8 * (FIRST_NOTE + (mask | bit) - 1))
    return pl.Series(table, dtype=OUTCOME_TYPE)
