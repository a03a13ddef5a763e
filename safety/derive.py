"""Every derivation of a monitoring cycle, as one pure function of the canonical tables.

In: the current canonical frames, the committee's DLT decisions, the SUSAR submissions, the data
cut and the rules (config/). Out: named derived tables, each with the version of the rules that
made it, for the store to keep and the dashboard, alerts and listings to read.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import polars as pl

from safety.config import StudyConfig


@dataclass
class Inputs:
    tables: dict[str, pl.DataFrame]
    ae_versions: pl.DataFrame  # every stored version of every AE, with _valid_from
    confirmations: pl.DataFrame  # CANDIDATE_ID, DECISION, BY, AT, COMMENT
    submissions: pl.DataFrame  # CASE_ID, REPORT_TYPE, SUBMITTED_ON
    data_cut: date


@dataclass
class Derived:
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, frame: pl.DataFrame, version: str) -> None:
        self.tables[name] = frame
        self.versions[name] = version


@dataclass(frozen=True)
class Rules:
    """Every rule file a cycle uses, loaded and validated once."""

    criteria: object
    dlt: object
    boundaries: object
    pv: object
    rsi: object
    signals: object
    pfs: object

    @classmethod
    def load(cls, cfg: StudyConfig) -> Rules:
        from safety.activity import load_pfs_config
        from safety.boundaries import load_boundary_config
        from safety.dlt import load_dlt_rules
        from safety.grading import load_criteria
        from safety.rsi import load_rsi
        from safety.signals import load_signal_config
        from safety.susar import load_pv_config

        return cls(
            criteria=load_criteria(cfg.folder),
            dlt=load_dlt_rules(cfg.resolve("dlt.yaml")),
            boundaries=load_boundary_config(cfg.resolve("boundaries.yaml")),
            pv=load_pv_config(cfg.resolve("pharmacovigilance.yaml")),
            rsi=load_rsi(cfg.resolve("rsi.yaml")),
            signals=load_signal_config(cfg.resolve("signals.yaml")),
            pfs=load_pfs_config(cfg.resolve("pfs.yaml")),
        )


@contextlib.contextmanager
def _timed(derived: Derived, step: str):
    start = time.perf_counter()
    yield
    derived.seconds[step] = round(time.perf_counter() - start, 4)


def derive_all(inputs: Inputs, rules: Rules) -> Derived:
    out = Derived()
    t = inputs.tables
    with _timed(out, "grading"):
        graded = _labs(out, t, rules)
    with _timed(out, "dlt"):
        _dlt(out, t, graded, inputs, rules)
    with _timed(out, "boundaries"):
        _activity(out, t, rules, inputs.data_cut)
        _boundaries(out, rules)
    with _timed(out, "susar"):
        _susar(out, t, inputs, rules)
    with _timed(out, "signals"):
        _signals(out, t, rules, inputs.data_cut)
    return out


def _labs(out: Derived, t: dict[str, pl.DataFrame], rules: Rules) -> pl.DataFrame:
    from safety.grading import derive_lab_grades
    from safety.grading.reconcile import reconcile_labs_with_aes
    from safety.grading.summary import shift_table, worst_grades

    graded = derive_lab_grades(t["LB"], t["DM"], rules.criteria)
    version = rules.criteria.version
    out.put("lb_graded", graded, version)
    out.put("lab_worst", worst_grades(graded), version)
    out.put("lab_shift", shift_table(graded), version)
    out.put("lab_review", reconcile_labs_with_aes(graded, t["AE"], criteria=rules.criteria), version)
    return graded


def _dlt(out: Derived, t, graded: pl.DataFrame, inputs: Inputs, rules: Rules) -> None:
    from safety.dlt import dlt_candidates, dlt_report, dlt_status, read_lab_rows, runin_decision
    from safety.dlt.exposure import dosing_periods
    from safety.dlt.window import ENGINE, dlt_window
    from safety.hyslaw import hys_law
    from safety.toxicity_events import toxicity_events

    r = rules.dlt
    # The DLT rules and Hy's law read the same few rows of the graded LB, and the candidates,
    # status and toxicity events the same windows and dosing periods: each worked out once.
    labs = read_lab_rows(graded, r)
    window, periods = pl.collect_all([dlt_window(t["DM"], t["EX"], r), dosing_periods(t["EX"], r, inputs.data_cut)],
                                     engine=ENGINE)
    candidates = dlt_candidates(t["AE"], labs, t["EX"], t["DM"], r, window=window, periods=periods)
    status = dlt_status(t["DM"], t["EX"], candidates, inputs.confirmations, r, inputs.data_cut, ds=t["DS"],
                        window=window, periods=periods)
    decision = runin_decision(status, t["DM"], r)
    cases, edish = hys_law(labs, r)
    tox = toxicity_events(t["AE"], t["DM"], t["EX"], t["DS"], r, inputs.data_cut, window=window)
    out.put("dlt_candidates", candidates, r.version)
    out.put("dlt_status", status, r.version)
    out.put("dlt_report", dlt_report(status, candidates, inputs.confirmations), r.version)
    row = asdict(decision)
    row["levels"] = "; ".join(
        f"level {lv['dose_level']}: {lv['n_evaluable']} evaluable, {lv['n_dlt']} DLT, {lv['outcome']}"
        for lv in row.pop("levels")
    )
    row["subjects"] = ", ".join(row["subjects"])
    row["dlt_subjects"] = ", ".join(row["dlt_subjects"])
    out.put("runin_decision", pl.DataFrame([row]), r.version)
    out.put("hyslaw_cases", cases, r.version)
    out.put("edish", edish, r.version)
    out.put("tox_events", tox, r.version)


def _activity(out: Derived, t, rules: Rules, data_cut: date) -> None:
    from safety.activity import (
        best_percent_change,
        derive_pfs,
        fes_pet_summary,
        kaplan_meier,
        landmark_status,
        left_follow_up,
        response_by_visit,
        six_month_rate,
    )

    p = rules.pfs
    pfs = derive_pfs(t["DM"], t["RS"], t["DS"], p, data_cut)
    rate = six_month_rate(pfs, p)
    landmark = landmark_status(pfs, p.six_month_rate.landmark_day, left_follow_up(t["DS"], p.six_month_rate))
    out.put("pfs", landmark, p.version)
    out.put("pfs_rate", pl.DataFrame([rate.as_dict()]), p.version)
    if pfs.height:
        out.put("pfs_km", kaplan_meier(pfs["AVAL"], 1 - pfs["CNSR"]), p.version)
    out.put("fes_pet", fes_pet_summary(t["TR"], t["TU"], t["DM"], p), p.version)
    out.put("waterfall", best_percent_change(t["TR"], t["TU"], t["DM"]), p.version)
    out.put("response_by_visit", response_by_visit(t["RS"], t["DM"]), p.version)


def _simon_counts(landmark: pl.DataFrame, design) -> tuple[int, int]:
    """(progression-free, known) for Simon's rule. Stage 1 is the first n1 subjects by first dose
    (Simon 1989: the sample sizes are fixed); past it, the first n. A subject still in follow-up
    keeps its place and counts once its 6-month status is known: taking the next subject with a
    known status instead would fill the stage with failures, known months before successes, and
    lean it towards futility. Only a subject who can never be evaluated (censored at a new
    anticancer therapy or after missed assessments, or whose follow-up ended: not LMPEND) is
    replaced by the next."""
    from safety.activity.rate import NOT_EVALUABLE, PROGRESSION_FREE

    known = pl.col("LMSTAT") != NOT_EVALUABLE
    cohort = landmark.filter(known | pl.col("LMPEND")).sort("STARTDT", "USUBJID")
    free = pl.col("LMSTAT") == PROGRESSION_FREE
    first = cohort.head(design.n1)
    pf1 = first.filter(free).height
    if first.height < design.n1 or pf1 <= design.r1:
        return pf1, first.filter(known).height
    final = cohort.head(design.n)
    return final.filter(free).height, final.filter(known).height


def _tox_counts(tox: pl.DataFrame, design) -> tuple[int, int]:
    """(events, evaluable n) for a continuous-monitoring rule. The rule is checked after each subject
    becomes evaluable (the event, or the end of the two cycles), up to n_max subjects, and stops at
    the first crossing, as its operating characteristics assume: subjects are taken in the order
    they became evaluable, only the first n_max count, and a crossing at an earlier look than the
    latest is reported at that look (several subjects can become evaluable between two cycles)."""
    import numpy as np

    evaluated = (
        tox.filter(pl.col("TOXEVAL") == "Y")
        .with_columns(pl.when(pl.col("TOXEVFL") == "Y").then(pl.col("TOXEVDT")).otherwise(pl.col("PERIODEND"))
                      .fill_null(pl.col("PERIODEND")).alias("_EVALDT"))
        .sort("_EVALDT", "FIRSTDOSE", "USUBJID")
        .head(design.boundary.n_max)
    )
    cum = np.concatenate([[0], np.cumsum((evaluated["TOXEVFL"] == "Y").to_numpy())])
    looks = np.arange(1, len(cum))
    crossed = looks[cum[1:] >= design.boundary.stop_at[looks]]
    n = int(crossed[0]) if crossed.size else len(cum) - 1
    return int(cum[n]), n


def _boundaries(out: Derived, rules: Rules) -> None:
    from safety.boundaries import status

    bcfg = rules.boundaries
    tox = out.tables["tox_events"]
    statuses, tables, ocs = [], [], []
    for rule in bcfg.rules:
        design = _design(rule)
        if rule.design in ("bayes", "pocock"):
            events, n = _tox_counts(tox, design)
        elif rule.design == "simon":
            events, n = _simon_counts(out.tables["pfs"], design)
        else:
            continue  # dose-finding designs are for the CLI; the trial does not monitor with them
        st = status(design, events, n)
        statuses.append(st.model_dump() | {"title": rule.title, "config_version": bcfg.version})
        table, oc = _design_tables(rule, tuple(bcfg.oc_rates))
        tables.append(table)
        ocs.append(oc)
    out.put("boundary_status", pl.DataFrame(statuses), bcfg.version)
    out.put("boundary_table", pl.concat(tables, how="diagonal_relaxed"), bcfg.version)
    out.put("boundary_oc", pl.concat(ocs, how="diagonal_relaxed"), bcfg.version)


@functools.lru_cache(maxsize=64)
def _design(rule):
    """Building a design can search (Pocock's gamma, Simon's n1/r1); rules are frozen and hashed by
    value, so each rule version is built once per process, not every cycle."""
    from safety.boundaries.config import design_from_rule

    return design_from_rule(rule)


@functools.lru_cache(maxsize=64)
def _design_tables(rule, oc_rates: tuple[float, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A design's boundary table and operating characteristics depend on its parameters only, not on
    the data: computed once per process and rule version, not every cycle."""
    from safety.boundaries import boundary_table, operating_characteristics

    design = _design(rule)
    tag = pl.lit(rule.id).alias("rule_id")
    return (boundary_table(design).with_columns(tag),
            operating_characteristics(design, list(oc_rates)).with_columns(tag))


