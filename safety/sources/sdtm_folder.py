"""A folder of SDTM exports (XPT, CSV, Parquet, Dataset-JSON) as a source."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from safety.schemas import SUPPLEMENTS
from safety.sources import DomainPull, Pull, SourceUnavailable
from safety.sources.canonical import Canonical, canonicalize, merge_supplemental
from safety.sources.files import SourceFileError, discover, fingerprint, read_file


def pull_folder(
    folder: Path, supplemental: dict[str, dict[str, str]], rules_fingerprint: str,
    lab_units: pl.DataFrame | None = None,
) -> Pull:
    try:
        chosen, skipped = discover(folder)
    except SourceFileError as exc:
        raise SourceUnavailable(str(exc)) from None
    pull = Pull(source=str(folder), kind="sdtm_files", skipped=[p.name for p in skipped])
    supps = {SUPPLEMENTS[d]: p for d, p in chosen.items() if d in SUPPLEMENTS}
    for domain, path in chosen.items():
        if domain in SUPPLEMENTS:
            if SUPPLEMENTS[domain] not in chosen:
                pull.errors.append(f"{path}: {domain} has no {SUPPLEMENTS[domain]} file to qualify")
            continue
        files = [path] + ([supps[domain]] if domain in supps else [])
        digest = hashlib.sha256((fingerprint(files) + rules_fingerprint).encode()).hexdigest()
        pull.domains[domain] = DomainPull(
            domain, [str(p) for p in files], digest,
            _loader(domain, path, supps.get(domain), supplemental.get(f"SUPP{domain}", {}), lab_units),
        )
    return pull


def _loader(domain: str, path: Path, supp_path: Path | None, qnams: dict[str, str], lab_units):
    def load() -> Canonical:
        raw = read_file(path)
        supp_quarantine, ignored = None, {}
        if supp_path is not None:
            supp = read_file(supp_path)
            raw, supp_quarantine, n_ignored = merge_supplemental(raw, supp, qnams, domain, str(supp_path))
            if n_ignored:
                ignored[f"SUPP{domain}"] = n_ignored
        result = canonicalize(raw, domain, str(path), lab_units if domain == "LB" else None)
        if supp_quarantine is not None and supp_quarantine.height:
            result.quarantine = pl.concat([result.quarantine, supp_quarantine], how="vertical_relaxed")
        result.ignored = ignored
        return result

    return load
