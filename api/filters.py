"""The API's filters: the customer list's own (customers/filters.py), and the others'."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from customers.filters import CustomerFilter, MonthFilter
from customers.models import Interaction
from customers.params import MAX_ID
from retention.loyalty.models import PointsEntry
from retention.risk.models import CustomerRisk, RiskLevel
from surveys.models import SurveyResponse


class IdFilter(django_filters.NumberFilter):
    """A whole number (an id): "1.5" or "²" is a 400, not a guess; one past bigint is a 400
    too (the database would overflow on it)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class _MonthFilter(MonthFilter):
    """The list's "YYYY-MM" filter, named a string in the schema."""


class ApiCustomerFilter(CustomerFilter):
    """The customer list's search and filters (q, status, owner incl. "me"/"none", tag,
    renewal, archived, and the dashboard's gained/lost/customer_on/cohort), for the
    requesting user. The list's `sort` is left out: pages come in id order (cursor)."""

    cohort = _MonthFilter(label=_("Started in"), method="filter_cohort")

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs) -> None:
        user = getattr(request, "user", None)
        super().__init__(data, queryset, request=request, user=user, **kwargs)
        del self.filters["sort"]
        del self.form.fields["sort"]


class InteractionFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    kind = django_filters.MultipleChoiceFilter(choices=Interaction.Kind.choices)
    occurred_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label=_("Occurred at or after")
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label=_("Occurred before")
    )

    class Meta:
        model = Interaction
        fields: list[str] = []


class RiskFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices)

    class Meta:
        model = CustomerRisk
        fields: list[str] = []


class ResponseFilter(django_filters.FilterSet):
    survey = IdFilter(field_name="survey_id", label=_("Survey id"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    submitted_after = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")

    class Meta:
        model = SurveyResponse
        fields: list[str] = []


class EntryFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    kind = django_filters.MultipleChoiceFilter(choices=PointsEntry.Kind.choices)

    class Meta:
        model = PointsEntry
        fields: list[str] = []
