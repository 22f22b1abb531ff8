"""The dashboard's sections, built from the figures: which tiles, which tables, what
each links to. One function per section, in the order the page shows them.

`links` says which pages the viewer may open (a staff user has no at-risk queue and
no survey pages): a figure links only where its page would open for them.
"""

from .common import Links
from .customers import churn_section, cohort_section, revenue_section
from .engagement import nps_section, onboarding_loyalty_section
from .retention import effect_section, risk_section

__all__ = [
    "Links",
    "churn_section",
    "cohort_section",
    "effect_section",
    "nps_section",
    "onboarding_loyalty_section",
    "revenue_section",
    "risk_section",
]
