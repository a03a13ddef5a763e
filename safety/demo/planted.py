"""Where the planted events live: fixed subject positions (in order of first dose) and study days.

Positions are fixed rather than drawn so that the manifest, the tests and the people reading the
dashboard can name them; everything else about the subjects is random. Day 1 = first dose.
"""

from __future__ import annotations

RUN_IN_SIZE = 7          # 6 DLT-evaluable + 1 replaced
MIN_SUBJECTS = 45        # the planted positions below need this many subjects

DLT_SUBJECT = 1          # grade 4 neutrophil count decreased lasting 9 days (days 15-23)
NOT_EVALUABLE_SUBJECT = 2  # withdrew consent on day 10 (personal reasons): not DLT-evaluable
WITHDRAWAL_DAY = 10

PNEUMONITIS_SUBJECT = 9    # grade 2 non-serious on day 70, serious grade 3 on follow-up (day 79)
DILI_SUBJECT = 12          # potential Hy's law + related serious 'Drug-induced liver injury'
MI_SUBJECT = 15            # fatal myocardial infarction related to exemestane (7-day clock)
AF_SUBJECT = 18            # 'Atrial fibrillation' SUSAR with the awareness date missing
NC_NAUSEA_SUBJECT = 20     # serious nausea related to elacestrant: expected, not a SUSAR
CORR_GRADE_SUBJECT = 21    # diarrhoea grade 1 -> 2 in a later export
NC_HYPERSENS_SUBJECT = 23  # serious hypersensitivity related to exemestane: expected
CORR_OUTCOME_SUBJECT = 24  # musculoskeletal pain outcome corrected to 'RECOVERED/RESOLVED WITH SEQUELAE'
NC_PNEUMONIA_SUBJECT = 26  # serious pneumonia, not related: not a SUSAR
NC_VOMITING_SUBJECT = 29   # serious vomiting related to elacestrant: expected
FES_LOW_SUBJECTS = (33, 40)  # < 50% FES-avid target lesions at baseline: protocol deviation

PNEUMONITIS_DAY, PNEUMONITIS_SERIOUS_DAY = 70, 79
DILI_ALT_DAY, DILI_BILI_DAY, DILI_AE_DAY, DILI_STOP_DAY = 71, 78, 76, 77
MI_DAY = 140
AF_DAY = 90

# Subjects whose planted events need them on treatment until about day 100: a progression, if any,
# comes at the second or third 8-weekly scan, never the first.
LATE_PROGRESSION = (
    DLT_SUBJECT, PNEUMONITIS_SUBJECT, DILI_SUBJECT, AF_SUBJECT, NC_NAUSEA_SUBJECT, CORR_GRADE_SUBJECT,
    NC_HYPERSENS_SUBJECT, CORR_OUTCOME_SUBJECT, NC_PNEUMONIA_SUBJECT, NC_VOMITING_SUBJECT,
)

# Planted 6-month progression-free count among the first Simon n1 (=14) efficacy-evaluable subjects.
STAGE1_PROGRESSION_FREE = 4
PFS6_RATE = 0.30
