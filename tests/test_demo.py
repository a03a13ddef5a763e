"""The demo study generator: determinism, as-of exports, XPT round trip, structure, planted events."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from safety.demo import export_tables, generate_scaled, generate_study, write_study
from safety.demo.terms import BACKGROUND_TERMS, SIGNAL_TERM
from safety.schemas import TABLES

RELATED = {"POSSIBLE", "PROBABLE", "DEFINITE"}


@pytest.fixture(scope="module")
def study():
    return generate_study()


@pytest.fixture(scope="module")
def export(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_xpt")
    manifest = write_study(study, out)
    return out, manifest, export_tables(study)


def _d(col: str) -> pl.Expr:
    return pl.col(col).str.to_date(strict=False)


def test_same_seed_gives_identical_frames(study):
    again = generate_study()
    for domain, frame in study.tables.items():
        assert frame.equals(again.tables[domain]), domain
    other = generate_study(seed=1)
    assert not other.tables["LB"].equals(study.tables["LB"])


def test_columns_follow_the_canonical_schema(export):
    _, _, files = export
    for name, frame in files.items():
        if name.startswith("supp"):
            assert frame.columns == ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
                                     "QORIG", "QEVAL"]
            continue
        spec = TABLES[name.upper()]
        supp = {"AEREL2", "AEAWDTC", "TRFESAVD"}
        assert set(frame.columns) == set(spec.columns) - supp, name
        assert all(len(c) <= 8 for c in frame.columns)
        key = frame.select(spec.key)
        assert key.n_unique() == frame.height, f"{name}: duplicate natural key"


def test_xpt_round_trip(export):
    import pyreadstat

    out, manifest, files = export
    assert json.loads((out / "manifest.json").read_text())["study"]["studyid"] == "VIGIL-ELA-EXE-01"
    for name, frame in files.items():
        back, _ = pyreadstat.read_xport(str(out / f"{name}.xpt"))
        assert back.shape == frame.shape, name
        assert list(back.columns) == frame.columns
        for col, dtype in frame.schema.items():
            mine = frame[col]
            theirs = back[col].to_numpy()
            if dtype == pl.String:
                assert mine.fill_null("").to_list() == list(theirs), (name, col)
            else:
                np.testing.assert_allclose(mine.cast(pl.Float64).to_numpy(), theirs.astype(float), equal_nan=True)


def test_as_of_exports_grow_and_carry_corrections(study, tmp_path):
    early, late = study.start + timedelta(days=200), study.start + timedelta(days=400)
    a, b = export_tables(study, early), export_tables(study, late)
    subj_a, subj_b = set(a["dm"]["USUBJID"]), set(b["dm"]["USUBJID"])
    assert subj_a < subj_b and len(subj_a) >= 7
    assert (a["lb"]["LBDTC"].str.to_date() <= early).all()
    # the grade correction: same key, first version grade 1, later grade 2
    full = write_study(study, tmp_path / "full", fmt="parquet").planted
    corr = full["corrections"][0]
    first_known = date.fromisoformat(corr["versions"][0]["known_from"])
    second_known = date.fromisoformat(corr["versions"][-1]["known_from"])
    key = (pl.col("USUBJID") == corr["USUBJID"]) & (pl.col("AESEQ") == corr["AESEQ"])
    v1 = export_tables(study, first_known)["ae"].filter(key)
    v2 = export_tables(study, second_known)["ae"].filter(key)
    assert v1.height == v2.height == 1
    assert (v1["AETOXGR"][0], v2["AETOXGR"][0]) == (1, 2)
    # the pneumonitis becomes serious on follow-up; its awareness date appears with that version
    follow = full["corrections"][2]
    key = (pl.col("USUBJID") == follow["USUBJID"]) & (pl.col("AESEQ") == follow["AESEQ"])
    before = export_tables(study, date.fromisoformat(follow["versions"][0]["known_from"]))
    after = export_tables(study, date.fromisoformat(follow["versions"][1]["known_from"]))
    assert before["ae"].filter(key)["AESER"][0] == "N" and after["ae"].filter(key)["AESER"][0] == "Y"
    aw = after["suppae"].filter((pl.col("USUBJID") == follow["USUBJID"]) & (pl.col("QNAM") == "AEAWDTC")
                                & (pl.col("IDVARVAL") == str(follow["AESEQ"])))
    assert aw.height == 1 and before["suppae"].filter(pl.col("QNAM") == "AEAWDTC").height < after["suppae"].filter(
        pl.col("QNAM") == "AEAWDTC").height


def test_structure(export):
    _, manifest, files = export
    dm = files["dm"]
    assert 55 <= dm.height <= 65
    assert 6 <= (dm["COHORT"] == "SAFETY RUN-IN").sum() <= 12
    first = dm.select("USUBJID", _d("RFXSTDTC").alias("F"))
    # every AE between the first dose and 28 days after the last dose (or the data cut)
    last_dose = files["ex"].group_by("USUBJID").agg(L=_d("EXENDTC").max())
    ae = files["ae"].join(first, on="USUBJID").join(last_dose, on="USUBJID")
    assert (ae["AESTDTC"].str.to_date() >= ae["F"]).all()
    assert (ae["AESTDTC"].str.to_date() <= ae["L"] + timedelta(days=28)).all()
    # labs: one baseline per subject and test, then every 1-4 weeks while on treatment
    lb = files["lb"]
    assert lb.filter(pl.col("LBBLFL") == "Y").group_by("USUBJID", "LBTESTCD").len()["len"].max() == 1
    gaps = (lb.filter(pl.col("LBTESTCD") == "ALT").select("USUBJID", D=_d("LBDTC")).sort("USUBJID", "D")
            .with_columns(G=pl.col("D").diff().over("USUBJID").dt.total_days()).drop_nulls("G"))
    assert gaps["G"].min() >= 3 and gaps["G"].max() <= 33
    assert set(files["rs"]["RSSTRESC"]) <= {"CR", "PR", "SD", "PD"}
    assert set(files["tr"].filter(pl.col("TRMETHOD") == "PET")["TRTESTCD"]) == {"SUVMAX"}
    assert files["supptr"].height == files["tr"].filter(pl.col("TRMETHOD") == "PET").height


def _liver(files) -> pl.DataFrame:
    return files["lb"].filter(pl.col("LBTESTCD").is_in(["ALT", "AST", "BILI", "ALP"])).with_columns(
        X=pl.col("LBSTRESN") / pl.col("LBSTNRHI"), D=_d("LBDTC"))


def test_hys_law_case_is_real_and_alone(export):
    _, manifest, files = export
    hy = manifest.planted["hys_law"]
    liver = _liver(files)
    amin = liver.filter(pl.col("LBTESTCD").is_in(["ALT", "AST"]) & (pl.col("X") >= 3)).select("USUBJID", "D")
    bili = liver.filter((pl.col("LBTESTCD") == "BILI") & (pl.col("X") >= 2)).select("USUBJID", BD="D")
    alp = liver.filter(pl.col("LBTESTCD") == "ALP").select("USUBJID", BD="D", ALPX="X")
    pairs = amin.join(bili, on="USUBJID").filter(
        (pl.col("BD") >= pl.col("D")) & (pl.col("BD") <= pl.col("D") + timedelta(days=30))
    ).join(alp, on=["USUBJID", "BD"]).filter(pl.col("ALPX") < 2)
    assert set(pairs["USUBJID"]) == {hy["USUBJID"]}
    assert liver.filter(pl.col("LBTESTCD").is_in(["ALT", "AST"]))["X"].max() <= 5  # no grade 3 transaminase
    first = files["dm"].filter(pl.col("USUBJID") == hy["USUBJID"])["RFXSTDTC"].str.to_date()[0]
    assert (pairs["D"].min() - first).days + 1 > 28  # after the DLT window
    assert hy["ae"]["AESER"] == "Y" and hy["ae"]["AEREL"] in RELATED


def test_one_dlt_in_the_run_in_and_no_other_candidate(export, study):
    _, manifest, files = export
    run_in = manifest.planted["run_in"]
    assert run_in["expected_decision"] == "CONFIRM DOSE" and len(run_in["dlt_evaluable"]) == 6
    dlt = run_in["dlts"][0]
    first = files["dm"].select("USUBJID", F=_d("RFXSTDTC"))
    ae = files["ae"].join(files["suppae"].filter(pl.col("QNAM") == "AEREL2").select(
        "USUBJID", AESEQ=pl.col("IDVARVAL").cast(pl.Int64), AEREL2="QVAL"), on=["USUBJID", "AESEQ"]).join(
        first, on="USUBJID").with_columns(DAY=(_d("AESTDTC") - pl.col("F")).dt.total_days() + 1)
    related_g3 = ae.filter((pl.col("AETOXGR") >= 3) & (pl.col("AEREL").is_in(RELATED) | pl.col("AEREL2").is_in(RELATED))
                           & (pl.col("DAY") <= 56))
    assert related_g3.select("USUBJID", "AESEQ").rows() == [(dlt["USUBJID"], dlt["ae"]["AESEQ"])]
    # the grade 4 neutropenia lasts > 7 days by consecutive labs
    neut = files["lb"].filter((pl.col("USUBJID") == dlt["USUBJID"]) & (pl.col("LBTESTCD") == "NEUT")).sort("LBDTC")
    g4 = neut.filter(pl.col("LBSTRESN") < 0.5)["LBDTC"].str.to_date()
    after = neut.filter((_d("LBDTC") > g4.max()) & (pl.col("LBSTRESN") >= 0.5))["LBDTC"].str.to_date().min()
    assert (after - g4.min()).days > 7
    assert files["lb"].filter((pl.col("LBTESTCD") == "NEUT") & (pl.col("LBSTRESN") < 1.0))["USUBJID"].unique().to_list() \
        == [dlt["USUBJID"]]
    # every evaluable run-in subject took >= 21 of 28 doses of each drug
    ex = files["ex"].join(first, on="USUBJID").with_columns(
        S=(_d("EXSTDTC") - pl.col("F")).dt.total_days() + 1, E=(_d("EXENDTC") - pl.col("F")).dt.total_days() + 1)
    doses = ex.filter(pl.col("USUBJID").is_in(run_in["dlt_evaluable"]) & (pl.col("S") <= 28)).group_by(
        "USUBJID", "EXTRT").agg(N=(pl.min_horizontal("E", pl.lit(28)) - pl.col("S") + 1).sum())
    assert doses.height == 12 and doses["N"].min() >= 21
    ne = run_in["not_evaluable"]["USUBJID"]
    assert files["ds"].filter((pl.col("USUBJID") == ne) & (pl.col("DSDECOD") == "WITHDRAWAL BY SUBJECT")).height >= 1


def test_susars_and_controls_are_consistent(export):
    _, manifest, files = export
    susars = manifest.planted["susars"]
    assert 2 <= len(susars) <= 4
    for s in susars:
        assert s["AESER"] == "Y" and (s["AEREL"] in RELATED or s["AEREL2"] in RELATED)
    assert any(s["AEOUT"] == "FATAL" and s["clock_days"] == 7 for s in susars)
    missing = [s for s in susars if s["AEAWDTC"] == ""]
    assert len(missing) == 1
    aw = files["suppae"].filter((pl.col("QNAM") == "AEAWDTC") & (pl.col("USUBJID") == missing[0]["USUBJID"])
                                & (pl.col("IDVARVAL") == str(missing[0]["AESEQ"])))
    assert aw.height == 0
    fatal = next(s for s in susars if s["AEOUT"] == "FATAL")
    dm = files["dm"].filter(pl.col("USUBJID") == fatal["USUBJID"])
    assert dm["DTHFL"][0] == "Y" and dm["DTHDTC"][0] == fatal["AESTDTC"]
    serious = files["ae"].filter(pl.col("AESER") == "Y").select("USUBJID", "AESEQ").rows()
    planted = {(s["USUBJID"], s["AESEQ"]) for s in susars} | {
        (c["USUBJID"], c["AESEQ"]) for c in manifest.planted["negative_controls"]["serious_not_susar"]}
    assert set(serious) == planted


def test_signal_and_reference_rates(export):
    _, manifest, files = export
    n = files["dm"].height
    sig = manifest.planted["signal"]
    observed = files["ae"].filter(pl.col("AEDECOD") == SIGNAL_TERM[0])["USUBJID"].n_unique() / n
    assert observed == pytest.approx(sig["incidence"], abs=1e-3) and observed > 2 * SIGNAL_TERM[2]
    for term, _, rate, *_ in BACKGROUND_TERMS:
        got = files["ae"].filter(pl.col("AEDECOD") == term)["USUBJID"].n_unique() / n
        assert got <= rate + 1.5 / n, term


def test_futility_and_fes_deviations(export):
    _, manifest, files = export
    simon = manifest.planted["efficacy"]["simon"]
    assert (simon["n1"], simon["r1"], simon["n"], simon["r"]) == (14, 5, 44, 20)
    assert simon["stage1_progression_free"] <= simon["r1"] and simon["futility_crossed"]
    pet0 = files["tr"].filter((pl.col("TRMETHOD") == "PET") & (pl.col("VISITNUM") == 0)).join(
        files["supptr"].select("USUBJID", TRSEQ=pl.col("IDVARVAL").cast(pl.Int64), F="QVAL"), on=["USUBJID", "TRSEQ"])
    frac = pet0.group_by("USUBJID").agg(A=(pl.col("F") == "Y").mean())
    low = set(frac.filter(pl.col("A") < 0.5)["USUBJID"])
    assert low == {d["USUBJID"] for d in manifest.planted["fes_protocol_deviations"]}


def test_defects_only_when_asked(study, tmp_path):
    m = write_study(study, tmp_path, fmt="parquet", with_defects=True)
    kinds = {d["kind"] for d in m.defects}
    assert len(kinds) == 5
    lb = pl.read_parquet(tmp_path / "lb.parquet")
    assert lb.select("USUBJID", "LBSEQ").n_unique() == lb.height - 1
    assert (lb["LBORRES"] == "<0.1").sum() == 1
    ae = pl.read_parquet(tmp_path / "ae.parquet")
    assert (ae["USUBJID"] == "").sum() == 1 and (ae["AESTDTC"] == "31/02/2026").sum() == 1


@pytest.mark.slow
def test_scaled_mode_is_fast():
    t0 = time.perf_counter()
    big = generate_scaled(n_subjects=2000, lb_rows_target=5_000_000, seed=7)
    elapsed = time.perf_counter() - t0
    assert big.tables["LB"].height >= 5_000_000
    assert big.plan.height == 2000
    assert elapsed < 45
