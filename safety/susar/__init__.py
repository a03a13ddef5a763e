"""SUSAR classification, cases and expedited-reporting clocks (ICH E2A, EU 536/2014, 21 CFR 312.32)."""

from safety.susar.cases import susar_cases
from safety.susar.classify import classify_susars
from safety.susar.config import PvConfig, load_pv_config

__all__ = ["PvConfig", "classify_susars", "load_pv_config", "susar_cases"]
