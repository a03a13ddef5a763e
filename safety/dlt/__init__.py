"""DLTs for the safety run-in (protocol.md "DLT definition", "Safety run-in").

load_dlt_rules -> dlt_candidates -> (committee confirmations) -> dlt_status -> runin_decision;
dlt_report joins status and candidates for the CLI. read_lab_rows finds the graded LB rows the
lab rules and Hy's law read, once for both.
"""

from safety.dlt.candidates import CANDIDATE_COLUMNS, dlt_candidates
from safety.dlt.lab_rows import LabRows, read_lab_rows
from safety.dlt.rules import DltRules, load_dlt_rules, parse_dlt_rules
from safety.dlt.runin import LevelTally, RunInDecision, runin_decision
from safety.dlt.status import dlt_report, dlt_status

__all__ = [
    "CANDIDATE_COLUMNS", "DltRules", "LabRows", "LevelTally", "RunInDecision", "dlt_candidates", "dlt_report",
    "dlt_status", "load_dlt_rules", "parse_dlt_rules", "read_lab_rows", "runin_decision",
]
