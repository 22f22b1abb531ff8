"""Erasing a customer (GDPR): their personal data removed or replaced, figures kept.

What stays: the record itself (with a placeholder name), its status and dates, every
amount, score, count and status history, so the dashboard's gained, lost, churn and
revenue figures read the same before and after. What goes:

- the profile's name (→ "Erased customer #<id>"), email, phone, address, city, notes,
  external id and marketing consent;
- free text written about or to them: interaction subjects and bodies, the outbox's
  recipient, subjects and bodies (and errors, which quote the address), survey free-text
  answers, risk event summaries, notices to staff, skip reasons, resolution reasons;
- their links: survey tokens cleared (the link opens nothing), emails and invitations
  still waiting are cancelled, so nothing is sent to an erased person;
- then a sweep: every text and JSON column of their rows, and of the tables that are
  no customer's (import files, outgoing webhooks, the admin's log), loses any remaining
  occurrence of their name, email or phone. The audit log is append-only and holds ids
  only; sessions hold no customer data; staff accounts are never touched.

Irreversible by design: nothing keeps the old values.
"""

import json
import re
from collections.abc import Iterator

from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Company, Customer, Interaction
from retention.models import (
    ChecklistStep,
    CustomerRisk,
    Notification,
    OutgoingEmail,
    RiskEvent,
)
from surveys.models import Answer, SurveyInvitation

from .graph import customer_tables

# What replaces an occurrence of their name, email or phone found by the sweep.
REDACTED = "[erased]"
# Shorter identifiers are not swept outside their own rows: "Al" would be cut out of
# every word that contains it.
MIN_SWEEP_LENGTH = 4
# Apps whose tables the sweep leaves alone: the audit log is append-only (and holds
# ids only), sessions are signed blobs, the rest is the framework's own.
UNSWEPT_APPS = {"audit", "sessions", "contenttypes", "auth", "axes", "otp_totp", "otp_static"}


def erased_name(customer_id: int) -> str:
    return _("Erased customer #%(id)s") % {"id": customer_id}


def is_erased(customer: Customer) -> bool:
    return customer.name == erased_name(customer.pk) and not customer.email


