"""Which existing rows an import file's rows are: customers and interactions, looked up in bulk.

A customer row is matched on its external id first (the business's own customer
number), then on its email; an interaction row names its customer by
customer_external_id or customer_email, and an interaction whose external id is
already in the CRM was imported before (skipped, not an error). Everything is looked
up in chunks of IN queries before the rows are checked, never with a query per row.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from customers.models import Customer, Interaction

LOOKUP_CHUNK_SIZE = 500
# External ids are unique only when set: their indexes are partial (WHERE external_id <>
# ''). PostgreSQL sees that `external_id IN (...)` fits such an index only for lists of
# up to 100 values, so every lookup here says `.exclude(external_id="")` too; without it
# a chunk of 500 read the whole table, and an import into a growing table got slower
# with every block.


def chunked(items: Iterable, size: int = LOOKUP_CHUNK_SIZE) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def customers_by_email(emails: Iterable[str], queryset: QuerySet) -> dict[str, list[Customer]]:
    """Existing customers keyed by lower-cased email, one IN query per chunk."""
    found = defaultdict(list)
    for chunk in chunked(set(emails)):
        for customer in queryset.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            found[customer.email_lower].append(customer)
    return found


def customers_by_external_id(ids: Iterable[str], queryset: QuerySet) -> dict[str, Customer]:
    """Existing customers keyed by external id (exact: "A-12" is not "a-12"), unique when set."""
    found = {}
    for chunk in chunked(set(ids) - {""}):
        found.update(
            (customer.external_id, customer)
            for customer in queryset.filter(external_id__in=chunk).exclude(external_id="")
        )
    return found


class CustomerRef(NamedTuple):
    """What an interaction row needs of its customer: loaded as plain values, not models."""

    pk: int
    name: str
    email: str
    external_id: str


class CustomerRefs:
    """The customers an interaction file names, by lower-cased email and by external id.

    Remembered across the file's blocks (a shop's sales log names the same customers
    again and again), so each is looked up once per file: memory grows with the
    customers named, not with the rows.
    """

    def __init__(self) -> None:
        self.by_email: dict[str, list[CustomerRef]] = {}
        self.by_external_id: dict[str, CustomerRef] = {}
        self._looked_up_ids: set[str] = set()

    def load(self, emails: set[str], external_ids: set[str]) -> None:
        columns = ("id", "name", "email", "external_id")
        new_emails = emails - set(self.by_email) - {""}
        for email in new_emails:
            self.by_email[email] = []
        for chunk in chunked(new_emails):
            rows = (
                Customer.objects.annotate(email_lower=Lower("email"))
                .filter(email_lower__in=chunk)
                .values_list(*columns, "email_lower")
            )
            for *values, email_lower in rows:
                self.by_email[email_lower].append(CustomerRef(*values))
        new_ids = external_ids - self._looked_up_ids - {""}
        self._looked_up_ids |= new_ids
        for chunk in chunked(new_ids):
            known = Customer.objects.filter(external_id__in=chunk).exclude(external_id="")
            for values in known.values_list(*columns):
                ref = CustomerRef(*values)
                self.by_external_id[ref.external_id] = ref


def imported_interaction_ids(ids: Iterable[str]) -> set[str]:
    """The external ids among `ids` that an interaction already has."""
    found = set()
    for chunk in chunked(set(ids) - {""}):
        known = Interaction.objects.filter(external_id__in=chunk).exclude(external_id="")
        found.update(known.values_list("external_id", flat=True))
    return found


def interaction_customer(
    values: dict[str, str],
    by_email: dict[str, list[Customer]],
    by_external_id: dict[str, Customer],
) -> tuple[Customer | None, list[tuple[str, str]]]:
    """The customer an interaction row names, or the errors (column, message) saying why not.

    Either column may name the customer; when both are given they must name the same one.
    """
    email = values.get("customer_email", "").lower()
    external_id = values.get("customer_external_id", "")
    if not email and not external_id:
        return None, [
            ("customer_email", _("Give the customer's email or customer_external_id.")),
        ]
    by_id = None
    if external_id:
        by_id = by_external_id.get(external_id)
        if by_id is None:
            return None, [("customer_external_id", _("No customer has this external id."))]
    if not email:
        return by_id, []
    matches = by_email.get(email, [])
    if by_id is not None:
        if all(customer.pk != by_id.pk for customer in matches):
            message = _(
                "customer_email and customer_external_id name different customers; "
                "the external id is “%(name)s”'s."
            )
            return None, [("customer_external_id", message % {"name": by_id.name})]
        return by_id, []
    if not matches:
        return None, [("customer_email", _("No customer has this email address."))]
    if len(matches) > 1:
        message = _("%(count)s customers have this email; merge them before importing.")
        return None, [("customer_email", message % {"count": len(matches)})]
    return matches[0], []


class CustomerMatcher:
    """Which existing customer each row of a customer file updates, and the file's repeats.

    External id first (the business's own number), then email; a row matched by email
    whose customer is known under another external id is refused (two customers?).
    """

    def __init__(
        self, by_external_id: dict[str, Customer], by_email: dict[str, list[Customer]]
    ) -> None:
        self.by_external_id = by_external_id
        self.by_email = by_email
        self.seen_external_ids: dict[str, int] = {}
        self.seen_emails: dict[str, int] = {}

    def match(
        self, number: int, external_id: str, email: str
    ) -> tuple[Customer | None, str, list[tuple[str, str]]]:
        """The customer row `number` updates (or None), the column that matched, the errors."""
        errors = []
        existing = None
        if external_id:
            first_row = self.seen_external_ids.setdefault(external_id, number)
            if first_row != number:
                message = _(
                    "Row %(row)s has the same external id; a customer can be in a file once."
                )
                errors.append(("external_id", message % {"row": first_row}))
            existing = self.by_external_id.get(external_id)
        if not email:
            return existing, "external_id", errors
        first_row = self.seen_emails.setdefault(email, number)
        matches = self.by_email.get(email, [])
        if first_row != number:
            message = _("Row %(row)s has the same email; a customer can be in a file once.")
            errors.append(("email", message % {"row": first_row}))
        elif existing is not None:
            others = [customer for customer in matches if customer.pk != existing.pk]
            if others:
                message = _("Another customer, “%(name)s”, has this email.")
                errors.append(("email", message % {"name": others[0].name}))
        elif len(matches) > 1:
            message = _("%(count)s customers have this email; merge them before importing.")
            errors.append(("email", message % {"count": len(matches)}))
        elif matches:
            existing = matches[0]
            if external_id and existing.external_id:
                message = _(
                    "The customer with this email, “%(name)s”, has the external id “%(id)s”."
                )
                errors.append(
                    ("external_id", message % {"name": existing.name, "id": existing.external_id})
                )
            return existing, "email", errors
        return existing, "external_id", errors