def _susar(out: Derived, t, inputs: Inputs, rules: Rules) -> None:
    from safety.susar import classify_susars, susar_cases

    version = f"{rules.rsi.versions_label()}/{rules.pv.version}"
    classified = classify_susars(t["AE"], rules.rsi, rules.pv)
    out.put("ae_events", classified, version)
    cases, followups = susar_cases(
        inputs.ae_versions, rules.rsi, rules.pv, t["DM"], t["EX"], inputs.submissions, inputs.data_cut
    )
    out.put("susar_cases", cases, version)
    out.put("susar_followups", followups, version)
    out.put("ae_soc_pt", ae_soc_pt(classified), version)


def ae_soc_pt(ae: pl.DataFrame) -> pl.DataFrame:
    """Subjects by SOC and PT and their worst grade (each subject counted once per PT)."""
    per_subject = ae.group_by("AEBODSYS", "AEDECOD", "USUBJID").agg(
        pl.col("AETOXGR").max().alias("WORST"),
        pl.col("SERIOUS").any().alias("ANY_SERIOUS"),
        (pl.col("RELATED_ELA") | pl.col("RELATED_EXE")).any().alias("ANY_RELATED"),
    )
    grades = [(pl.col("WORST") == g).sum().alias(f"G{g}") for g in range(1, 6)]
    return (
        per_subject.group_by("AEBODSYS", "AEDECOD")
        .agg(pl.len().alias("N_SUBJ"), *grades, (pl.col("WORST") >= 3).sum().alias("N_G3PLUS"),
             pl.col("ANY_SERIOUS").sum().alias("N_SERIOUS"), pl.col("ANY_RELATED").sum().alias("N_RELATED"))
        .sort("N_SUBJ", "AEBODSYS", "AEDECOD", descending=[True, False, False])
    )


def _signals(out: Derived, t, rules: Rules, data_cut: date) -> None:
    from safety.signals import signal_table

    # Expected rates are today's knowledge: the RSI in force at the data cut.
    rsi = rules.rsi.in_force(data_cut)
    table = signal_table(t["AE"], t["DM"], rsi.reference_rates(), rules.signals, data_cut)
    out.put("signals_oe", table, f"{rules.signals.version}/{rsi.version}")
