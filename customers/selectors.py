"""Non-trivial reads of the customer database."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .models import Customer


@dataclass
class DuplicateGroup:
    reason: str
    key: str
    customers: list[Customer]


def email_duplicate_keys() -> QuerySet:
    """Lower-cased emails shared by more than one current customer, as {"key", "n"} rows."""
    return (
        Customer.objects.active()
        .exclude(email="")
        .annotate(key=Lower("email"))
        .values("key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("key")
    )


def name_phone_duplicate_keys() -> QuerySet:
    """(lower-cased name, normalised phone) pairs shared by more than one current customer."""
    return (
        Customer.objects.active()
        .exclude(phone_normalized="")
        .annotate(lname=Lower("name"))
        .values("lname", "phone_normalized")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("lname", "phone_normalized")
    )


def _members() -> QuerySet:
    return Customer.objects.active().select_related("company", "owner").order_by("created_at", "id")


def email_duplicate_groups(keys: list[dict]) -> list[DuplicateGroup]:
    """The customers behind one page of email keys, in one query."""
    emails = [row["key"] for row in keys]
    members = defaultdict(list)
    for customer in _members().annotate(key=Lower("email")).filter(key__in=emails):
        members[customer.key].append(customer)
    return [DuplicateGroup(str(_("Same email")), email, members[email]) for email in emails]


def name_phone_duplicate_groups(keys: list[dict]) -> list[DuplicateGroup]:
    """The customers behind one page of (name, phone) keys, in one query."""
    wanted = {(row["lname"], row["phone_normalized"]) for row in keys}
    phones = {phone for _name, phone in wanted}
    members = defaultdict(list)
    queryset = _members().annotate(lname=Lower("name")).filter(phone_normalized__in=phones)
    for customer in queryset:
        key = (customer.lname, customer.phone_normalized)
        if key in wanted:
            members[key].append(customer)
    return [
        DuplicateGroup(str(_("Same name and phone")), f"{name} · {phone}", members[(name, phone)])
        for name, phone in ((row["lname"], row["phone_normalized"]) for row in keys)
    ]
