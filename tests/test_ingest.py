"""Issue 3: every source row stored or quarantined, versions kept, failures leave the store as it was."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyreadstat
import pytest

from safety.ingest import IngestError, ingest
from safety.schemas import TABLES
from safety.sources.configured import pull_source
from safety.sources.files import read_file


def _pull(cfg, folder: Path):
    return pull_source(cfg, folder)


@pytest.fixture(params=["hashed keys", "colliding key hashes"])
def key_hash(request, monkeypatch):
    """The store matches records through 64-bit hashes of their keys and must stay exact when two
    keys share a hash; 'colliding' makes every key of the same length share one."""
    if request.param == "colliding key hashes":
        from safety import schemas
        from safety.store import records

        def colliding(column: str = "_KEY") -> pl.Expr:
            return pl.col(column).str.len_bytes().cast(pl.UInt64)

        monkeypatch.setattr(schemas, "key_hash", colliding)  # keys_distinct reads it here
        monkeypatch.setattr(records, "key_hash", colliding)  # the join on keys, here
    return request.param


@pytest.mark.parametrize("study", ["cdiscpilot01", "onco_examples"])
def test_each_public_study_is_stored_or_quarantined_row_for_row(sdtm_dir, study_config, store, study):
    folder = sdtm_dir / study
    result = ingest(store, _pull(study_config, folder))
    assert result.status == "success", result.errors
    quarantine = store.quarantine(result.run_id)
    for domain, info in result.per_domain.items():
        source_rows = read_file(Path(info["files"][0])).height
        stored = store.current(domain).height
        quarantined = quarantine.filter(pl.col("domain") == domain).height
        assert stored + quarantined == source_rows, domain
        assert stored > 0
    if study == "cdiscpilot01":
        # six LB results are '<x'-style text with no standard numeric value (checked in the source)
        lb_q = quarantine.filter(pl.col("domain") == "LB")
        assert lb_q.height == 6
        assert lb_q["reason"].str.contains("LBSTRESN missing while LBORRES holds '<").all()
        ae = store.current("AE")
        assert ae["AETRTEM"].drop_nulls().len() == ae.height  # SUPPAE merged by QNAM
        partial = ae.filter(pl.col("AESTDTF").is_not_null())
        assert partial.height == 26  # the README's 26 partial start dates, kept as text with a flag
        assert (partial["AESTDTC"].str.len_chars() < 10).all()


def test_second_ingest_writes_no_version_and_a_grade_change_writes_exactly_one(tmp_path, study_config, store,
                                                                             key_hash):
    from safety.demo import generate_study, write_study

    folder = tmp_path / "export"
    write_study(generate_study(), folder, fmt="parquet")
    first = ingest(store, _pull(study_config, folder))
    assert first.counts.new > 0 and first.quarantined == 0
    changesets = store.last_changeset_id()

    again = ingest(store, _pull(study_config, folder))
    assert (again.counts.new, again.counts.changed, again.counts.deleted) == (0, 0, 0)
    assert store.last_changeset_id() == changesets

    # same content written differently (rows reversed): compared record by record, still nothing new
    ae_path = folder / "ae.parquet"
    ae = pl.read_parquet(ae_path)
    ae.reverse().write_parquet(ae_path)
    reordered = ingest(store, _pull(study_config, folder))
    assert reordered.per_domain["AE"].get("skipped_unchanged") is not True
    assert (reordered.counts.new, reordered.counts.changed) == (0, 0)

    target = ae.filter(pl.col("AETOXGR") == 1).row(0, named=True)
    changed = ae.with_columns(
        pl.when((pl.col("USUBJID") == target["USUBJID"]) & (pl.col("AESEQ") == target["AESEQ"]))
        .then(pl.lit(2, pl.Int64).cast(ae.schema["AETOXGR"])).otherwise(pl.col("AETOXGR")).alias("AETOXGR")
    )
    changed.write_parquet(ae_path)
    third = ingest(store, _pull(study_config, folder))
    assert (third.counts.new, third.counts.changed, third.counts.deleted) == (0, 1, 0)
    key = f"{target['STUDYID']}|{target['USUBJID']}|{target['AESEQ']}"
    versions = store.history("AE", key).sort("_VERSION")
    assert versions["_VERSION"].to_list() == [1, 2]
    assert versions["AETOXGR"].to_list() == [1, 2]  # the old version is still readable
    assert versions["_RUN_ID"].to_list() == [first.run_id, third.run_id]
    current = store.current("AE").filter(pl.col("_KEY") == key)
    assert current["AETOXGR"].item() == 2


def test_a_record_that_disappears_is_marked_deleted_never_removed(tmp_path, study_config, store, sdtm_dir, key_hash):
    folder = tmp_path / "src"
    folder.mkdir()
    dm = pl.read_parquet(sdtm_dir / "cdiscpilot01" / "dm.parquet")
    dm.write_parquet(folder / "dm.parquet")
    ingest(store, _pull(study_config, folder))
    gone = dm.row(0, named=True)["USUBJID"]
    dm.filter(pl.col("USUBJID") != gone).write_parquet(folder / "dm.parquet")
    result = ingest(store, _pull(study_config, folder))
    assert result.counts.deleted == 1
    assert gone not in store.current("DM")["USUBJID"].to_list()
    history = store.history("DM").filter(pl.col("USUBJID") == gone).sort("_VERSION")
    assert history["_OP"].to_list() == ["new", "deleted"]
    # it comes back: a new version, not a new record
    dm.write_parquet(folder / "dm.parquet")
    back = ingest(store, _pull(study_config, folder))
    assert back.counts.new == 1 and gone in store.current("DM")["USUBJID"].to_list()


def test_an_ingest_killed_halfway_leaves_the_store_unchanged(tmp_path, study_config, store, sdtm_dir):
    folder = sdtm_dir / "cdiscpilot01"
    ingest(store, _pull(study_config, folder))
    before = {d: store.history(d).height for d in TABLES}
    runs_before = store.runs().height

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    lb = pl.read_parquet(copy / "lb.parquet")
    lb.with_columns(pl.col("LBSTRESN") * 1.01).write_parquet(copy / "lb.parquet")
    ae = pl.read_parquet(copy / "ae.parquet")
    ae.with_columns(pl.lit("MODERATE").alias("AESEV")).write_parquet(copy / "ae.parquet")
    written = []

    def die_halfway(domain: str, n: int) -> None:
        written.append((domain, n))
        if len(written) == 1:  # after the first domain's rows are written, before the second's
            raise RuntimeError("injected failure")

    with pytest.raises(IngestError, match="rolled back"):
        ingest(store, _pull(study_config, copy), progress=die_halfway)
    assert written, "the failure was injected after rows were written"
    assert {d: store.history(d).height for d in TABLES} == before
    runs = store.runs()
    assert runs.height == runs_before + 1
    assert runs.row(0, named=True)["status"] == "failed"
    assert "injected failure" in runs.row(0, named=True)["message"]


def test_corrupt_inputs_give_clear_errors_and_lose_no_rows(tmp_path, study_config, store, sdtm_dir):
    folder = tmp_path / "bad"
    folder.mkdir()
    src = sdtm_dir / "cdiscpilot01"
    # a truncated XPT file
    data = (src / "ex.xpt").read_bytes()
    (folder / "ex.xpt").write_bytes(data[: len(data) // 3])
    # a CSV with a required column missing
    dm = pl.read_parquet(src / "dm.parquet")
    dm.drop("RFXSTDTC").write_csv(folder / "dm.csv")
    # rows with a bad date, a missing subject and a duplicate key
    ae = pl.read_parquet(src / "ae.parquet").head(20)
    ae = ae.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("2014-02-30")).otherwise(pl.col("AESTDTC")).alias("AESTDTC"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("")).otherwise(pl.col("USUBJID")).alias("USUBJID"),
    )
    ae = pl.concat([ae, ae.slice(5, 1)])
    ae.write_csv(folder / "ae.csv")

    result = ingest(store, _pull(study_config, folder))
    assert result.status == "partial"
    assert any("ex.xpt" in e and "truncated SAS transport file" in e for e in result.errors)
    assert any("dm.csv" in e and "RFXSTDTC" in e for e in result.errors)
    assert all("\n" not in e for e in result.errors)
    q = store.quarantine(result.run_id)
    reasons = dict(zip(q["source_row"].to_list(), q["reason"].to_list(), strict=True))
    assert reasons[1] == "AESTDTC '2014-02-30' is not an ISO 8601 date"
    assert reasons[2] == "USUBJID missing"
    assert "duplicate natural key" in reasons[6] and "duplicate natural key" in reasons[21]
    assert store.current("AE").height + q.height == ae.height
    assert store.current("EX").height == 0 and store.current("DM").height == 0


def test_dataset_json_is_read_like_any_other_format(tmp_path, study_config, store, sdtm_dir):
    ae = pl.read_parquet(sdtm_dir / "cdiscpilot01" / "ae.parquet").head(50)
    folder = tmp_path / "dsj"
    folder.mkdir()
    doc = {
        "datasetJSONVersion": "1.1", "name": "AE", "records": ae.height,
        "columns": [{"itemOID": f"IT.AE.{c}", "name": c, "label": c,
                     "dataType": "float" if t == pl.Float64 else "string"} for c, t in ae.schema.items()],
        "rows": [list(r) for r in ae.iter_rows()],
    }
    (folder / "ae.json").write_text(json.dumps(doc))
    result = ingest(store, _pull(study_config, folder))
    assert result.status == "success"
    assert store.current("AE").height == 50


def test_xpt_written_by_sas_conventions_round_trips(tmp_path, study_config, store, sdtm_dir):
    """Character missing values are empty strings in XPT: they become nulls, not '' records."""
    folder = tmp_path / "xpt"
    folder.mkdir()
    shutil.copy(sdtm_dir / "cdiscpilot01" / "ae.xpt", folder / "ae.xpt")
    result = ingest(store, _pull(study_config, folder))
    ae = store.current("AE")
    assert result.status == "success" and ae.height == 1191
    assert ae["AEENDTC"].null_count() > 0 and (ae["AEENDTC"] == "").sum() == 0
    raw, _ = pyreadstat.read_xport(str(folder / "ae.xpt"))
    assert len(raw) == ae.height


def test_impossible_times_are_quarantined_and_an_hour_only_time_is_kept():
    """ISO 8601 / SDTM IG 4.4.2: hours 00-23, minutes and seconds 00-59; '2024-03-01T13' (time known
    to the hour) is a valid partial datetime. An impossible time is bad input: quarantined with its
    reason, like 2024-02-30, never rolled over into the next day."""
    from safety.sources.canonical import canonicalize

    lb = pl.DataFrame({
        "STUDYID": ["X"] * 5, "USUBJID": ["S1"] * 5, "LBSEQ": ["1", "2", "3", "4", "5"],
        "LBTESTCD": ["ALT"] * 5, "LBORRES": ["30"] * 5, "LBSTRESN": ["30"] * 5, "LBSTRESU": ["U/L"] * 5,
        "LBDTC": ["2024-03-01T25:00", "2024-03-01T12:60", "2024-03-01T12:30:61", "2024-03-01T13",
                  "2024-03-01T08:30:15+01:00"],
    })
    out = canonicalize(lb, "LB", "lb.csv")
    assert out.quarantine.select("SOURCE_ROW", "RECORD_KEY", "REASON").rows() == [
        (1, "X|S1|1", "LBDTC '2024-03-01T25:00' is not an ISO 8601 date"),
        (2, "X|S1|2", "LBDTC '2024-03-01T12:60' is not an ISO 8601 date"),
        (3, "X|S1|3", "LBDTC '2024-03-01T12:30:61' is not an ISO 8601 date"),
    ]
    # the hour-only time keeps its date (no minute is invented: no datetime to compare);
    # a zone suffix is kept in the text, the local clock time is used
    assert out.frame.select("LBSEQ", "LBDTC", "LBDT", "LBDTM").rows() == [
        (4, "2024-03-01T13", date(2024, 3, 1), None),
        (5, "2024-03-01T08:30:15+01:00", date(2024, 3, 1), datetime(2024, 3, 1, 8, 30, 15)),
    ]


def test_conflicting_supplemental_qualifiers_are_quarantined_not_chosen_by_row_order():
    """Bad input loses nothing: two SUPPAE rows giving one AE two different AEREL2 values cannot both be
    merged, and keeping the first by row order would silently drop the other. Both go to quarantine
    with file, row, key and reason; the AE's AEREL2 stays empty. An identical repeat is harmless."""
    from safety.sources.canonical import merge_supplemental

    ae = pl.DataFrame({"STUDYID": ["X"] * 2, "USUBJID": ["S1"] * 2, "AESEQ": [1, 2]})
    supp = pl.DataFrame({
        "USUBJID": ["S1"] * 4, "IDVAR": ["AESEQ"] * 4, "IDVARVAL": ["1", "1", "2", "2.0"],
        "QNAM": ["AEREL2"] * 4, "QVAL": ["RELATED", "NOT RELATED", "RELATED", "RELATED"],
    })
    merged, quarantine, ignored = merge_supplemental(ae, supp, {"AEREL2": "AEREL2"}, "AE", "suppae.csv")
    assert merged.select("AESEQ", "AEREL2").sort("AESEQ").rows() == [(1, None), (2, "RELATED")]
    assert quarantine.select("DOMAIN", "FILE", "SOURCE_ROW", "RECORD_KEY", "REASON").rows() == [
        ("SUPPAE", "suppae.csv", 1, "S1|1", "qualifier AEREL2 has conflicting values for one AE record"),
        ("SUPPAE", "suppae.csv", 2, "S1|1", "qualifier AEREL2 has conflicting values for one AE record"),
    ]
    assert ignored == 0


