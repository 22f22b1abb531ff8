"""What the import does with each column beyond its name (the names are in customers.csv_columns).

The model fields a row writes as they are (the other columns, such as company,
owner and tags, are resolved by the row forms), the columns that hold a choice
(given by value or label, in any letter case) and the columns whose text needs
reading as a decimal or a date, and the subject made for a purchase or refund
that has none (a shop's sales log has no subjects).
"""

import re
from datetime import tzinfo
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer, ImportJob, Interaction

# Customer columns that are model fields, written as they are.
CUSTOMER_MODEL_FIELDS = (
    "name",
    "external_id",
    "email",
    "phone",
    "address",
    "city",
    "country",
    "preferred_language",
    "status",
    "customer_since",
    "renewal_date",
    "plan",
    "monthly_value",
    "marketing_consent",
    "notes",
)
INTERACTION_MODEL_FIELDS = (
    "external_id",
    "kind",
    "direction",
    "subject",
    "body",
    "amount",
    "sentiment",
    "occurred_at",
    "resolved_at",
)

DECIMAL_FIELDS = ("monthly_value", "amount")
DATE_FIELDS = ("customer_since", "renewal_date")
DATETIME_FIELDS = ("occurred_at", "resolved_at")
# "12,50" as written by spreadsheets in countries with a decimal comma.
DECIMAL_COMMA = re.compile(r"^\d+,\d{1,2}$")


def choice_columns(target: str) -> dict[str, list[tuple[str, Any]]]:
    """The columns holding a choice, with their (value, label) pairs."""
    if target == ImportJob.Target.CUSTOMERS:
        return {"preferred_language": settings.LANGUAGES, "status": Customer.Status.choices}
    return {
        "kind": Interaction.Kind.choices,
        "direction": Interaction.Direction.choices,
        "sentiment": Interaction.Sentiment.choices,
    }


# Labels a choice had before it was renamed, still read in files made back then (the
# status "At risk" became "Needs attention" so as not to read as the churn risk level).
FORMER_LABELS = {"at risk": "at_risk"}


def choice_lookup(choices) -> dict[str, str]:
    """Lower-cased value, label, English label and former label -> stored value."""
    lookup = {}
    for value, label in choices:
        with translation.override("en"):
            english = str(label)
        for key in (str(value), str(label), english):
            lookup.setdefault(key.lower(), str(value))
    values = {str(value) for value, _label in choices}
    for former, value in FORMER_LABELS.items():
        if value in values:
            lookup.setdefault(former, value)
    return lookup


def subject_formats() -> dict[str, str]:
    """Kind -> the subject made for a row of that kind without one ("Purchase of ...").

    In the business's language (LANGUAGE_CODE), whoever imports: the subject is stored,
    then read by everyone. Made once per file, not per row.
    """
    with translation.override(settings.LANGUAGE_CODE):
        return {
            Interaction.Kind.PURCHASE: _("Purchase of %(amount)s on %(date)s"),
            Interaction.Kind.REFUND: _("Refund of %(amount)s on %(date)s"),
        }


def made_subject(subject_format: str, interaction: Interaction, zone: tzinfo | None = None) -> str:
    """ "Purchase of 12.99 on 2026-01-31": the amount without sign, the business's date
    (in `zone`, default the current time zone: a file passes it once, not per row)."""
    moment = interaction.occurred_at.astimezone(zone or timezone.get_current_timezone())
    return subject_format % {
        "amount": f"{abs(interaction.amount):f}",
        "date": moment.date().isoformat(),
    }
