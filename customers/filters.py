"""The customer list's search, filters and sort order (django-filter).

Besides the visible filters, four hidden ones select the customers behind a dashboard
figure, from the membership spells: `gained` and `lost` ("YYYY-MM-DD..YYYY-MM-DD",
optionally ":reason"), `customer_on` (a day) and `cohort` ("YYYY-MM"). Links set
them; an active one shows as a chip that removes it.
"""

from datetime import date, timedelta
from typing import NamedTuple

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from . import membership
from .forms import staff_users
from .models import Customer, MembershipSpell, Tag

OWNER_ME = "me"
OWNER_NONE = "none"


class DayRange(NamedTuple):
    start: date
    end: date  # included
    reason: str  # "" for any


class DayRangeField(forms.Field):
    """ "2026-01-01..2026-03-31", or with a reason "2026-01-01..2026-03-31:churned"."""

    widget = forms.HiddenInput

    def __init__(self, *, reasons=(), **kwargs) -> None:
        super().__init__(**kwargs)
        self.reasons = set(reasons)

    def to_python(self, value) -> DayRange | None:
        if value in self.empty_values:
            return None
        days, _colon, reason = str(value).partition(":")
        first, _dots, last = days.partition("..")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            raise ValidationError(_("Write two days: YYYY-MM-DD..YYYY-MM-DD.")) from None
        if end < start:
            raise ValidationError(_("The range ends before it starts."))
        if reason and reason not in self.reasons:
            raise ValidationError(_("Unknown reason: %(reason)s.") % {"reason": reason})
        return DayRange(start, end, reason)


class MonthField(forms.Field):
    """ "2026-01": the month's first and last day."""

    widget = forms.HiddenInput

    def to_python(self, value) -> tuple[date, date] | None:
        if value in self.empty_values:
            return None
        try:
            start = date.fromisoformat(f"{value}-01")
        except ValueError:
            raise ValidationError(_("Write a month: YYYY-MM.")) from None
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start, following - timedelta(days=1)


