"""When and whether a customer may be written to: consent, cadence caps, quiet hours.

Never written to: customers without marketing consent, without an email address,
archived, or who unsubscribed. Cadence caps (settings): at most one follow-up every
FOLLOWUP_MIN_DAYS_BETWEEN days and FOLLOWUP_MAX_PER_MONTH per 30 days. Emails due
in quiet hours wait until they end. A follow-up sent by hand by staff is a
deliberate act: it respects consent and unsubscribes, not the caps.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from .models import EmailUnsubscribe, OutgoingEmail

ACTIVE_STATUSES = (
    OutgoingEmail.Status.QUEUED,
    OutgoingEmail.Status.SENDING,
    OutgoingEmail.Status.SENT,
)


@dataclass(frozen=True)
class Cadence:
    min_days_between: int
    max_per_month: int
    quiet_start: int  # hour, local time
    quiet_end: int


def cadence() -> Cadence:
    return Cadence(
        settings.FOLLOWUP_MIN_DAYS_BETWEEN,
        settings.FOLLOWUP_MAX_PER_MONTH,
        settings.FOLLOWUP_QUIET_HOURS_START,
        settings.FOLLOWUP_QUIET_HOURS_END,
    )


def in_quiet_hours(moment: datetime, rules: Cadence | None = None) -> bool:
    rules = rules or cadence()
    if rules.quiet_start == rules.quiet_end:
        return False  # no quiet hours
    hour = timezone.localtime(moment).hour
    if rules.quiet_start < rules.quiet_end:
        return rules.quiet_start <= hour < rules.quiet_end
    return hour >= rules.quiet_start or hour < rules.quiet_end  # spans midnight


def next_allowed_time(moment: datetime, rules: Cadence | None = None) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (business time zone)."""
    rules = rules or cadence()
    if not in_quiet_hours(moment, rules):
        return moment
    local = timezone.localtime(moment)
    end = local.replace(hour=rules.quiet_end, minute=0, second=0, microsecond=0)
    if end <= local:
        end = timezone.make_aware(
            datetime.combine(local.date() + timedelta(days=1), time(rules.quiet_end))
        )
    return end


def reachable(customers: QuerySet) -> QuerySet:
    """Customers a follow-up may be written to at all."""
    return (
        customers.filter(marketing_consent=True, archived_at__isnull=True)
        .exclude(email="")
        .exclude(pk__in=EmailUnsubscribe.objects.values("customer_id"))
    )


def capped_customers(
    customer_ids: list[int], *, now: datetime, rules: Cadence | None = None
) -> set[int]:
    """Those of `customer_ids` whose cadence caps forbid another follow-up now (one query)."""
    rules = rules or cadence()
    if not customer_ids:
        return set()
    month_ago = now - timedelta(days=30)
    recent_from = now - timedelta(days=rules.min_days_between)
    rows = (
        OutgoingEmail.objects.filter(
            customer_id__in=customer_ids,
            kind__in=OutgoingEmail.CUSTOMER_KINDS,
            status__in=ACTIVE_STATUSES,
            created_at__gte=month_ago,
        )
        .values("customer_id")
        .order_by()
        .annotate(count=Count("id"), last=Max("created_at"))
    )
    return {
        row["customer_id"]
        for row in rows
        if row["count"] >= rules.max_per_month or row["last"] > recent_from
    }


def why_not_reachable(customer: Customer) -> str:
    """Why a follow-up cannot be written to `customer` (empty when it can)."""
    if not customer.email:
        return _("This customer has no email address.")
    if not customer.marketing_consent:
        return _("This customer has not given marketing consent.")
    if customer.archived_at is not None:
        return _("This customer is archived.")
    if EmailUnsubscribe.objects.filter(customer=customer).exists():
        return _("This customer unsubscribed from follow-up emails.")
    return ""
