"""The manifest: what was planted, where (domain, USUBJID, --SEQ), when and why, and what the service
should therefore conclude. Tests and operators compare the service's findings with it.

Planted facts describe the whole study; each record entry says whether it is `visible` in this
export (known by `as_of`). Counts that depend on the export (6-month PFS, Simon stage 1) are
computed from the exported records themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from safety.demo import planted as P
from safety.demo.labs import PLANTED_VALUES
from safety.demo.study import DemoStudy
from safety.demo.terms import BACKGROUND_TERMS, SIGNAL_INCIDENCE, SIGNAL_TERM, SIMON

PFS6_DAYS = 182  # 6 months; no scan falls between day 172 and day 220, so 172-220 all give the same counts


@dataclass
class Manifest:
    study: dict
    files: dict
    planted: dict
    defects: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"study": self.study, "files": self.files, "planted": self.planted, "defects": self.defects}


def _usubjid(study: DemoStudy, idx: int) -> str:
    return study.plan["USUBJID"][idx]


def _first(study: DemoStudy, idx: int) -> date:
    return study.plan["FIRST"][idx]


def _day_date(study: DemoStudy, idx: int, day: int) -> str:
    return (_first(study, idx) + timedelta(days=day - 1 if day > 0 else day)).isoformat()


def _ae_record(study: DemoStudy, files: dict, role_or_idx, decod: str | None = None) -> dict:
    ae = study.tables["AE"]
    sel = ae.filter(pl.col("_ROLE") == role_or_idx) if decod is None else ae.filter(
        (pl.col("USUBJID") == _usubjid(study, role_or_idx)) & (pl.col("AEDECOD") == decod) & (pl.col("_ROLE") != ""))
    versions = sel.sort("_KNOWN")
    last = versions.row(-1, named=True)
    key = {"domain": "AE", "USUBJID": last["USUBJID"], "AESEQ": last["AESEQ"]}
    shown = files["ae"].filter((pl.col("USUBJID") == last["USUBJID"]) & (pl.col("AESEQ") == last["AESEQ"]))
    return {
        **key, "AEDECOD": last["AEDECOD"], "AETOXGR": last["AETOXGR"], "AESER": last["AESER"],
        "AEREL": last["AEREL"], "AEREL2": last["AEREL2"], "AEOUT": last["AEOUT"],
        "AESTDTC": last["AESTDTC"], "AEENDTC": last["AEENDTC"], "AEAWDTC": last["AEAWDTC"],
        "versions": [{"known_from": v["_KNOWN"].isoformat(), "AETOXGR": v["AETOXGR"], "AESER": v["AESER"],
                      "AEOUT": v["AEOUT"], "AEENDTC": v["AEENDTC"], "AEAWDTC": v["AEAWDTC"]}
                     for v in versions.iter_rows(named=True)],
        "visible": shown.height > 0,
    }


def _lab_records(study: DemoStudy, files: dict, idx: int) -> list[dict]:
    lb = files["lb"]
    out = []
    for (i, day), tests in PLANTED_VALUES.items():
        if i != idx:
            continue
        dtc = _day_date(study, idx, day)
        for code in tests:
            row = lb.filter((pl.col("USUBJID") == _usubjid(study, idx)) & (pl.col("LBDTC") == dtc)
                            & (pl.col("LBTESTCD") == code))
            rec = {"domain": "LB", "USUBJID": _usubjid(study, idx), "LBTESTCD": code, "LBDTC": dtc,
                   "study_day": day, "LBSTRESN": tests[code], "visible": row.height > 0}
            if row.height:
                rec["LBSEQ"] = int(row["LBSEQ"][0])
                rec["x_ULN"] = round(tests[code] / row["LBSTNRHI"][0], 3)
            out.append(rec)
    return out


def _pfs6(study: DemoStudy, files: dict) -> dict:
    """6-month progression-free status per subject from the exported RS and DM (deaths)."""
    dm = files["dm"].select("USUBJID", pl.col("RFXSTDTC").str.to_date(strict=False).alias("FIRST"),
                            pl.col("DTHDTC").str.to_date(strict=False).alias("DEATH"))
    rs = files["rs"].select("USUBJID", "RSSTRESC", pl.col("RSDTC").str.to_date(strict=False).alias("D"))
    per = dm.join(rs, on="USUBJID", how="left").with_columns(DAY=(pl.col("D") - pl.col("FIRST")).dt.total_days() + 1)
    summary = per.group_by("USUBJID").agg(
        FIRST=pl.col("FIRST").first(),
        PD_DAY=pl.col("DAY").filter(pl.col("RSSTRESC") == "PD").min(),
        LAST_SCAN=pl.col("DAY").max(),
        DEATH_DAY=((pl.col("DEATH") - pl.col("FIRST")).dt.total_days() + 1).first(),
    ).with_columns(EVENT_DAY=pl.min_horizontal("PD_DAY", "DEATH_DAY")).with_columns(
        STATUS=pl.when(pl.col("EVENT_DAY") <= PFS6_DAYS).then(pl.lit("EVENT"))
        .when((pl.col("LAST_SCAN") >= PFS6_DAYS) | (pl.col("EVENT_DAY") > PFS6_DAYS)).then(pl.lit("PROGRESSION-FREE"))
        .otherwise(pl.lit("NOT EVALUABLE YET"))
    ).sort("FIRST", "USUBJID")
    evaluable = summary.filter(pl.col("STATUS") != "NOT EVALUABLE YET")
    stage1 = evaluable.head(SIMON["n1"])
    pf_stage1 = int((stage1["STATUS"] == "PROGRESSION-FREE").sum())
    return {
        "definition": f"progression-free at day {PFS6_DAYS}: no PD (RS OVRLRESP) and no death by then, and a "
                      "scan on or after that day or a progression after it; evaluable when that is known",
        "evaluable": evaluable.height,
        "progression_free": int((evaluable["STATUS"] == "PROGRESSION-FREE").sum()),
        "not_evaluable_yet": summary.height - evaluable.height,
        "simon": {
            **SIMON,
            "stage1_subjects": stage1["USUBJID"].to_list(),
            "stage1_complete": stage1.height == SIMON["n1"],
            "stage1_progression_free": pf_stage1,
            "futility_crossed": stage1.height == SIMON["n1"] and pf_stage1 <= SIMON["r1"],
            "why": f"true 6-month PFS rate planted at about {P.PFS6_RATE}; exactly {P.STAGE1_PROGRESSION_FREE} of "
                   f"the first {SIMON['n1']} evaluable subjects are progression-free, <= r1 = {SIMON['r1']}",
        },
    }


def _incidence(files: dict, n_treated: int, terms: list[str]) -> dict:
    ae = files["ae"]
    counts = ae.filter(pl.col("AEDECOD").is_in(terms)).group_by("AEDECOD").agg(pl.col("USUBJID").n_unique())
    found = dict(zip(counts["AEDECOD"].to_list(), counts["USUBJID"].to_list(), strict=True))
    return {t: {"subjects": found.get(t, 0), "incidence": round(found.get(t, 0) / max(n_treated, 1), 3)}
            for t in terms}


def build_manifest(study: DemoStudy, files: dict, as_of: date | None, fmt: str, written: dict,
                   defects: list) -> Manifest:
    plan = study.plan
    n_treated = files["dm"].height
    run_in = plan.filter(pl.col("COHORT") == "SAFETY RUN-IN")
    evaluable_run_in = [u for i, u in zip(run_in["IDX"], run_in["USUBJID"], strict=True)
                        if i != P.NOT_EVALUABLE_SUBJECT]
    ae_roles = {r: _ae_record(study, files, r) for r in (
        "DLT", "SUSAR_HYS_LAW", "SUSAR_FATAL", "SUSAR_SERIOUS_ON_FOLLOW_UP", "SUSAR_NO_AWARENESS_DATE",
        "CORRECTION_GRADE", "CORRECTION_OUTCOME", "NOT_SUSAR_NOT_RELATED")}
    expected_serious = [_ae_record(study, files, i, d) for i, d in (
        (P.NC_NAUSEA_SUBJECT, "Nausea"), (P.NC_VOMITING_SUBJECT, "Vomiting"),
        (P.NC_HYPERSENS_SUBJECT, "Hypersensitivity"))]
    why_expected = {
        "Nausea": "related to elacestrant only; nausea is listed as expected when serious in the elacestrant RSI",
        "Vomiting": "related to elacestrant only; vomiting is listed as expected when serious in the elacestrant RSI",
        "Hypersensitivity": "related to exemestane only; hypersensitivity is expected as serious in the exemestane RSI",
    }
    hy_labs = _lab_records(study, files, P.DILI_SUBJECT)
    deaths = plan.filter(pl.col("DEATH_DAY") > 0)
    nact = plan.filter(pl.col("NACT_DAY") > 0)
    on_file = set(files["dm"]["USUBJID"].to_list())

    def subj(i: int) -> dict:
        u = _usubjid(study, i)
        return {"USUBJID": u, "cohort": plan["COHORT"][i], "first_dose": _first(study, i).isoformat(),
                "visible": u in on_file}

    tox_events = [ae_roles["DLT"]["USUBJID"]]
    tox_discontinued = [_usubjid(study, P.PNEUMONITIS_SUBJECT), _usubjid(study, P.DILI_SUBJECT)]
    planted = {
        "run_in": {
            "subjects": [subj(i) for i in run_in["IDX"]],
            "dose_level": "0 (elacestrant 345 mg + exemestane 25 mg)",
            "dlt_evaluable": evaluable_run_in,
            "not_evaluable": {**subj(P.NOT_EVALUABLE_SUBJECT), "reason": "withdrew consent (personal reasons) "
                              f"on day {P.WITHDRAWAL_DAY}, not for toxicity: not DLT-evaluable, replaced",
                              "withdrawal_date": _day_date(study, P.NOT_EVALUABLE_SUBJECT, P.WITHDRAWAL_DAY)},
            "dlts": [{
                **subj(P.DLT_SUBJECT), "rule": "1: grade 4 neutrophil count decreased lasting more than 7 days",
                "ae": ae_roles["DLT"], "labs": _lab_records(study, files, P.DLT_SUBJECT),
                "why": "NEUT < 0.5 x10^9/L on days 15 and 19, first result below grade 4 on day 24 (0.85): 9 days; "
                       "matching AE grade 4, POSSIBLE to elacestrant; elacestrant interrupted days 16-21 and "
                       "reduced to 258 mg from day 22 (22 of 28 doses taken, no interruption > 14 days)",
            }],
            "dlts_among_first_6_evaluable": 1,
            "expected_decision": "CONFIRM DOSE",
            "no_other_dlt": "no other subject has a related grade >= 3 AE before day 57, an interruption in days "
                            "1-28, or a lab value of grade >= 3 (random labs are kept at grade <= 2)",
        },
        "hys_law": {
            **subj(P.DILI_SUBJECT), "labs": hy_labs, "ae": ae_roles["SUSAR_HYS_LAW"],
            "why": f"ALT 4.4 x ULN on day {P.DILI_ALT_DAY} (>= 3), bilirubin 2.48 x ULN on day {P.DILI_BILI_DAY} "
                   "(>= 2, 7 days later), ALP 1.31 x ULN (< 2); after day 28, so not a DLT; ALT/AST stay <= 5 x ULN",
            "is_dlt": False,
        },
        "susars": [
            {**ae_roles["SUSAR_HYS_LAW"], "clock_days": 15, "related_to": ["ELACESTRANT", "EXEMESTANE"],
             "why": "serious (hospitalised), related to both; drug-induced liver injury is not in the elacestrant "
                    "RSI, so unexpected (related to both needs expected for both)"},
            {**ae_roles["SUSAR_FATAL"], "clock_days": 7, "related_to": ["EXEMESTANE"],
             "why": "myocardial infarction is expected as serious for exemestane (ischaemic cardiac events) but "
                    "not as fatal: a fatal outcome makes it unexpected; 7-day clock from AEAWDTC"},
            {**ae_roles["SUSAR_SERIOUS_ON_FOLLOW_UP"], "clock_days": 15, "related_to": ["ELACESTRANT"],
             "why": "pneumonitis, POSSIBLE to elacestrant, not in its RSI; non-serious grade 2 in its first version, "
                    "serious (hospitalised, grade 3) on follow-up: the SUSAR exists from the follow-up version and "
                    "its day 0 is the AEAWDTC of that version"},
            {**ae_roles["SUSAR_NO_AWARENESS_DATE"], "clock_days": 15, "related_to": ["ELACESTRANT"],
             "why": "atrial fibrillation, POSSIBLE to elacestrant, serious, not in the RSI; AEAWDTC is missing "
                    "(no SUPPAE AEAWDTC row): the service must flag the missing day 0"},
        ],
        "negative_controls": {
            "serious_not_susar": [
                *[{**r, "why": why_expected[r["AEDECOD"]]} for r in expected_serious],
                {**ae_roles["NOT_SUSAR_NOT_RELATED"], "why": "serious pneumonia, NOT RELATED to either drug"},
            ],
            "expected_terms_at_reference_rate": {
                t: {"reference_rate": rate, **_incidence(files, n_treated, [t])[t]}
                for t, _, rate, *_ in BACKGROUND_TERMS
            },
            "note": "each background term is given to exactly round(rate x N) subjects; a planted serious AE may "
                    "add one subject to its term",
        },
        "signal": {
            "AEDECOD": SIGNAL_TERM[0], "AEBODSYS": SIGNAL_TERM[1], "reference_rate": SIGNAL_TERM[2],
            "planted_incidence": SIGNAL_INCIDENCE, **_incidence(files, n_treated, [SIGNAL_TERM[0]])[SIGNAL_TERM[0]],
            "why": "hypertension (exemestane label ~10%, not listed for elacestrant) in 40% of subjects",
        },
        "corrections": [
            {**ae_roles["CORRECTION_GRADE"], "what": "AETOXGR 1 -> 2 (and resolved) in a later export"},
            {**ae_roles["CORRECTION_OUTCOME"], "what": "AEOUT RECOVERED/RESOLVED -> RECOVERED/RESOLVED WITH SEQUELAE"},
            {**ae_roles["SUSAR_SERIOUS_ON_FOLLOW_UP"], "what": "AESER N -> Y (AESHOSP), AETOXGR 2 -> 3 on follow-up"},
        ],
        "fes_protocol_deviations": [
            {**subj(i), "why": "1 of 3 target lesions FES-avid at baseline (SUVmax >= 1.5): < 50%, eligibility "
                               "deviation"} for i in P.FES_LOW_SUBJECTS
        ],
        "deaths": [{**subj(int(r["IDX"])), "DTHDTC": _day_date(study, int(r["IDX"]), int(r["DEATH_DAY"])),
                    "cause": r["DEATH_CAUSE"]} for r in deaths.iter_rows(named=True)],
        "new_anticancer_therapy": [{**subj(int(r["IDX"])), "DSSTDTC": _day_date(study, int(r["IDX"]),
                                                                                 int(r["NACT_DAY"]))}
                                   for r in nact.iter_rows(named=True)],
        "efficacy": _pfs6(study, files),
        "toxicity_monitoring": {
            "related_grade3plus_in_first_two_cycles": tox_events,
            "discontinued_for_toxicity": tox_discontinued,
            "expected": "1 event (the DLT) under the 'first two cycles' reading, 3 if discontinuations at any "
                        "time count; neither the Bayesian rule nor the Pocock-type boundary is crossed",
        },
    }
    study_info = {
        "studyid": study.studyid, "seed": study.seed, "start": study.start.isoformat(),
        "data_cut": study.data_cut.isoformat(), "as_of": as_of.isoformat() if as_of else None,
        "format": fmt, "subjects_total": plan.height, "subjects_in_export": n_treated,
        "run_in_size": run_in.height, "scaled": study.scaled,
    }
    return Manifest(study_info, written, planted, defects)
