"""The audit page's filters (django-filter): who, what, when, on which record, a search."""

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry


class TargetTypeChoice(forms.ModelChoiceField):
    def label_from_instance(self, content_type: ContentType) -> str:
        model = content_type.model_class()
        return str(model._meta.verbose_name).capitalize() if model else content_type.model


class TargetTypeFilter(django_filters.ModelChoiceFilter):
    field_class = TargetTypeChoice


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _acting_users(request) -> QuerySet:
    """Users with at least one entry (one query, a subquery: not every account)."""
    acted = AuditEntry.objects.filter(user__isnull=False).values("user")
    return get_user_model().objects.filter(pk__in=acted).order_by("username")


def _target_types(request) -> QuerySet:
    used = AuditEntry.objects.filter(target_type__isnull=False).values("target_type")
    return ContentType.objects.filter(pk__in=used).order_by("app_label", "model")


class AuditEntryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Username, address, id, detail")}
        ),
    )
    user = django_filters.ModelChoiceFilter(
        label=_("User"), queryset=_acting_users, empty_label=_("Anyone")
    )
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=AuditEntry.Action.choices, empty_label=_("Any action")
    )
    # Both days included, in the business's time zone; compared as moments (not the
    # entry's date), so the index on `at` serves the range.
    since = django_filters.DateFilter(
        label=_("From"), method="filter_since", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        label=_("To"), method="filter_until", widget=forms.DateInput(attrs={"type": "date"})
    )
    target_type = TargetTypeFilter(
        label=_("Record type"), queryset=_target_types, empty_label=_("Any type")
    )
    target_id = django_filters.CharFilter(label=_("Record id"), method="filter_target_id")

    class Meta:
        model = AuditEntry
        fields = ["q", "user", "action", "since", "until", "target_type", "target_id"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(ip_address__icontains=value)
            | Q(target_id=value)
            | Q(details__icontains=value)
        )

    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(at__gte=_start_of(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(at__lt=_start_of(value + timedelta(days=1)))

    def filter_target_id(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(target_id=value) if value else queryset
