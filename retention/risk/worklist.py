"""The at-risk queue as a work list: its filters, its compact rows, the one opened row's
actions, and which case comes next once one leaves the list.

Where a user is in the queue (its filters and page) travels as the queue's own query
string: in the page's address, in each row's address, and in the `next` field of every
action form, so that a partial, an action or a redirect lands on the same list.
"""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.forms import staff_users
from customers.params import parse_id, safe_next

from . import queue
from .forms import OutreachForm, QueueFilterForm, ResolveForm, SnoozeForm
from .models import CustomerRisk, RiskLevel
from .panels import describe_flags

# The parameter of the queue's address that opens one row.
OPEN = "open"

# The keyboard shortcuts of static/js/queue.js, for its help list: (keys, what they do,
# for admins only). Letters are the keys themselves, whatever the language.
SHORTCUTS = [
    (("j", "↓", "k", "↑"), _("Next / previous case"), False),
    ((pgettext_lazy("keyboard key", "Enter"), "o"), _("Open or close the case"), False),
    (("c",), _("Claim"), False),
    (("l",), _("Log outreach"), False),
    (("s",), _("Snooze (choose the date, then Enter)"), False),
    (("r",), _("Resolve (choose saved or lost, then Enter)"), False),
    (("x",), _("Select the case for a bulk action"), True),
    ((pgettext_lazy("keyboard key", "Esc"),), _("Leave a field, close the case"), False),
    (("?",), _("Show or hide this list"), False),
]


def owner_q(owner: str, user) -> Q:
    if owner == "me":
        return Q(customer__owner=user)
    if owner == "none":
        return Q(customer__owner__isnull=True)
    return Q(customer__owner_id=owner) if owner else Q()


def place(data: QueryDict, user, *, is_admin: bool) -> QueryDict:
    """The queue's filters and page from a query string, without the opened row.

    A manager's own id (a dashboard link) is their "me".
    """
    data = data.copy()
    data.pop(OPEN, None)
    if not is_admin and data.get("owner", str(user.pk)) == str(user.pk):
        data["owner"] = "me"
    return data


def place_from_next(request: HttpRequest, *, is_admin: bool) -> QueryDict:
    """The place an action form came from (its `next`), if that is the queue itself."""
    target = urlsplit(safe_next(request, ""))
    query = QueryDict(target.query) if target.path == reverse("retention:queue") else QueryDict()
    return place(query, request.user, is_admin=is_admin)


def queue_url(where: QueryDict, *, open_id: int | None = None) -> str:
    """The queue at `where`, with the row of `open_id` opened (and scrolled to)."""
    query = where.copy()
    if open_id is not None:
        query[OPEN] = str(open_id)
    encoded = query.urlencode()
    url = reverse("retention:queue") + (f"?{encoded}" if encoded else "")
    return url + (f"#case-{open_id}" if open_id is not None else "")


def filtered_cases(where: QueryDict, user, *, is_admin: bool):
    """(the filter form, the open cases it lists in queue order, the same cases to count)."""
    form = QueueFilterForm(where, user=user, is_admin=is_admin)
    if not form.is_valid():
        empty = CustomerRisk.objects.none()
        return form, empty, empty
    narrowed = owner_q(form.cleaned_data["owner"], user)
    if form.cleaned_data["level"] == RiskLevel.HIGH:
        narrowed &= Q(level=RiskLevel.HIGH)
    return form, queue.open_cases().filter(narrowed), queue.open_cases_to_count().filter(narrowed)


def page_number(where: QueryDict) -> int:
    return parse_id(where.get("page", "1")) or 1


def following_case(where: QueryDict, user, *, is_admin: bool, after: int) -> int | None:
    """The customer id of the case listed right after `after` at `where` (same filters and
    page), or None: read before `after` leaves the list, so its position is still known.

    The last row of a page is followed by the first of the next one (which moves up into
    this page when `after` leaves). One query of at most a page and one row.
    """
    _form, cases, _counted = filtered_cases(where, user, is_admin=is_admin)
    per_page = settings.CUSTOMERS_PER_PAGE
    start = (page_number(where) - 1) * per_page
    ids = list(cases.values_list("customer_id", flat=True)[start : start + per_page + 1])
    if after not in ids:
        return None
    index = ids.index(after)
    return ids[index + 1] if index + 1 < len(ids) else None


def adding_reasons(flags: list[dict]) -> list[dict]:
    """The reasons that add risk (positive contribution), largest first, described.

    Reasons that lower the risk are on the customer page; the queue says why to call.
    """
    adding = [flag for flag in flags if flag.get("contribution", 0) > 0]
    adding.sort(key=lambda flag: flag["contribution"], reverse=True)
    return describe_flags(adding)


def row_context(risk: CustomerRisk, today: date, *, opened: bool = False) -> dict:
    reasons = adding_reasons(risk.flags)
    return {
        "risk": risk,
        "customer": risk.customer,
        "flags": reasons,  # all of them: the first on the row, all in its title and panel
        "more_reasons": max(len(reasons) - 1, 0),
        "days_at_risk": (today - risk.level_since).days,
        "opened": opened,
    }


def owner_choices() -> list[tuple[int, str]]:
    """Assignable people (one query per page: the bulk bar and the opened row share it)."""
    return [(user.pk, user.get_full_name() or user.get_username()) for user in staff_users()]


@dataclass
class Actions:
    """What the opened row's action forms offer; made once per request."""

    owner_choices: list[tuple[int, str]]
    can_send_followup: bool

    @classmethod
    def for_request(cls, request: HttpRequest, *, is_admin: bool, owners=None) -> "Actions":
        if is_admin and owners is None:
            owners = owner_choices()
        return cls(
            owner_choices=owners or [],
            can_send_followup=request.user.has_perm("retention.add_outgoingemail"),
        )

    def context(self) -> dict:
        return {
            "owner_choices": self.owner_choices,
            "kind_choices": OutreachForm.base_fields["kind"].choices,
            "outcome_choices": ResolveForm.base_fields["outcome"].choices,
            "snooze_until": SnoozeForm().fields["until"].initial,
            "can_send_followup": self.can_send_followup,
        }
