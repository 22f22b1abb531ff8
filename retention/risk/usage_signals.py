"""The "falling use" churn-risk signal: product usage and website visits (customers'
UsageDay counts) in the last 30 days against the 60 days before.

For subscription businesses a falling level of use is the earliest sign: people stop
logging in before they cancel. A customer with no usage in the 90 days, or too little
before to call a fall a fall, has no data, so the signal adds nothing for businesses
that send no usage at all.
"""

from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import UsageDay

from .signals import Params, Signal


def falling_use_facts(
    id_from: int, id_to: int, as_of: date, params: Params
) -> dict[int, tuple[float, dict]]:
    """One query: per customer, events in the last `window_days` days (as_of included)
    and in the 2 × window_days before; strength = the fall against the earlier rate."""
    recent_from = as_of - timedelta(days=params.window_days - 1)
    prior_from = recent_from - timedelta(days=2 * params.window_days)
    rows = (
        UsageDay.objects.filter(
            customer_id__gte=id_from,
            customer_id__lt=id_to,
            day__gte=prior_from,
            day__lte=as_of,
        )
        .values("customer_id")
        .order_by()
        .annotate(
            recent=Sum("count", filter=Q(day__gte=recent_from), default=0),
            prior=Sum("count", filter=Q(day__lt=recent_from), default=0),
        )
    )
    facts = {}
    for row in rows:
        usual = row["prior"] / 2  # per window, over the two windows before
        if usual < params.threshold:
            continue  # too little use before for a fall to mean anything: no data
        strength = max(0.0, 1.0 - row["recent"] / usual)
        facts[row["customer_id"]] = (
            strength,
            {"recent": row["recent"], "usual": round(usual, 1), "window": params.window_days},
        )
    return facts


def describe(evidence: dict, as_of: date) -> str:
    return _("%(recent)s usage events in the last %(days)s days; usually %(usual)s.") % {
        "recent": evidence["recent"],
        "days": evidence["window"],
        "usual": number_format(evidence["usual"], 1, use_l10n=True),
    }


FALLING_USE = Signal(
    key="falling_use",
    label=gettext_lazy("Falling use"),
    description=gettext_lazy(
        "Product usage and website visits in the last 30 days against the average 30 days "
        "of the 60 before (customers with usage sent through the API)."
    ),
    threshold_help=gettext_lazy(
        "Events per window, on average before, a customer needs before a fall counts."
    ),
    window_help=gettext_lazy("Days of the recent window; the two windows before are compared."),
    default_weight=1.5,
    default_threshold=5.0,
    default_window_days=30,
    describe=describe,
    chunk_facts=falling_use_facts,
)

SIGNALS = [FALLING_USE]
