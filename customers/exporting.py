"""CSV export of customers and interactions, streamed row by row.

The files use the columns of `csv_columns`, so they re-import unchanged. Every
cell that a spreadsheet could run as a formula is neutralised with a leading
single quote; the import removes that quote again.
"""

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

from django.db.models import QuerySet
from django.utils import timezone

from .csv_columns import NO, TAG_SEPARATOR, YES, column_names
from .models import Customer, ImportJob, Interaction

# Spreadsheets treat a cell starting with one of these as a formula (or, for
# tab and carriage return, strip it and look at what follows).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
EXPORT_CHUNK_SIZE = 2000
# Excel reads a UTF-8 file as such only when it starts with a byte order mark.
BOM = "\ufeff"


def neutralise_cell(value) -> str:
    """The cell's text, safe to open in a spreadsheet.

    A cell starting with =, +, -, @, tab or carriage return gets a leading single
    quote, so "=HYPERLINK(...)" is shown as text, never run. Every such cell is
    prefixed, numbers too: a refund's negative amount becomes "'-12.99" (the import
    removes the quote again), and a phone like "+44 20 ..." must stay text anyway. A cell that
    already starts with a quote followed by one of those characters (or by a
    second quote) gets one more, so the import's unquoting gives back exactly
    the stored text.
    """
    text = _as_text(value)
    if text.startswith(FORMULA_PREFIXES):
        return QUOTE + text
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_PREFIXES, QUOTE)):
        return QUOTE + text
    return text


def unneutralise_cell(text: str) -> str:
    """Undo `neutralise_cell`: drop one quote put before a formula character."""
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_PREFIXES, QUOTE)):
        return text[1:]
    return text


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def _lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise_cell(value) for value in row])


def _chunks(queryset: QuerySet, size: int) -> Iterator[list]:
    iterator = queryset.iterator(chunk_size=size)
    while chunk := list(islice(iterator, size)):
        yield chunk


def customer_csv_lines(customers: QuerySet) -> Iterator[str]:
    """CSV lines (header first) for these customers, a fixed number of queries per chunk."""
    return _lines(column_names(ImportJob.Target.CUSTOMERS), _customer_rows(customers))


def _customer_rows(customers: QuerySet) -> Iterator[list]:
    customers = customers.select_related("company", "owner").prefetch_related(None)
    through = Customer.tags.through
    for chunk in _chunks(customers, EXPORT_CHUNK_SIZE):
        # The chunk's tags in one query, not one per customer.
        tags = defaultdict(list)
        links = (
            through.objects.filter(customer_id__in=[customer.pk for customer in chunk])
            .order_by("tag__name")
            .values_list("customer_id", "tag__name")
        )
        for customer_id, tag_name in links:
            tags[customer_id].append(tag_name)
        for customer in chunk:
            yield [
                customer.name,
                customer.external_id,
                customer.email,
                customer.phone,
                customer.company.name if customer.company else "",
                customer.address,
                customer.city,
                customer.country,
                customer.preferred_language,
                customer.owner.get_username() if customer.owner else "",
                customer.status,
                customer.customer_since,
                customer.renewal_date,
                customer.plan,
                customer.monthly_value,
                TAG_SEPARATOR.join(tags[customer.pk]),
                customer.marketing_consent,
                customer.notes,
            ]


def interaction_csv_lines(interactions: QuerySet) -> Iterator[str]:
    """CSV lines (header first) for these interactions, a fixed number of queries per chunk."""
    return _lines(column_names(ImportJob.Target.INTERACTIONS), _interaction_rows(interactions))


def _interaction_rows(interactions: QuerySet) -> Iterator[list]:
    interactions = interactions.select_related("customer")
    for interaction in interactions.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield [
            interaction.customer.email,
            interaction.customer.external_id,
            interaction.external_id,
            interaction.kind,
            interaction.direction,
            interaction.subject,
            interaction.body,
            interaction.amount,
            interaction.sentiment,
            interaction.occurred_at,
            interaction.resolved_at,
        ]


def interactions_of(customers: QuerySet) -> QuerySet:
    """The interactions of these customers, oldest first (the order they happened in)."""
    return Interaction.objects.filter(customer__in=customers.order_by().values("pk")).order_by(
        "occurred_at", "id"
    )
