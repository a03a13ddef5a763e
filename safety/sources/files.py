"""Read SDTM domain files in the formats EDC exports come in: XPT v5, CSV, Parquet, Dataset-JSON.

Every reader returns the file's columns as they are (names upper-cased); typing and validation
happen once, in `safety.sources.canonical`. A file that cannot be read raises `SourceFileError`
naming the file and the cause, never a library traceback.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from safety.schemas import SUPPLEMENTS, TABLES

FORMATS = {".parquet": "parquet", ".json": "dataset-json", ".ndjson": "dataset-json", ".xpt": "xpt", ".csv": "csv"}
# When a folder holds one domain in several formats, the first found here is read (typed formats first).
PREFERENCE = ("parquet", "dataset-json", "xpt", "csv")


class SourceFileError(ValueError):
    """A whole file could not be used (unreadable, wrong format, missing required column)."""

    def __init__(self, path: Path | str, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


def domain_of(path: Path) -> str | None:
    """`ae.xpt` -> AE, `rs_onco.parquet` -> RS, `supptr_onco.parquet` -> SUPPTR; None if not ours."""
    stem = path.name.split(".")[0].upper()
    for candidate in (stem, stem.split("_")[0]):
        if candidate in TABLES or candidate in SUPPLEMENTS:
            return candidate
    return None


def discover(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    """The file to read per domain, and the files passed over (other domains, other formats)."""
    if not folder.is_dir():
        raise SourceFileError(folder, "source folder does not exist")
    chosen: dict[str, Path] = {}
    skipped: list[Path] = []
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
    rank = {fmt: i for i, fmt in enumerate(PREFERENCE)}
    for path in sorted(files, key=lambda p: rank[FORMATS[p.suffix.lower()]]):
        domain = domain_of(path)
        if domain is None or domain in chosen:
            skipped.append(path)
        else:
            chosen[domain] = path
    return chosen, sorted(skipped)


def fingerprint(paths: list[Path]) -> str:
    """sha256 over the names and bytes of the files read: same files, same fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_file(path: Path) -> pl.DataFrame:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceFileError(path, f"unsupported file type {path.suffix!r} (XPT, CSV, Parquet, Dataset-JSON)")
    try:
        frame = _READERS[fmt](path)
    except SourceFileError:
        raise
    except Exception as exc:  # each library raises its own types; the user needs the file and the cause
        raise SourceFileError(path, f"cannot read {fmt} file ({type(exc).__name__}: {exc})") from None
    return frame.rename({c: c.upper() for c in frame.columns})


def _read_parquet(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def _read_csv(path: Path) -> pl.DataFrame:
    # everything as text: numbers and dates are typed and checked in one place, with reasons
    return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")


def _read_xpt(path: Path) -> pl.DataFrame:
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(path))
    _check_xpt_complete(path, meta, len(frame))
    # SAS writes missing character values as empty strings; canonical typing maps them to null
    return pl.from_pandas(frame)


_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


def _check_xpt_complete(path: Path, meta, n_rows: int) -> None:
    """readstat returns the rows it could read from a truncated transport file without an error;
    ingesting those would silently mark the rest deleted. A v5 file is whole 80-byte records, its
    observations fill the file after the OBS header, and only blank padding may follow the last."""
    data = path.read_bytes()
    if len(data) % 80:
        raise SourceFileError(path, f"truncated SAS transport file ({len(data)} bytes, not whole 80-byte records)")
    start = data.rfind(_OBS_HEADER)
    widths = getattr(meta, "variable_storage_width", None) or {}
    row_len = sum(widths.values())
    if start < 0 or row_len <= 0:
        return
    body = data[start + 80:]
    full = len(body) // row_len
    tail = body[full * row_len:]
    if n_rows > full or tail.strip(b" ") or (full - n_rows) * row_len >= 80:
        raise SourceFileError(
            path, f"truncated SAS transport file: {len(body)} bytes of observations for rows of {row_len} bytes"
        )


def _read_dataset_json(path: Path) -> pl.DataFrame:
    """CDISC Dataset-JSON v1.1: top-level `columns` (name, dataType) and `rows` (arrays)."""
    with path.open(encoding="utf-8") as fh:
        if path.suffix.lower() == ".ndjson":
            header = json.loads(fh.readline())
            rows = [json.loads(line) for line in fh if line.strip()]
        else:
            doc = json.load(fh)
            header, rows = doc, doc.get("rows")
    columns = header.get("columns") if isinstance(header, dict) else None
    if not isinstance(columns, list) or rows is None:
        raise SourceFileError(path, "not Dataset-JSON v1.1 (needs 'columns' and 'rows')")
    names = [c["name"] for c in columns]
    numeric = {"integer": pl.Int64, "float": pl.Float64, "double": pl.Float64, "decimal": pl.Float64}
    schema = {c["name"]: numeric.get(c.get("dataType", "string"), pl.String) for c in columns}
    bad = next((i for i, r in enumerate(rows) if len(r) != len(names)), None)
    if bad is not None:
        raise SourceFileError(path, f"row {bad + 1} has {len(rows[bad])} values for {len(names)} columns")
    return pl.DataFrame(rows, schema=schema, orient="row", strict=False)


_READERS = {"parquet": _read_parquet, "csv": _read_csv, "xpt": _read_xpt, "dataset-json": _read_dataset_json}
