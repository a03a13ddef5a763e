"""Anti-tumour activity: PFS per RECIST 1.1, the 6-month PFS rate, Kaplan-Meier, and the FES-PET view."""

from safety.activity.config import PfsConfig, load_pfs_config
from safety.activity.km import KmPoint, kaplan_meier, km_at
from safety.activity.pet import best_percent_change, fes_pet_summary, response_by_visit
from safety.activity.pfs import derive_pfs
from safety.activity.rate import (
    SixMonthRate,
    clopper_pearson,
    landmark_status,
    left_follow_up,
    six_month_rate,
)

__all__ = [
    "KmPoint", "PfsConfig", "SixMonthRate", "best_percent_change", "clopper_pearson", "derive_pfs",
    "fes_pet_summary", "kaplan_meier", "km_at", "landmark_status", "left_follow_up", "load_pfs_config", "response_by_visit",
    "six_month_rate",
]
