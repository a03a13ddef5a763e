"""The fixed vocabulary of the demo study: dose levels, AE terms with their reference rates, lab tests.

These mirror `docs/reference-safety.md` and `docs/ctcae.md` so that the planted events satisfy the
rules the service reads from `config/`; they are the generator's own copy, not the service's
configuration (the service must find the events from its config, not from here).
"""

from __future__ import annotations

STUDYID = "VIGIL-ELA-EXE-01"
ARMCD = "ELA345EXE25"
ARM = "Elacestrant 345 mg QD + Exemestane 25 mg QD"

ELACESTRANT = "ELACESTRANT"
EXEMESTANE = "EXEMESTANE"
DOSE_LEVELS_MG = (345.0, 258.0, 172.0)  # level 0, -1, -2
EXEMESTANE_MG = 25.0
CYCLE_DAYS = 28
DLT_WINDOW_DAYS = 28
TOX_MONITOR_DAYS = 56  # the first two cycles of the continuous toxicity monitoring rule

# Simon optimal two-stage design for p0 = 0.35, p1 = 0.55, one-sided alpha 0.05, power 0.80.
# Found by exact binomial search over n <= 79 (minimising expected size under p0):
# n1 = 14, r1 = 5, n = 44, r = 20; EN(p0) = 24.8, PET(p0) = 0.64, alpha 0.046, power 0.800.
SIMON = {"p0": 0.35, "p1": 0.55, "alpha": 0.05, "power": 0.80, "n1": 14, "r1": 5, "n": 44, "r": 20}

RELATED = ("POSSIBLE", "PROBABLE", "DEFINITE")
NOT_RELATED = ("NOT RELATED", "UNLIKELY")

# Background AE terms: (AEDECOD, AEBODSYS, reference incidence for the combination = the higher of the
# two labels' rates, listed for elacestrant, listed for exemestane, grade-3 share allowed after the
# toxicity-monitoring window). Musculoskeletal pain stands for the label's grouped term; arthralgia is
# not drawn separately so the grouped incidence stays at its reference rate.
BACKGROUND_TERMS: tuple[tuple[str, str, float, bool, bool, float], ...] = (
    ("Musculoskeletal pain", "Musculoskeletal and connective tissue disorders", 0.41, True, True, 0.07),
    ("Nausea", "Gastrointestinal disorders", 0.35, True, True, 0.025),
    ("Fatigue", "General disorders and administration site conditions", 0.26, True, True, 0.0),
    ("Hot flush", "Vascular disorders", 0.21, True, True, 0.0),
    ("Vomiting", "Gastrointestinal disorders", 0.19, True, True, 0.0),
    ("Decreased appetite", "Metabolism and nutrition disorders", 0.15, True, False, 0.0),
    ("Diarrhoea", "Gastrointestinal disorders", 0.13, True, True, 0.0),
    ("Headache", "Nervous system disorders", 0.13, True, True, 0.0),
    ("Constipation", "Gastrointestinal disorders", 0.12, True, True, 0.0),
    ("Insomnia", "Psychiatric disorders", 0.12, False, True, 0.0),
    ("Hyperhidrosis", "Skin and subcutaneous tissue disorders", 0.12, False, True, 0.0),
    ("Abdominal pain", "Gastrointestinal disorders", 0.11, True, True, 0.0),
    ("Dyspepsia", "Gastrointestinal disorders", 0.10, True, False, 0.0),
    ("Dizziness", "Nervous system disorders", 0.10, False, True, 0.0),
)

# The planted signal: hypertension (exemestane label ~10%) at about four times its reference rate.
SIGNAL_TERM = ("Hypertension", "Vascular disorders", 0.10)
SIGNAL_INCIDENCE = 0.40

SOC = {
    "Neutrophil count decreased": "Investigations",
    "Drug-induced liver injury": "Hepatobiliary disorders",
    "Pneumonitis": "Respiratory, thoracic and mediastinal disorders",
    "Myocardial infarction": "Cardiac disorders",
    "Atrial fibrillation": "Cardiac disorders",
    "Hypersensitivity": "Immune system disorders",
    "Pneumonia": "Infections and infestations",
    "Nausea": "Gastrointestinal disorders",
    "Vomiting": "Gastrointestinal disorders",
    "Diarrhoea": "Gastrointestinal disorders",
    "Musculoskeletal pain": "Musculoskeletal and connective tissue disorders",
}

SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "LIFE THREATENING", 5: "FATAL"}

# Lab tests: code -> (name, category, SI unit, LLN, ULN, baseline mean, baseline sd, decimals,
# safe low, safe high). The safe band keeps every random value at CTCAE v5.0 grade <= 2 and away from
# any DLT or Hy's law threshold; only planted values leave it.
LAB_TESTS: dict[str, tuple[str, str, str, float, float, float, float, int, float, float]] = {
    "HGB": ("Hemoglobin", "HEMATOLOGY", "g/L", 120, 160, 131, 8, 0, 104, 165),
    "WBC": ("Leukocytes", "HEMATOLOGY", "10^9/L", 4.0, 10.0, 6.2, 1.2, 2, 3.3, 9.8),
    "NEUT": ("Neutrophils", "HEMATOLOGY", "10^9/L", 1.8, 7.5, 3.8, 0.9, 2, 1.6, 7.3),
    "PLAT": ("Platelets", "HEMATOLOGY", "10^9/L", 150, 400, 250, 45, 0, 130, 390),
    "LYM": ("Lymphocytes", "HEMATOLOGY", "10^9/L", 1.0, 4.0, 1.7, 0.35, 2, 0.85, 3.6),
    "ALT": ("Alanine Aminotransferase", "CHEMISTRY", "U/L", 7, 35, 20, 5, 0, 8, 85),
    "AST": ("Aspartate Aminotransferase", "CHEMISTRY", "U/L", 10, 35, 22, 5, 0, 11, 80),
    "ALP": ("Alkaline Phosphatase", "CHEMISTRY", "U/L", 35, 105, 75, 13, 0, 40, 150),
    "GGT": ("Gamma Glutamyl Transferase", "CHEMISTRY", "U/L", 6, 42, 22, 6, 0, 7, 60),
    "BILI": ("Bilirubin", "CHEMISTRY", "umol/L", 3, 21, 9, 2.5, 0, 3, 26),
    "CREAT": ("Creatinine", "CHEMISTRY", "umol/L", 45, 90, 66, 8, 0, 48, 100),
    "SODIUM": ("Sodium", "CHEMISTRY", "mmol/L", 135, 145, 140, 1.8, 0, 131, 144),
    "K": ("Potassium", "CHEMISTRY", "mmol/L", 3.5, 5.1, 4.2, 0.25, 1, 3.6, 5.0),
    "ALB": ("Albumin", "CHEMISTRY", "g/L", 35, 50, 41, 2.5, 0, 36, 49),
    "CHOL": ("Cholesterol", "CHEMISTRY", "mmol/L", 3.0, 5.2, 4.5, 0.4, 2, 3.2, 7.5),
    "TRIG": ("Triglycerides", "CHEMISTRY", "mmol/L", 0.4, 1.7, 1.15, 0.2, 2, 0.5, 3.3),
    "GLUC": ("Glucose", "CHEMISTRY", "mmol/L", 3.9, 5.6, 5.0, 0.35, 1, 4.0, 6.9),
    "CA": ("Calcium", "CHEMISTRY", "mmol/L", 2.15, 2.55, 2.35, 0.07, 2, 2.2, 2.5),
}

# Label "laboratory abnormalities worsening from baseline" (elacestrant): share of subjects given a
# drift, and the multiplicative drift at its peak (applied after the first two cycles ramp).
LAB_DRIFTS: dict[str, tuple[float, float, float]] = {
    "CHOL": (0.30, 1.20, 1.55),
    "AST": (0.29, 1.6, 2.2),
    "TRIG": (0.27, 1.5, 2.4),
    "HGB": (0.26, 0.84, 0.92),
    "ALT": (0.17, 1.6, 2.4),
    "SODIUM": (0.16, 0.955, 0.97),
    "CREAT": (0.16, 1.15, 1.35),
}
