"""The CSV columns of customer and interaction files, shared by import and export.

Export writes exactly these columns in this order and import reads them back, so
an exported file re-imports unchanged. Values are written in the form the import
expects: choice fields as their stored value (the import also accepts the label),
dates as YYYY-MM-DD, times as ISO 8601, booleans as yes/no, tags joined by ";".
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import ImportJob

TAG_SEPARATOR = ";"
YES = "yes"
NO = "no"
TRUE_VALUES = frozenset({"yes", "y", "true", "1"})
FALSE_VALUES = frozenset({"no", "n", "false", "0"})


@dataclass(frozen=True)
class Column:
    name: str
    help: Promise
    required: bool = False


CUSTOMER_COLUMNS: tuple[Column, ...] = (
    Column("name", _("Full name."), required=True),
    Column(
        "external_id",
        _("Your own customer number; matches an existing customer to update it (before email)."),
    ),
    Column("email", _("Matches an existing customer (any letter case) to update it.")),
    Column("phone", _("As written, e.g. +44 20 7946 0018.")),
    Column("company", _("Company name; created if it does not exist yet.")),
    Column("address", _("Street address.")),
    Column("city", _("City.")),
    Column("country", _("Country.")),
    Column("preferred_language", _("Language code or name, e.g. en or English.")),
    Column("owner", _("The account manager's username.")),
    Column("status", _("lead, onboarding, active, at_risk or churned (or the label).")),
    Column("customer_since", _("Date as YYYY-MM-DD.")),
    Column("renewal_date", _("Date as YYYY-MM-DD.")),
    Column("plan", _("Plan name.")),
    Column("monthly_value", _("Amount with a decimal point, e.g. 49.00.")),
    Column("tags", _("Tag names separated by ;")),
    Column("marketing_consent", _("yes or no (also true/false, 1/0, y/n).")),
    Column("notes", _("Free text.")),
)

INTERACTION_COLUMNS: tuple[Column, ...] = (
    Column(
        "customer_email",
        _("Email of an existing customer (this or customer_external_id is needed)."),
    ),
    Column(
        "customer_external_id",
        _("External id of an existing customer, instead of (or as well as) the email."),
    ),
    Column(
        "external_id",
        _("Your own id for it, e.g. the order number; a row whose id is here is skipped."),
    ),
    Column(
        "kind",
        _(
            "call, email, meeting, note, service_request, complaint, purchase, refund, "
            "discount_request or cancellation (or the label)."
        ),
        required=True,
    ),
    Column("direction", _("inbound, outbound or internal.")),
    Column(
        "subject",
        _("A short summary; for a purchase or refund left blank, made from amount and date."),
    ),
    Column("body", _("Details.")),
    Column(
        "amount",
        _("Needed for a purchase or refund, e.g. 120.00; a refund is stored negative."),
    ),
    Column("sentiment", _("positive, neutral or negative.")),
    Column(
        "occurred_at",
        _("ISO 8601, e.g. 2024-05-01T14:30:00+02:00; without an offset, the CRM's time zone."),
    ),
    Column(
        "resolved_at",
        _(
            "Complaints and service requests only: when it was resolved, written as "
            "occurred_at; blank while it is open."
        ),
    ),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportJob.Target.CUSTOMERS: CUSTOMER_COLUMNS,
    ImportJob.Target.INTERACTIONS: INTERACTION_COLUMNS,
}


def column_names(target: str) -> list[str]:
    """The column names of `target` ("customers" or "interactions"), in file order."""
    return [column.name for column in COLUMNS[target]]


def required_column_names(target: str) -> list[str]:
    return [column.name for column in COLUMNS[target] if column.required]


# Columns of which a file needs at least one: an interaction names its customer by
# email or by the customer's external id.
ONE_OF_COLUMNS: dict[str, tuple[str, ...]] = {
    ImportJob.Target.INTERACTIONS: ("customer_email", "customer_external_id"),
}


def one_of_column_names(target: str) -> tuple[str, ...]:
    return ONE_OF_COLUMNS.get(target, ())