@transaction.atomic
def customer_erase(*, customer: Customer) -> Customer:
    """Erase `customer`'s personal data (see the module docstring); the customer back."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    identifiers = _identifiers(customer)
    _scrub_free_text(customer)
    _stop_sending(customer)
    _sweep(customer, identifiers)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk)
    ).update(object_repr=erased_name(customer.pk))
    _erase_profile(customer)
    return customer


def _identifiers(customer: Customer) -> list[str]:
    """What identifies them in free text: name, email, phone as typed and normalised."""
    found = [customer.name, customer.email, customer.phone, customer.phone_normalized]
    if is_erased(customer):
        found.remove(customer.name)
    return sorted({value.strip() for value in found if value and value.strip()}, key=len)[::-1]


def _erase_profile(customer: Customer) -> None:
    customer.name = erased_name(customer.pk)
    for field in ("email", "phone", "address", "city", "notes", "external_id"):
        setattr(customer, field, "")
    customer.marketing_consent = False
    # save() recomputes the search text and normalised phone from the cleared fields.
    customer.save(
        update_fields=[
            "name",
            "email",
            "phone",
            "address",
            "city",
            "notes",
            "external_id",
            "marketing_consent",
            "updated_at",
        ]
    )


def _scrub_free_text(customer: Customer) -> None:
    """Free text written about or to them, replaced whatever it says (one UPDATE each)."""
    pk = customer.pk
    Interaction.objects.filter(customer_id=pk).update(subject=_("Erased"), body="")
    OutgoingEmail.objects.filter(customer_id=pk).update(
        subject="", body_text="", body_html="", last_error=""
    )
    # Staff notices go to the account manager's own address: that one stays.
    OutgoingEmail.objects.filter(customer_id=pk, kind__in=OutgoingEmail.CUSTOMER_KINDS).update(
        to_email=""
    )
    RiskEvent.objects.filter(customer_id=pk).update(summary="")
    CustomerRisk.objects.filter(customer_id=pk).update(resolution_reason="")
    Notification.objects.filter(customer_id=pk).update(message=erased_name(pk))
    ChecklistStep.objects.filter(checklist__customer_id=pk).update(skip_reason="")
    Answer.objects.filter(response__customer_id=pk).update(text="")
    SurveyInvitation.objects.filter(customer_id=pk).update(
        token_hash=None, reminder_token_hash=None, earlier_token_hash=None, last_error=""
    )


def _stop_sending(customer: Customer) -> None:
    """Nothing more goes out to them: waiting emails and invitations are cancelled, and
    every survey link has expired."""
    now = timezone.now()
    OutgoingEmail.objects.filter(
        customer_id=customer.pk,
        kind__in=OutgoingEmail.CUSTOMER_KINDS,
        status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.SENDING],
    ).update(status=OutgoingEmail.Status.CANCELLED, lease_until=None, lease_token="")
    invitations = SurveyInvitation.objects.filter(customer_id=customer.pk)
    invitations.filter(
        status__in=[SurveyInvitation.Status.PENDING, SurveyInvitation.Status.SENDING]
    ).update(status=SurveyInvitation.Status.CANCELLED, claimed_until=None, lease_token="")
    invitations.filter(expires_at__gt=now).update(expires_at=now)


def _sweep(customer: Customer, identifiers: list[str]) -> None:
    """Every remaining occurrence of an identifier, replaced in their own rows and in the
    tables that belong to no customer. Rows are found by the database (a LIKE per column
    and identifier) and rewritten one by one: there are few."""
    pattern = _pattern(identifiers)
    if pattern is None:
        return
    own = {table.model: table for table in customer_tables()}
    for model, fields in _text_columns():
        if model in own:
            rows = own[model].rows(customer.pk)
            wanted = identifiers
        elif model in (Customer, Company) or model._meta.app_label in UNSWEPT_APPS:
            continue  # a company is other customers' too: its name is no one's data
        else:
            rows = model._default_manager.all()
            wanted = [value for value in identifiers if len(value) >= MIN_SWEEP_LENGTH]
        if wanted:
            _rewrite(rows, fields, wanted, pattern)


def _pattern(identifiers: list[str]) -> re.Pattern | None:
    if not identifiers:
        return None
    return re.compile("|".join(re.escape(value) for value in identifiers), re.IGNORECASE)


def _text_columns() -> Iterator[tuple[type[models.Model], list[models.Field]]]:
    for model in apps.get_models():
        if model._meta.label == settings.AUTH_USER_MODEL or not model._meta.managed:
            continue
        fields = [
            field
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
            and not field.choices
            and not field.primary_key
        ]
        if fields:
            yield model, fields


def _rewrite(rows: models.QuerySet, fields: list[models.Field], wanted: list[str], pattern) -> None:
    match = models.Q()
    for field in fields:
        column, forms = field.name, wanted
        if isinstance(field, models.JSONField):
            column = f"_text_{field.name}"
            rows = rows.annotate(**{column: Cast(field.name, models.TextField())})
            # SQLite keeps JSON as written by json.dumps: "José" as "Jos\u00e9".
            forms = {*wanted, *(json.dumps(value)[1:-1] for value in wanted)}
        for value in forms:
            match |= models.Q(**{f"{column}__icontains": value})
    names = [field.name for field in fields]
    for row in rows.filter(match).only("pk", *names):
        changed = {}
        for name in names:
            old = getattr(row, name)
            new = _replaced(old, pattern)
            if new != old:
                changed[name] = new
        if changed:
            type(row)._default_manager.filter(pk=row.pk).update(**changed)


def _replaced(value, pattern: re.Pattern):
    """`value` with every match replaced, inside JSON lists and objects too (keys kept)."""
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, list):
        return [_replaced(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, pattern) for key, item in value.items()}
    return value
