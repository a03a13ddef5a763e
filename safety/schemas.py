"""The canonical tables: SDTM-named columns with declared polars types.

Every source (SDTM files, REDCap, SQL) is mapped to these once, at the edge; everything
downstream reads these names. `required` columns must exist in a source file (an error
naming the file and column otherwise); the others are filled with nulls when absent.
`key` is the natural key a record is versioned by. For each ``--DTC`` column the canonical
frame also carries ``--DT`` (Date), ``--DTF`` (imputation flag) and ``--DTM`` (Datetime),
see `safety.dates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

S, F, INT = pl.String, pl.Float64, pl.Int64


@dataclass(frozen=True)
class TableSpec:
    domain: str
    columns: dict[str, pl.DataType]
    required: tuple[str, ...]
    key: tuple[str, ...]
    # --DTC columns and whether a partial date imputes to the first or last day of its period
    dates: dict[str, str] = field(default_factory=dict)
    # numeric columns whose text must parse (quarantine otherwise)
    numeric: tuple[str, ...] = ()

    @property
    def derived_columns(self) -> list[str]:
        from safety.dates import derived_names

        return [n for c in self.dates for n in derived_names(c)]


def _spec(domain, columns, required, key, dates=None, numeric=()) -> TableSpec:
    cols = {"STUDYID": S, "DOMAIN": S, "USUBJID": S} | columns
    return TableSpec(domain, cols, ("STUDYID", "USUBJID", *required), key, dates or {}, numeric)


DM = _spec(
    "DM",
    {
        "SUBJID": S, "SITEID": S, "ARMCD": S, "ARM": S, "ACTARMCD": S, "ACTARM": S,
        "COHORT": S, "RFSTDTC": S, "RFENDTC": S, "RFXSTDTC": S, "RFXENDTC": S, "RFICDTC": S,
        "AGE": F, "AGEU": S, "SEX": S, "RACE": S, "COUNTRY": S, "DTHFL": S, "DTHDTC": S,
    },
    ("RFXSTDTC",),
    ("USUBJID",),
    {"RFSTDTC": "first", "RFENDTC": "last", "RFXSTDTC": "first", "RFXENDTC": "last", "RFICDTC": "first", "DTHDTC": "first"},
    ("AGE",),
)

EX = _spec(
    "EX",
    {
        "EXSEQ": INT, "EXTRT": S, "EXDOSE": F, "EXDOSU": S, "EXDOSFRQ": S, "EXROUTE": S,
        "EXSTDTC": S, "EXENDTC": S, "EXADJ": S, "VISITNUM": F, "VISIT": S,
    },
    ("EXSEQ", "EXTRT", "EXSTDTC"),
    ("USUBJID", "EXSEQ"),
    {"EXSTDTC": "first", "EXENDTC": "last"},
    ("EXDOSE",),
)

SERIOUSNESS_FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")

AE = _spec(
    "AE",
    {
        "AESEQ": INT, "AESPID": S, "AETERM": S, "AEDECOD": S, "AEPTCD": INT, "AEBODSYS": S, "AESOC": S,
        "AESEV": S, "AETOXGR": INT, "AESER": S, **{f: S for f in SERIOUSNESS_FLAGS},
        # AEREL: relatedness to elacestrant (SDTM's own); AEREL2: to exemestane (from SUPPAE)
        "AEREL": S, "AEREL2": S, "AEACN": S, "AEACNOTH": S, "AEOUT": S,
        "AESTDTC": S, "AEENDTC": S,
        # the date the sponsor became aware of the event: day 0 of the SUSAR clock (SUPPAE)
        "AEAWDTC": S,
        "AETRTEM": S,
    },
    ("AESEQ", "AETERM", "AESTDTC"),
    ("USUBJID", "AESEQ"),
    {"AESTDTC": "first", "AEENDTC": "last", "AEAWDTC": "first"},
    ("AETOXGR",),
)

LB = _spec(
    "LB",
    {
        "LBSEQ": INT, "LBTESTCD": S, "LBTEST": S, "LBCAT": S, "LBORRES": S, "LBORRESU": S,
        "LBORNRLO": S, "LBORNRHI": S, "LBSTRESC": S, "LBSTRESN": F, "LBSTRESU": S,
        "LBSTNRLO": F, "LBSTNRHI": F, "LBNRIND": S, "LBBLFL": S, "VISITNUM": F, "VISIT": S,
        "LBDTC": S,
    },
    ("LBSEQ", "LBTESTCD", "LBDTC"),
    ("USUBJID", "LBSEQ"),
    {"LBDTC": "first"},
    ("LBSTRESN", "LBSTNRLO", "LBSTNRHI"),
)

RS = _spec(
    "RS",
    {
        "RSSEQ": INT, "RSLNKGRP": S, "RSTESTCD": S, "RSTEST": S, "RSCAT": S, "RSORRES": S,
        "RSSTRESC": S, "RSSTAT": S, "RSEVAL": S, "RSEVALID": S, "RSACPTFL": S,
        "VISITNUM": F, "VISIT": S, "RSDTC": S,
    },
    ("RSSEQ", "RSTESTCD", "RSDTC"),
    ("USUBJID", "RSSEQ"),
    {"RSDTC": "first"},
)

TU = _spec(
    "TU",
    {
        "TUSEQ": INT, "TULNKID": S, "TUTESTCD": S, "TUTEST": S, "TUORRES": S, "TUSTRESC": S,
        "TULOC": S, "TUMETHOD": S, "TUEVAL": S, "TUEVALID": S, "TUACPTFL": S,
        "VISITNUM": F, "VISIT": S, "TUDTC": S,
    },
    ("TUSEQ", "TUTESTCD"),
    ("USUBJID", "TUSEQ"),
    {"TUDTC": "first"},
)

TR = _spec(
    "TR",
    {
        "TRSEQ": INT, "TRGRPID": S, "TRLNKGRP": S, "TRLNKID": S, "TRTESTCD": S, "TRTEST": S,
        "TRORRES": S, "TRORRESU": S, "TRSTRESC": S, "TRSTRESN": F, "TRSTRESU": S, "TRSTAT": S,
        "TRMETHOD": S, "TREVAL": S, "TREVALID": S, "TRACPTFL": S, "VISITNUM": F, "VISIT": S,
        "TRDTC": S,
        # [18F]FES-PET: FES-avid flag per lesion measurement (SUPPTR qualifier)
        "TRFESAVD": S,
    },
    ("TRSEQ", "TRTESTCD"),
    ("USUBJID", "TRSEQ"),
    {"TRDTC": "first"},
    ("TRSTRESN",),
)

DS = _spec(
    "DS",
    {
        "DSSEQ": INT, "DSSPID": S, "DSTERM": S, "DSDECOD": S, "DSCAT": S, "DSSCAT": S,
        "VISITNUM": F, "VISIT": S, "DSDTC": S, "DSSTDTC": S,
    },
    ("DSSEQ", "DSDECOD"),
    ("USUBJID", "DSSEQ"),
    {"DSDTC": "first", "DSSTDTC": "first"},
)

TABLES: dict[str, TableSpec] = {t.domain: t for t in (DM, EX, AE, LB, RS, TU, TR, DS)}
# Supplemental qualifier datasets merged into their parent domain (by QNAM, mapped in config)
SUPPLEMENTS = {"SUPPAE": "AE", "SUPPTR": "TR", "SUPPDM": "DM"}


def empty_frame(domain: str) -> pl.DataFrame:
    """An empty canonical frame with every declared and derived column."""
    spec = TABLES[domain]
    from safety.dates import derive_dates

    frame = pl.DataFrame(schema=spec.columns)
    for col, impute in spec.dates.items():
        frame = derive_dates(frame, col, impute)
    return frame


def key_hash(column: str = "_KEY") -> pl.Expr:
    """A 64-bit hash of each record key (`_KEY`), for comparing keys within one run; never stored."""
    return pl.col(column).hash(seed=7)


def keys_distinct(keys: pl.Series) -> bool:
    """Whether no key occurs twice. Distinct hashes mean distinct keys, so counting distinct 64-bit
    hashes says 'yes' exactly at a fraction of the cost of comparing millions of texts; a 'no' may
    be a hash collision, which the caller settles on the texts."""
    return keys.to_frame("_KEY").select(key_hash()).to_series().n_unique() == keys.len()
