"""`write_study`: one export of the demo study as the EDC would have given it on `as_of`.

An export holds the subjects enrolled by `as_of` (DM known) and, for every record key, its latest
version known by then; the supplemental qualifiers (SUPPAE: AEREL2, AEAWDTC; SUPPTR: TRFESAVD) are
split out in standard SDTM layout. XPT is SAS transport v5: character nulls become empty strings.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl

from safety.demo.defects import apply_defects
from safety.demo.manifest import Manifest, build_manifest
from safety.demo.study import DOMAINS, DemoStudy
from safety.schemas import TABLES

Format = Literal["xpt", "parquet", "csv"]
KEYS = {d: TABLES[d].key for d in DOMAINS}
SUPP_QUALIFIERS = {
    "AE": ("AESEQ", {"AEREL2": "Causality to Exemestane", "AEAWDTC": "Date Sponsor Aware of Event"}),
    "TR": ("TRSEQ", {"TRFESAVD": "FES-Avid Lesion Flag"}),
}


def snapshot(study: DemoStudy, as_of: date | None = None) -> dict[str, pl.DataFrame]:
    """The latest version of each record known by `as_of` (all of them when None), canonical columns."""
    out = {}
    dm = _latest(study.tables["DM"], KEYS["DM"], as_of)
    subjects = dm.select("USUBJID")
    for domain in DOMAINS:
        frame = dm if domain == "DM" else _latest(study.tables[domain], KEYS[domain], as_of)
        frame = frame.join(subjects, on="USUBJID", how="semi")
        out[domain] = frame.drop([c for c in frame.columns if c.startswith("_")])
    return out


def _latest(frame: pl.DataFrame, key: tuple[str, ...], as_of: date | None) -> pl.DataFrame:
    if as_of is not None:
        frame = frame.filter(pl.col("_KNOWN") <= as_of)
    return frame.sort([*key, "_KNOWN"]).unique(list(key), keep="last", maintain_order=True)


def supplemental(frame: pl.DataFrame, domain: str) -> pl.DataFrame:
    """SUPPxx rows for the qualifiers of `domain` that are filled in `frame`."""
    idvar, labels = SUPP_QUALIFIERS[domain]
    parts = [
        frame.filter(pl.col(q).is_not_null() & (pl.col(q) != "")).select(
            "STUDYID", pl.lit(domain).alias("RDOMAIN"), "USUBJID", pl.lit(idvar).alias("IDVAR"),
            pl.col(idvar).cast(pl.String).alias("IDVARVAL"), pl.lit(q).alias("QNAM"), pl.lit(label).alias("QLABEL"),
            pl.col(q).alias("QVAL"), pl.lit("CRF").alias("QORIG"), pl.lit("").alias("QEVAL"),
            pl.col(idvar).alias("_SEQ"),
        )
        for q, label in labels.items()
    ]
    return pl.concat(parts).sort("USUBJID", "_SEQ", "QNAM").drop("_SEQ")


def export_tables(study: DemoStudy, as_of: date | None = None) -> dict[str, pl.DataFrame]:
    """The files of one export, by lower-case name (dm, ex, ae, suppae, lb, rs, tu, tr, supptr, ds)."""
    snap = snapshot(study, as_of)
    files = {}
    for domain in DOMAINS:
        frame = snap[domain]
        if domain in SUPP_QUALIFIERS:
            files[f"supp{domain.lower()}"] = supplemental(frame, domain)
            frame = frame.drop(list(SUPP_QUALIFIERS[domain][1]))
        files[domain.lower()] = frame
    order = ["dm", "ex", "ae", "suppae", "lb", "rs", "tu", "tr", "supptr", "ds"]
    return {name: files[name] for name in order}


def _write_one(frame: pl.DataFrame, path: Path, name: str, fmt: Format) -> None:
    if fmt == "parquet":
        frame.write_parquet(path)
    elif fmt == "csv":
        frame.write_csv(path)
    else:
        import pyreadstat

        # SAS transport has only 8-byte floats and fixed-width text: no character nulls
        pdf = frame.with_columns(
            [pl.col(c).fill_null("") for c, t in frame.schema.items() if t == pl.String]
            + [pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if t.is_integer()]
        ).to_pandas()
        pyreadstat.write_xport(pdf, str(path), table_name=name.upper()[:8], file_format_version=5)


def write_study(study: DemoStudy, out_dir: Path, as_of: date | None = None, fmt: Format = "xpt",
                with_defects: bool = False) -> Manifest:
    """Write one export (`dm.xpt` ... `ds.xpt` and `manifest.json`) and return its manifest."""
    if fmt not in ("xpt", "parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}: expected xpt, parquet or csv")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = export_tables(study, as_of)
    defects: list[dict] = []
    if with_defects:
        files, defects = apply_defects(files)
    written = {}
    for name, frame in files.items():
        path = out_dir / f"{name}.{fmt}"
        _write_one(frame, path, name, fmt)
        written[name] = {"file": path.name, "rows": frame.height}
    manifest = build_manifest(study, files, as_of, fmt, written, defects)
    (out_dir / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2, default=str) + "\n")
    return manifest