def test_supplemental_qualifiers_keyed_by_a_text_idvar_are_merged():
    """SDTM IG: IDVAR may name a text variable (--SPID, --GRPID, --LNKID); its values are not numbers and
    must meet the parent's as text, not be reported as qualifiers of records not in the source."""
    from safety.sources.canonical import merge_supplemental

    ae = pl.DataFrame({"STUDYID": ["X"] * 2, "USUBJID": ["S1"] * 2, "AESEQ": [1, 2], "AESPID": ["A-1", "A-2"]})
    supp = pl.DataFrame({"USUBJID": ["S1"] * 2, "IDVAR": ["AESPID"] * 2, "IDVARVAL": ["A-1", "A-2"],
                         "QNAM": ["AEREL2"] * 2, "QVAL": ["RELATED", "NOT RELATED"]})
    merged, quarantine, _ = merge_supplemental(ae, supp, {"AEREL2": "AEREL2"}, "AE", "suppae.csv")
    assert merged.select("AESEQ", "AEREL2").sort("AESEQ").rows() == [(1, "RELATED"), (2, "NOT RELATED")]
    assert quarantine.height == 0


def test_new_typing_rules_re_read_an_unchanged_file(tmp_path, study_config, store, monkeypatch):
    # An unchanged file is skipped by its fingerprint. When the rules that type and quarantine rows
    # change (canonical.CANONICAL_RULES), rows stored under the old rules must be judged again: the
    # same file is read again, not skipped.
    from safety.sources import configured

    folder = tmp_path / "export"
    folder.mkdir()
    pl.DataFrame({"STUDYID": "ST", "DOMAIN": "DM", "USUBJID": ["S1", "S2"], "RFXSTDTC": "2024-03-01"}).write_csv(
        folder / "dm.csv")
    with monkeypatch.context() as old:
        old.setattr(configured, "CANONICAL_RULES", "1")
        ingest(store, _pull(study_config, folder))
        assert ingest(store, _pull(study_config, folder)).per_domain["DM"].get("skipped_unchanged") is True
    rerun = ingest(store, _pull(study_config, folder))
    assert rerun.per_domain["DM"].get("skipped_unchanged") is not True
    assert (rerun.counts.new, rerun.counts.changed, rerun.counts.deleted) == (0, 0, 0)