class DayRangeFilter(django_filters.Filter):
    field_class = DayRangeField


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, email or company"), "type": "search"}
        ),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Customer.Status.choices, empty_label=_("Any status")
    )
    owner = django_filters.ChoiceFilter(
        label=_("Account manager"), method="filter_owner", empty_label=_("Anyone")
    )
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"),
        field_name="tags",
        queryset=Tag.objects.all(),
        empty_label=_("Any tag"),
    )
    renewal = django_filters.ChoiceFilter(
        label=_("Renewal"),
        method="filter_renewal",
        empty_label=_("Any time"),
        choices=[
            ("overdue", _("Overdue")),
            ("30", _("In the next 30 days")),
            ("60", _("In the next 60 days")),
            ("90", _("In the next 90 days")),
        ],
    )
    archived = django_filters.ChoiceFilter(
        label=_("Archived"),
        method="filter_archived",
        empty_label=_("Not archived"),
        choices=[("only", _("Archived only")), ("all", _("Archived and current"))],
    )
    gained = DayRangeFilter(
        label=_("Gained"), method="filter_gained", reasons=MembershipSpell.StartReason.values
    )
    lost = DayRangeFilter(
        label=_("Lost"), method="filter_lost", reasons=MembershipSpell.EndReason.values
    )
    customer_on = django_filters.DateFilter(
        label=_("A customer on"), method="filter_customer_on", widget=forms.HiddenInput
    )
    cohort = MonthFilter(label=_("Started in"), method="filter_cohort")
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[
            ("name", "name"),
            ("status", "status"),
            ("renewal_date", "renewal"),
            ("monthly_value", "value"),
            ("last_interaction_at", "last_contact"),
            ("customer_since", "since"),
            ("created_at", "created"),
        ],
        field_labels={
            "name": _("Name"),
            "status": _("Status"),
            "renewal_date": _("Renewal date"),
            "monthly_value": _("Monthly value"),
            "last_interaction_at": _("Last contact"),
            "customer_since": _("Customer since"),
            "created_at": _("Created"),
        },
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        owner_choices = [(OWNER_ME, _("My customers")), (OWNER_NONE, _("Unassigned"))]
        owner_choices += [(str(u.pk), u.get_full_name() or u.get_username()) for u in staff_users()]
        self.filters["owner"].extra["choices"] = owner_choices
        # Bootstrap classes on the widgets: the list renders the form by hand
        # (crispy's per-field templates cost ~15 ms on every list request).
        for field in self.form.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        # The id tie-breaker makes pages stable and matches the (column, id) indexes.
        ordering = list(queryset.query.order_by) or ["name"]
        if not any(field.lstrip("-") == "id" for field in ordering):
            last_desc = ordering[-1].startswith("-")
            ordering.append("-id" if last_desc else "id")
        return queryset.order_by(*ordering)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if not value:
            return queryset
        # One denormalised, trigram-indexed column holds name, email and company.
        return queryset.filter(search_text__contains=value)

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == OWNER_ME:
            return queryset.filter(owner=self.user)
        if value == OWNER_NONE:
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=value)

    def filter_renewal(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        today = timezone.localdate()
        if value == "overdue":
            return queryset.filter(renewal_date__lt=today)
        return queryset.filter(
            renewal_date__gte=today, renewal_date__lte=today + timedelta(days=int(value))
        )

    def filter_archived(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "only":
            return queryset.filter(archived_at__isnull=False)
        return queryset  # "all"

    # --- The customers behind a dashboard figure (membership spells) ---------------------

    def filter_gained(self, queryset: QuerySet, name: str, value: DayRange) -> QuerySet:
        condition = membership.started_between(value.start, value.end)
        if value.reason:
            condition &= Q(start_reason=value.reason)
        return queryset.filter(pk__in=membership.customers_with_spells(condition))

    def filter_lost(self, queryset: QuerySet, name: str, value: DayRange) -> QuerySet:
        condition = membership.ended_between(value.start, value.end)
        if value.reason:
            condition &= Q(end_reason=value.reason)
        return queryset.filter(pk__in=membership.customers_with_spells(condition))

    def filter_customer_on(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(pk__in=membership.customers_with_spells(membership.covering(value)))

    def filter_cohort(self, queryset: QuerySet, name: str, value) -> QuerySet:
        start, end = value
        condition = membership.first_started_between(start, end)
        return queryset.filter(pk__in=membership.customers_with_spells(condition))

    @property
    def membership_chips(self) -> list[tuple[str, str]]:
        """(label, query string without it) for each active hidden filter, so the list
        can say why it shows these customers and let the user drop that filter."""
        cleaned = getattr(self.form, "cleaned_data", {}) if self.form.is_bound else {}
        chips = []
        for name in ("gained", "lost", "customer_on", "cohort"):
            value = cleaned.get(name)
            if not value:
                continue
            data = self.data
            rest = {
                key: data.getlist(key) if hasattr(data, "getlist") else data[key]
                for key in data
                if key not in (name, "page")
            }
            chips.append((self._chip_label(name, value), urlencode(rest, doseq=True)))
        return chips

    def _chip_label(self, name: str, value) -> str:
        if name == "customer_on":
            return _("A customer on %(day)s") % {"day": formats.date_format(value)}
        if name == "cohort":
            month = formats.date_format(value[0], "YEAR_MONTH_FORMAT")
            return _("First a customer in %(month)s") % {"month": month}
        label = self.filters[name].label
        reasons = dict(
            MembershipSpell.StartReason.choices
            if name == "gained"
            else MembershipSpell.EndReason.choices
        )
        text = f"{label} {value.start.isoformat()} – {value.end.isoformat()}"
        return f"{text} ({reasons[value.reason]})" if value.reason else text
