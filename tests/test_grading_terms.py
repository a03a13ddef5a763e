"""CTCAE v5.0 lab grades, one literal table per term: values just below, at and just above each threshold.

Thresholds are those of CTCAE v5.0 (NCI, 27 Nov 2017) as written in docs ctcae.md; unit factors
from ctcae.md 'Units'. Each row is graded on its own (no baseline), so only the ULN/LLN and
absolute parts of a criterion apply; baseline-relative rules are in test_grading_baseline.py.
"""

from __future__ import annotations

import polars as pl
import pytest

from safety.grading import derive_lab_grades, load_criteria

CRITERIA = load_criteria()
_COLS = ["USUBJID", "LBSEQ", "LBTESTCD", "LBCAT", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC", "LBBLFL"]


def lb_frame(rows: list[tuple]) -> pl.DataFrame:
    schema = {"USUBJID": pl.String, "LBSEQ": pl.Int64, "LBTESTCD": pl.String, "LBCAT": pl.String,
              "LBSTRESN": pl.Float64, "LBSTRESU": pl.String, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64,
              "LBDTC": pl.String, "LBBLFL": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def grade_one(code: str, unit: str | None, value: float | None, lo: float | None, hi: float | None,
              category: str = "CHEMISTRY") -> dict:
    frame = lb_frame([("S1", 1, code, category, value, unit, lo, hi, "2024-01-10", None)])
    return derive_lab_grades(frame, None, CRITERIA).row(0, named=True)


# (LBTESTCD, LBSTRESU, value, LLN, ULN, expected ATOXGRL, expected ATOXGRH); None = no criterion/ungraded
CASES = [
    # Anemia <LLN, <100, <80 g/L; Hemoglobin increased >ULN, >ULN+20, >ULN+40 g/L
    ("HGB", "g/L", 120.0, 120, 160, 0, 0), ("HGB", "g/L", 119.99, 120, 160, 1, 0),
    ("HGB", "g/L", 100.0, 120, 160, 1, 0), ("HGB", "g/L", 99.99, 120, 160, 2, 0),
    ("HGB", "g/L", 80.0, 120, 160, 2, 0), ("HGB", "g/L", 79.99, 120, 160, 3, 0),
    ("HGB", "g/L", 160.0, 120, 160, 0, 0), ("HGB", "g/L", 160.01, 120, 160, 0, 1),
    ("HGB", "g/L", 180.0, 120, 160, 0, 1), ("HGB", "g/L", 180.01, 120, 160, 0, 2),
    ("HGB", "g/L", 200.0, 120, 160, 0, 2), ("HGB", "g/L", 200.01, 120, 160, 0, 3),
    # the same in g/dL (x10) and mmol/L (1 g/dL = 0.6206 mmol/L): 6.206 mmol/L is exactly 100 g/L
    ("HGB", "g/dL", 10.0, 12, 16, 1, 0), ("HGB", "g/dL", 9.99, 12, 16, 2, 0), ("HGB", "g/dL", 7.99, 12, 16, 3, 0),
    ("HGB", "mmol/L", 6.206, 7.4472, 9.9296, 1, 0), ("HGB", "mmol/L", 6.2, 7.4472, 9.9296, 2, 0),
    ("HGB", "mmol/L", 4.9648, 7.4472, 9.9296, 2, 0), ("HGB", "mmol/L", 4.96, 7.4472, 9.9296, 3, 0),
    # WBC decreased <LLN, <3.0, <2.0, <1.0; leukocytosis >100 x10^9/L (grade 3 only)
    ("WBC", "10^9/L", 4.0, 4, 10, 0, 0), ("WBC", "10^9/L", 3.99, 4, 10, 1, 0), ("WBC", "10^9/L", 3.0, 4, 10, 1, 0),
    ("WBC", "10^9/L", 2.99, 4, 10, 2, 0), ("WBC", "10^9/L", 2.0, 4, 10, 2, 0), ("WBC", "10^9/L", 1.99, 4, 10, 3, 0),
    ("WBC", "10^9/L", 1.0, 4, 10, 3, 0), ("WBC", "10^9/L", 0.99, 4, 10, 4, 0),
    ("WBC", "10^9/L", 100.0, 4, 10, 0, 0), ("WBC", "10^9/L", 100.01, 4, 10, 0, 3),
    # counts per mm3 (/1000) and GI/L
    ("WBC", "cells/mm3", 1000, 4000, 10000, 3, 0), ("WBC", "cells/mm3", 999, 4000, 10000, 4, 0),
    ("WBC", "GI/L", 2.99, 4, 10, 2, 0), ("WBC", "10^3/uL", 1.99, 4, 10, 3, 0),
    # Neutrophils <LLN, <1.5, <1.0, <0.5
    ("NEUT", "10^9/L", 2.0, 2, 7, 0, None), ("NEUT", "10^9/L", 1.99, 2, 7, 1, None),
    ("NEUT", "10^9/L", 1.5, 2, 7, 1, None), ("NEUT", "10^9/L", 1.49, 2, 7, 2, None),
    ("NEUT", "10^9/L", 1.0, 2, 7, 2, None), ("NEUT", "10^9/L", 0.99, 2, 7, 3, None),
    ("NEUT", "10^9/L", 0.5, 2, 7, 3, None), ("NEUT", "10^9/L", 0.49, 2, 7, 4, None),
    ("ANC", "cells/uL", 499, 2000, 7000, 4, None),
    # Platelets <LLN, <75, <50, <25
    ("PLAT", "10^9/L", 150, 150, 400, 0, None), ("PLAT", "10^9/L", 149.9, 150, 400, 1, None),
    ("PLAT", "10^9/L", 75, 150, 400, 1, None), ("PLAT", "10^9/L", 74.9, 150, 400, 2, None),
    ("PLAT", "10^9/L", 50, 150, 400, 2, None), ("PLAT", "10^9/L", 49.9, 150, 400, 3, None),
    ("PLAT", "10^9/L", 25, 150, 400, 3, None), ("PLAT", "10^9/L", 24.9, 150, 400, 4, None),
    # Lymphocytes decreased <LLN, <0.8, <0.5, <0.2; increased >4, >20
    ("LYM", "10^9/L", 1.0, 1.0, 3.5, 0, 0), ("LYM", "10^9/L", 0.99, 1.0, 3.5, 1, 0),
    ("LYM", "10^9/L", 0.8, 1.0, 3.5, 1, 0), ("LYM", "10^9/L", 0.79, 1.0, 3.5, 2, 0),
    ("LYM", "10^9/L", 0.5, 1.0, 3.5, 2, 0), ("LYM", "10^9/L", 0.49, 1.0, 3.5, 3, 0),
    ("LYM", "10^9/L", 0.2, 1.0, 3.5, 3, 0), ("LYM", "10^9/L", 0.19, 1.0, 3.5, 4, 0),
    ("LYM", "10^9/L", 4.0, 1.0, 3.5, 0, 0), ("LYM", "10^9/L", 4.01, 1.0, 3.5, 0, 2),
    ("LYM", "10^9/L", 20.0, 1.0, 3.5, 0, 2), ("LYM", "10^9/L", 20.01, 1.0, 3.5, 0, 3),
    # CD4 <LLN, <0.5, <0.2, <0.05
    ("CD4", "10^9/L", 0.59, 0.6, 1.5, 1, None), ("CD4", "10^9/L", 0.5, 0.6, 1.5, 1, None),
    ("CD4", "10^9/L", 0.49, 0.6, 1.5, 2, None), ("CD4", "10^9/L", 0.2, 0.6, 1.5, 2, None),
    ("CD4", "10^9/L", 0.19, 0.6, 1.5, 3, None), ("CD4", "10^9/L", 0.05, 0.6, 1.5, 3, None),
    ("CD4", "10^9/L", 0.049, 0.6, 1.5, 4, None),
    # aPTT >ULN, >1.5, >2.5 x ULN
    ("APTT", "s", 35, 25, 35, None, 0), ("APTT", "s", 35.01, 25, 35, None, 1), ("APTT", "s", 52.5, 25, 35, None, 1),
    ("APTT", "s", 52.51, 25, 35, None, 2), ("APTT", "s", 87.5, 25, 35, None, 2), ("APTT", "s", 87.51, 25, 35, None, 3),
    # 8 significant digits: 1.5 x 0.7 = 1.0499999999999998 in binary; 1.05 is not above it
    ("APTT", "s", 1.05, 0.5, 0.7, None, 1),
    # INR >1.2, >1.5, >2.5 (no unit, a ratio)
    ("INR", None, 1.2, 0.8, 1.2, None, 0), ("INR", None, 1.21, 0.8, 1.2, None, 1), ("INR", None, 1.5, 0.8, 1.2, None, 1),
    ("INR", "RATIO", 1.51, 0.8, 1.2, None, 2), ("INR", None, 2.5, 0.8, 1.2, None, 2), ("INR", None, 2.51, 0.8, 1.2, None, 3),
    # Fibrinogen <LLN, <0.75, <0.5, <0.25 x LLN or <0.5 g/L (no baseline here); mg/dL / 100
    ("FIBRINO", "g/L", 2.0, 2.0, 4.0, 0, None), ("FIBRINO", "g/L", 1.99, 2.0, 4.0, 1, None),
    ("FIBRINO", "g/L", 1.5, 2.0, 4.0, 1, None), ("FIBRINO", "g/L", 1.49, 2.0, 4.0, 2, None),
    ("FIBRINO", "g/L", 1.0, 2.0, 4.0, 2, None), ("FIBRINO", "g/L", 0.99, 2.0, 4.0, 3, None),
    ("FIBRINO", "g/L", 0.5, 2.0, 4.0, 3, None), ("FIBRINO", "g/L", 0.49, 2.0, 4.0, 4, None),
    ("FIBRINO", "mg/dL", 149, 200, 400, 2, None), ("FIBRINO", "g/L", 0.49, None, None, 4, None),
    # Haptoglobin <LLN
    ("HAPTO", "g/L", 0.3, 0.3, 2.0, 0, None), ("HAPTO", "g/L", 0.29, 0.3, 2.0, 1, None),
    # Creatinine >ULN, >1.5, >3.0, >6.0 x ULN (umol/L; mg/dL x 88.4)
    ("CREAT", "umol/L", 100, 50, 100, None, 0), ("CREAT", "umol/L", 100.01, 50, 100, None, 1),
    ("CREAT", "umol/L", 150, 50, 100, None, 1), ("CREAT", "umol/L", 150.01, 50, 100, None, 2),
    ("CREAT", "umol/L", 300, 50, 100, None, 2), ("CREAT", "umol/L", 300.01, 50, 100, None, 3),
    ("CREAT", "umol/L", 600, 50, 100, None, 3), ("CREAT", "umol/L", 600.01, 50, 100, None, 4),
    ("CREAT", "mg/dL", 1.7, 0.6, 1.13, None, 2), ("CREAT", "mg/dL", 1.69, 0.6, 1.13, None, 1),
    # CPK >ULN, >2.5, >5, >10 x ULN
    ("CK", "U/L", 500, 20, 200, None, 1), ("CK", "U/L", 500.01, 20, 200, None, 2),
    ("CK", "U/L", 1000, 20, 200, None, 2), ("CK", "U/L", 1000.01, 20, 200, None, 3),
    ("CK", "U/L", 2000, 20, 200, None, 3), ("CK", "U/L", 2000.01, 20, 200, None, 4),
    ("CK", "ukat/L", 8.34, 0.3, 3.33, None, 2),
    # Lipase / amylase >ULN, >1.5, >2.0 (worst case 3), >5.0 (worst case 4) x ULN
    ("LIPASE", "U/L", 60, 10, 60, None, 0), ("LIPASE", "U/L", 90, 10, 60, None, 1), ("LIPASE", "U/L", 90.01, 10, 60, None, 2),
    ("LIPASE", "U/L", 120, 10, 60, None, 2), ("LIPASE", "U/L", 120.01, 10, 60, None, 3),
    ("LIPASE", "U/L", 300, 10, 60, None, 3), ("LIPASE", "U/L", 300.01, 10, 60, None, 4),
    ("AMYLASE", "U/L", 150, 30, 100, None, 1), ("AMYLASE", "U/L", 150.01, 30, 100, None, 2),
    ("AMYLASE", "U/L", 200.01, 30, 100, None, 3), ("AMYLASE", "U/L", 500.01, 30, 100, None, 4),
    # Cholesterol >ULN, >7.75, >10.34, >12.92 mmol/L (mg/dL / 38.67)
    ("CHOL", "mmol/L", 5.2, 3, 5.2, None, 0), ("CHOL", "mmol/L", 5.21, 3, 5.2, None, 1),
    ("CHOL", "mmol/L", 7.75, 3, 5.2, None, 1), ("CHOL", "mmol/L", 7.76, 3, 5.2, None, 2),
    ("CHOL", "mmol/L", 10.34, 3, 5.2, None, 2), ("CHOL", "mmol/L", 10.35, 3, 5.2, None, 3),
    ("CHOL", "mmol/L", 12.92, 3, 5.2, None, 3), ("CHOL", "mmol/L", 12.93, 3, 5.2, None, 4),
    ("CHOL", "mg/dL", 299, 116, 201, None, 1), ("CHOL", "mg/dL", 301, 116, 201, None, 2),
    # Hypertriglyceridemia >=1.71 (unsigned lower edge: inclusive), >3.42, >5.7, >11.4 mmol/L
    ("TRIG", "mmol/L", 1.70, 0.5, 1.7, None, 0), ("TRIG", "mmol/L", 1.71, 0.5, 1.7, None, 1),
    ("TRIG", "mmol/L", 3.42, 0.5, 1.7, None, 1), ("TRIG", "mmol/L", 3.43, 0.5, 1.7, None, 2),
    ("TRIG", "mmol/L", 5.7, 0.5, 1.7, None, 2), ("TRIG", "mmol/L", 5.71, 0.5, 1.7, None, 3),
    ("TRIG", "mmol/L", 11.4, 0.5, 1.7, None, 3), ("TRIG", "mmol/L", 11.41, 0.5, 1.7, None, 4),
    ("TRIG", "mg/dL", 151.5, 44, 150, None, 1),
    # Hyperuricemia >ULN: worst case grade 3
    ("URATE", "umol/L", 420, 150, 420, None, 0), ("URATE", "umol/L", 420.01, 150, 420, None, 3),
    ("URATE", "mg/dL", 7.1, 2.5, 7.0, None, 3),
    # Hypoalbuminemia <LLN, <30, <20 g/L (g/dL x 10)
    ("ALB", "g/L", 35, 35, 50, 0, None), ("ALB", "g/L", 34.9, 35, 50, 1, None), ("ALB", "g/L", 30, 35, 50, 1, None),
    ("ALB", "g/L", 29.9, 35, 50, 2, None), ("ALB", "g/L", 20, 35, 50, 2, None), ("ALB", "g/L", 19.9, 35, 50, 3, None),
    ("ALB", "g/dL", 2.99, 3.5, 5.0, 2, None),
    # Ionized calcium: high >ULN, >1.5, >1.6, >1.8; low <LLN, <1.0, <0.9, <0.8 mmol/L
    ("CAION", "mmol/L", 1.5, 1.1, 1.3, 0, 1), ("CAION", "mmol/L", 1.51, 1.1, 1.3, 0, 2),
    ("CAION", "mmol/L", 1.6, 1.1, 1.3, 0, 2), ("CAION", "mmol/L", 1.61, 1.1, 1.3, 0, 3),
    ("CAION", "mmol/L", 1.8, 1.1, 1.3, 0, 3), ("CAION", "mmol/L", 1.81, 1.1, 1.3, 0, 4),
    ("CAION", "mmol/L", 1.0, 1.1, 1.3, 1, 0), ("CAION", "mmol/L", 0.99, 1.1, 1.3, 2, 0),
    ("CAION", "mmol/L", 0.9, 1.1, 1.3, 2, 0), ("CAION", "mmol/L", 0.89, 1.1, 1.3, 3, 0),
    ("CAION", "mmol/L", 0.8, 1.1, 1.3, 3, 0), ("CAION", "mmol/L", 0.79, 1.1, 1.3, 4, 0),
    # Potassium: high >ULN, >5.5, >6.0, >7.0; low <LLN (worst case 2), <3.0, <2.5 mmol/L
    ("K", "mmol/L", 5.0, 3.5, 5.0, 0, 0), ("K", "mmol/L", 5.01, 3.5, 5.0, 0, 1), ("K", "mmol/L", 5.5, 3.5, 5.0, 0, 1),
    ("K", "mmol/L", 5.51, 3.5, 5.0, 0, 2), ("K", "mmol/L", 6.0, 3.5, 5.0, 0, 2), ("K", "mmol/L", 6.01, 3.5, 5.0, 0, 3),
    ("K", "mmol/L", 7.0, 3.5, 5.0, 0, 3), ("K", "mEq/L", 7.01, 3.5, 5.0, 0, 4),
    ("K", "mmol/L", 3.5, 3.5, 5.0, 0, 0), ("K", "mmol/L", 3.49, 3.5, 5.0, 2, 0), ("K", "mmol/L", 3.0, 3.5, 5.0, 2, 0),
    ("K", "mmol/L", 2.99, 3.5, 5.0, 3, 0), ("K", "mmol/L", 2.5, 3.5, 5.0, 3, 0), ("K", "mmol/L", 2.49, 3.5, 5.0, 4, 0),
    # Sodium: high >ULN, >150, >155, >160; low <LLN, <=129 (worst case 3), <120 mmol/L
    ("SODIUM", "mmol/L", 145.1, 135, 145, 0, 1), ("SODIUM", "mmol/L", 150, 135, 145, 0, 1),
    ("SODIUM", "mmol/L", 150.1, 135, 145, 0, 2), ("SODIUM", "mmol/L", 155, 135, 145, 0, 2),
    ("SODIUM", "mmol/L", 155.1, 135, 145, 0, 3), ("SODIUM", "mmol/L", 160, 135, 145, 0, 3),
    ("SODIUM", "mmol/L", 160.1, 135, 145, 0, 4),
    ("SODIUM", "mmol/L", 135, 135, 145, 0, 0), ("SODIUM", "mmol/L", 134.9, 135, 145, 1, 0),
    ("SODIUM", "mmol/L", 129.1, 135, 145, 1, 0), ("SODIUM", "mmol/L", 129, 135, 145, 3, 0),
    ("SODIUM", "mmol/L", 120, 135, 145, 3, 0), ("SODIUM", "mmol/L", 119.9, 135, 145, 4, 0),
    # Magnesium: high >ULN, >1.23, >3.30; low <LLN, <0.5, <0.4, <0.3 mmol/L (mg/dL / 2.431)
    ("MG", "mmol/L", 1.0, 0.7, 1.0, 0, 0), ("MG", "mmol/L", 1.01, 0.7, 1.0, 0, 1), ("MG", "mmol/L", 1.23, 0.7, 1.0, 0, 1),
    ("MG", "mmol/L", 1.24, 0.7, 1.0, 0, 3), ("MG", "mmol/L", 3.30, 0.7, 1.0, 0, 3), ("MG", "mmol/L", 3.31, 0.7, 1.0, 0, 4),
    ("MG", "mmol/L", 0.69, 0.7, 1.0, 1, 0), ("MG", "mmol/L", 0.5, 0.7, 1.0, 1, 0), ("MG", "mmol/L", 0.49, 0.7, 1.0, 2, 0),
    ("MG", "mmol/L", 0.4, 0.7, 1.0, 2, 0), ("MG", "mmol/L", 0.39, 0.7, 1.0, 3, 0), ("MG", "mmol/L", 0.3, 0.7, 1.0, 3, 0),
    ("MG", "mmol/L", 0.29, 0.7, 1.0, 4, 0), ("MG", "mg/dL", 1.2, 1.7, 2.4, 2, 0),
    # Hypoglycemia <LLN, <3.0, <2.2, <1.7 mmol/L (mg/dL / 18.016); hyperglycemia is not graded
    ("GLUC", "mmol/L", 3.9, 3.9, 5.5, 0, None), ("GLUC", "mmol/L", 3.0, 3.9, 5.5, 1, None),
    ("GLUC", "mmol/L", 2.99, 3.9, 5.5, 2, None), ("GLUC", "mmol/L", 2.2, 3.9, 5.5, 2, None),
    ("GLUC", "mmol/L", 2.19, 3.9, 5.5, 3, None), ("GLUC", "mmol/L", 1.7, 3.9, 5.5, 3, None),
    ("GLUC", "mmol/L", 1.69, 3.9, 5.5, 4, None), ("GLUC", "mg/dL", 54, 70, 100, 2, None),
    ("GLUC", "mmol/L", 30.0, 3.9, 5.5, 0, None),
    # Blood pH: acidosis <LLN, <7.3; alkalosis >ULN, >7.5
    ("PH", None, 7.35, 7.35, 7.45, 0, 0), ("PH", None, 7.3, 7.35, 7.45, 1, 0), ("PH", None, 7.29, 7.35, 7.45, 3, 0),
    ("PH", None, 7.5, 7.35, 7.45, 0, 1), ("PH", None, 7.51, 7.35, 7.45, 0, 3),
    # Hypophosphatemia is not graded in v5.0
    ("PHOS", "mmol/L", 0.3, 0.8, 1.5, None, None),
    # a test without a criterion
    ("HCT", "1", 0.2, 0.35, 0.45, None, None),
]


@pytest.mark.parametrize(("code", "unit", "value", "lo", "hi", "low", "high"), CASES)
def test_grade_boundaries(code, unit, value, lo, hi, low, high):
    row = grade_one(code, unit, value, lo, hi)
    assert (row["ATOXGRL"], row["ATOXGRH"]) == (low, high)


# Total calcium corrected for albumin: Ca + 0.02 x (40 - albumin g/L) (ctcae.md 'Calcium').
# (Ca mmol/L, albumin g/L or None, expected ATOXGRL, ATOXGRH); LLN 2.1, ULN 2.6 mmol/L
CALCIUM = [
    (2.6, 40, 0, 0), (2.61, 40, 0, 1), (2.9, 40, 0, 1), (2.91, 40, 0, 2), (3.1, 40, 0, 2), (3.11, 40, 0, 3),
    (3.4, 40, 0, 3), (3.41, 40, 0, 4),
    (2.1, 40, 0, 0), (2.09, 40, 1, 0), (2.0, 40, 1, 0), (1.99, 40, 2, 0), (1.75, 40, 2, 0), (1.74, 40, 3, 0),
    (1.5, 40, 3, 0), (1.49, 40, 4, 0),
    # 1.9 + 0.02 x (40 - 25) = 2.2: normal once corrected, grade 2 uncorrected
    (1.9, 25, 0, 0),
    # 2.95 + 0.02 x (40 - 45) = 2.85: grade 1 once corrected, grade 2 uncorrected
    (2.95, 45, 0, 1),
    (2.0, None, None, None),
]


@pytest.mark.parametrize(("calcium", "albumin", "low", "high"), CALCIUM)
def test_corrected_calcium(calcium, albumin, low, high):
    rows = [("S1", 1, "CA", "CHEMISTRY", calcium, "mmol/L", 2.1, 2.6, "2024-01-10T08:00", None)]
    if albumin is not None:
        rows.append(("S1", 2, "ALB", "CHEMISTRY", albumin, "g/L", 35, 50, "2024-01-10T08:00", None))
    out = derive_lab_grades(lb_frame(rows), None, CRITERIA).row(0, named=True)
    assert (out["ATOXGRL"], out["ATOXGRH"]) == (low, high)
    expected_reason = "corrected calcium" if albumin is not None else "no albumin for corrected calcium"
    assert expected_reason in (out["ATOXRSNL"] or "") and expected_reason in (out["ATOXRSNH"] or "")


def test_calcium_in_mg_dl_is_converted_then_corrected():
    # 12.0 mg/dL / 4.008 = 2.994 mmol/L; albumin 3.0 g/dL = 30 g/L adds 0.2: 3.194 > 3.1 -> grade 3
    rows = [("S1", 1, "CA", None, 12.0, "mg/dL", 8.5, 10.5, "2024-01-10", None),
            ("S1", 2, "ALB", None, 3.0, "g/dL", 3.5, 5.0, "2024-01-10", None)]
    out = derive_lab_grades(lb_frame(rows), None, CRITERIA).row(0, named=True)
    assert out["AVAL"] == pytest.approx(12.0 / 4.008 + 0.2)
    assert out["ATOXGRH"] == 3


# (LBTESTCD, unit, value, LLN, ULN, column, expected grade, expected reason)
REASONS = [
    ("HGB", "g/L", 110, None, None, "ATOXGRL", None, "no normal range"),
    ("HGB", "g/L", 90, None, None, "ATOXGRL", 2, None),  # below 100 g/L is grade 2 whatever the LLN
    ("ALT", "U/L", 100, None, None, "ATOXGRH", None, "no normal range"),
    ("HGB", "mg/L", 90, 120, 160, "ATOXGRL", None, "unknown unit"),
    ("HGB", None, 90, 120, 160, "ATOXGRL", None, "unknown unit"),
    ("ALT", "mmol/L", 100, 5, 40, "ATOXGRH", None, "unknown unit"),
    ("NEUT", "10^9/L", None, 2, 7, "ATOXGRL", None, "no result"),
    ("HCT", "1", 0.2, 0.35, 0.45, "ATOXGRL", None, "no criterion"),
    ("GLUC", "mmol/L", 20, 3.9, 5.5, "ATOXGRH", None, "not lab-gradeable in CTCAE v5.0"),
    ("PHOS", "mmol/L", 0.3, 0.8, 1.5, "ATOXGRL", None, "not lab-gradeable in CTCAE v5.0"),
    ("K", "mmol/L", 3.2, 3.5, 5.0, "ATOXGRL", 2, "worst case: clinical component not assessed"),
    ("URATE", "umol/L", 500, 150, 420, "ATOXGRH", 3, "worst case: clinical component not assessed"),
    ("HGB", "g/L", 70, 120, 160, "ATOXGRL", 3, "clinical component not assessed"),
    ("HGB", "g/L", 130, 120, 160, "ATOXGRL", 0, None),
]


@pytest.mark.parametrize(("code", "unit", "value", "lo", "hi", "column", "grade", "reason"), REASONS)
def test_ungraded_rows_say_why(code, unit, value, lo, hi, column, grade, reason):
    row = grade_one(code, unit, value, lo, hi)
    assert row[column] == grade
    assert row[column.replace("GR", "RSN")] == reason


def test_urine_ph_is_not_graded_as_acidosis():
    row = grade_one("PH", None, 5.0, 5.0, 8.0, category="URINALYSIS")
    assert (row["ATOXGRL"], row["ATOXRSNL"]) == (None, "specimen not graded for this term")


def test_term_names_and_version_are_carried():
    row = grade_one("NEUT", "10^9/L", 0.4, 2, 7)
    assert row["ATOXDSCL"] == "Neutrophil count decreased"
    assert row["ATOXDSCH"] is None and row["ATOXRSNH"] == "no criterion"
    assert row["ATOXVER"] == CRITERIA.version and "CTCAE v5.0" in row["ATOXVER"]
    assert row["AVALU"] == "10^9/L"


def test_every_term_of_ctcae_md_is_in_the_criteria():
    terms = {(t.term, t.direction) for t in CRITERIA.terms}
    expected = {
        ("Anemia", "L"), ("Hemoglobin increased", "H"), ("Leukocytosis", "H"), ("White blood cell decreased", "L"),
        ("Neutrophil count decreased", "L"), ("Platelet count decreased", "L"), ("Lymphocyte count decreased", "L"),
        ("Lymphocyte count increased", "H"), ("CD4 lymphocytes decreased", "L"),
        ("Activated partial thromboplastin time prolonged", "H"), ("INR increased", "H"),
        ("Fibrinogen decreased", "L"), ("Haptoglobin decreased", "L"),
        ("Alanine aminotransferase increased", "H"), ("Aspartate aminotransferase increased", "H"),
        ("Alkaline phosphatase increased", "H"), ("GGT increased", "H"), ("Blood bilirubin increased", "H"),
        ("Creatinine increased", "H"), ("CPK increased", "H"), ("Lipase increased", "H"),
        ("Serum amylase increased", "H"), ("Cholesterol high", "H"), ("Hypertriglyceridemia", "H"),
        ("Hyperuricemia", "H"), ("Hypoalbuminemia", "L"), ("Hypercalcemia", "H"), ("Hypercalcemia (ionized)", "H"),
        ("Hypocalcemia", "L"), ("Hypocalcemia (ionized)", "L"), ("Hyperkalemia", "H"), ("Hypokalemia", "L"),
        ("Hypernatremia", "H"), ("Hyponatremia", "L"), ("Hypermagnesemia", "H"), ("Hypomagnesemia", "L"),
        ("Hypoglycemia", "L"), ("Eosinophilia", "H"), ("Acidosis", "L"), ("Alkalosis", "H"),
    }
    assert expected <= terms
