"""REDCap as a source: export records through the API and map fields to the canonical tables.

One `content=record, type=flat` export of the mapped instruments per pull (JSON or CSV). In a
flat export a repeating instrument's rows carry `redcap_repeat_instrument` and
`redcap_repeat_instance`; the record's other rows leave them empty. Timeouts, connection
errors, server errors and bodies that are not an export are retried with backoff, then reported
as SourceUnavailable; an API error (HTTP 400/403 with {"error": ...}) is reported at once, since
a wrong token or field name does not fix itself.
"""

from __future__ import annotations

import io
import json
from typing import Literal

import polars as pl
import requests

from safety.config import StudyConfig
from safety.sources import Pull, SourceUnavailable
from safety.sources.mapping import (
    DomainMapping,
    Retry,
    Retryable,
    apply_mapping,
    load_mapping,
    pull_from_frames,
    secret_from_env,
    source_options,
    with_retries,
)

REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"


class RedcapOptions(Retry):
    url: str
    token_env: str = "VIGIL_REDCAP_TOKEN"
    mapping: str
    format: Literal["json", "csv"] = "json"
    record_id_field: str = "record_id"


def export_records(url: str, token: str, forms: list[str], fields: list[str], fmt: str, timeout: float) -> pl.DataFrame:
    """One export of records (all values as text); Retryable or SourceUnavailable on failure."""
    data = {"token": token, "content": "record", "format": fmt, "type": "flat", "rawOrLabel": "raw",
            "returnFormat": "json"}
    data |= {f"forms[{i}]": form for i, form in enumerate(forms)}
    data |= {f"fields[{i}]": field for i, field in enumerate(fields)}
    try:
        response = requests.post(url, data=data, timeout=timeout)
    except requests.Timeout as exc:
        raise Retryable(f"no answer within {timeout:g} s ({exc})") from None
    except requests.RequestException as exc:
        raise Retryable(f"cannot reach {url}: {exc}") from None
    if response.status_code != 200:
        message = _error_message(response)
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise Retryable(f"HTTP {response.status_code}: {message}")
        raise SourceUnavailable(f"REDCap {url} refused the export: HTTP {response.status_code}: {message}")
    return _parse_body(response.text, fmt)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])
    except ValueError:
        pass
    return response.text[:200].strip() or response.reason or "no message"


def _parse_body(text: str, fmt: str) -> pl.DataFrame:
    if fmt == "json":
        try:
            body = json.loads(text)
        except ValueError:
            raise Retryable(f"the answer is not JSON: {text[:80]!r}") from None
        if isinstance(body, dict) and "error" in body:
            raise SourceUnavailable(f"REDCap error: {body['error']}")
        if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
            raise Retryable(f"the answer is not a list of records: {text[:80]!r}")
        if not body:
            return pl.DataFrame()
        columns = list(dict.fromkeys(k for r in body for k in r))
        return pl.DataFrame({c: [_text(r.get(c)) for r in body] for c in columns}, schema=dict.fromkeys(columns, pl.String))
    if text.lstrip().startswith(("{", "<")):
        raise Retryable(f"the answer is not CSV records: {text[:80]!r}")
    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False) if text.strip() else pl.DataFrame()
    except Exception as exc:  # polars raises several kinds for malformed CSV
        raise Retryable(f"the answer is not readable CSV: {exc}") from None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def instrument_rows(records: pl.DataFrame, dm: DomainMapping) -> pl.DataFrame:
    """The rows of one instrument: its repeat instances, or the records' non-repeating rows."""
    if REPEAT_INSTRUMENT not in records.columns:
        return records
    instrument = pl.col(REPEAT_INSTRUMENT).fill_null("")
    if dm.repeating:
        rows = records.filter(instrument == (dm.form or ""))
        if dm.sequence and dm.sequence not in dm.columns and REPEAT_INSTANCE in rows.columns:
            rows = rows.with_columns(pl.col(REPEAT_INSTANCE).alias(f"__{dm.sequence}"))
        return rows
    return records.filter(instrument == "")


def pull_redcap(cfg: StudyConfig, rules_fingerprint: str, lab_units: pl.DataFrame | None = None) -> Pull:
    opts: RedcapOptions = source_options(cfg, RedcapOptions)
    mapping, mapping_path = load_mapping(cfg, opts.mapping)
    token = secret_from_env(opts.token_env, "the REDCap API token", cfg.path)
    forms = sorted({dm.form for dm in mapping.domains.values() if dm.form})
    fields = [opts.record_id_field]
    records = with_retries(lambda: export_records(opts.url, token, forms, fields, opts.format, opts.timeout_seconds),
                           opts, f"REDCap {opts.url}")
    if records.is_empty():
        raise SourceUnavailable(f"REDCap {opts.url}: the export holds no records")
    frames, labels = {}, {}
    for domain, dm in mapping.domains.items():
        rows = instrument_rows(records, dm)
        if dm.sequence and dm.sequence not in dm.columns and f"__{dm.sequence}" in rows.columns:
            dm = dm.model_copy(update={"columns": {**dm.columns, dm.sequence: f"__{dm.sequence}"}})
        frames[domain] = apply_mapping(rows, domain, dm, mapping.studyid, str(mapping_path))
        labels[domain] = f"redcap:{dm.form or domain}"
    return pull_from_frames(opts.url, "redcap", frames, mapping, rules_fingerprint, lab_units, labels)
