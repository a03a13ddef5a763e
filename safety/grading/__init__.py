"""CTCAE v5.0 lab grading: criteria as data (config/), one generic grading mechanism.

- `load_criteria(path)` reads and validates `config/ctcae_v5_lab.csv` and `config/lab_units.csv`.
- `derive_lab_grades(lb, dm, criteria)` adds ATOXGRL/ATOXGRH and friends to every LB row.
- `worst_grades(graded)`, `shift_table(graded)` summarise post-baseline grades.
- `reconcile_labs_with_aes(graded, ae, window_days, criteria)` lists lab/AE discrepancies for review.
"""

from safety.grading.criteria import Criteria, CriteriaError, Criterion, load_criteria
from safety.grading.grade import derive_lab_grades

__all__ = ["Criteria", "CriteriaError", "Criterion", "derive_lab_grades", "load_criteria"]
