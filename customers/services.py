"""Writes to the customer database. Views and tasks call these; rules live here."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from . import membership, merging
from .models import Customer, Interaction, Tag


def tags_from_names(names: Iterable[str]) -> list[Tag]:
    """The Tag rows for these names, creating the missing ones (names trimmed, case kept)."""
    wanted = {name.strip(): None for name in names if name and name.strip()}
    if not wanted:
        return []
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    missing = [Tag(name=name) for name in wanted if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    return [existing[name] for name in wanted]


@transaction.atomic
def interaction_log(*, customer: Customer, recorded_by, **fields) -> Interaction:
    """Record an interaction and move the customer's "last contact" forward."""
    interaction = Interaction(customer=customer, recorded_by=recorded_by, **fields)
    interaction.full_clean()
    interaction.save()
    if (
        customer.last_interaction_at is None
        or interaction.occurred_at > customer.last_interaction_at
    ):
        Customer.objects.filter(pk=customer.pk).update(last_interaction_at=interaction.occurred_at)
        customer.last_interaction_at = interaction.occurred_at
    return interaction


@transaction.atomic
def interaction_resolve(
    *, interaction: Interaction, by: AbstractBaseUser | None, at: datetime | None = None
) -> Interaction:
    """Mark a complaint or service request resolved, by `by`, at `at` (now by default).

    Resolving one that is already resolved changes nothing (a double click, two
    people at once): the first resolution, with its who and when, stands.
    """
    _lock_ticket(interaction)
    if interaction.resolved_at is not None:
        return interaction
    interaction.resolved_at = at or timezone.now()
    interaction.resolved_by = by
    try:
        interaction.full_clean()
    except ValidationError:
        interaction.resolved_at = interaction.resolved_by = None
        raise
    interaction.save(update_fields=["resolved_at", "resolved_by"])
    return interaction


@transaction.atomic
def interaction_reopen(*, interaction: Interaction, by: AbstractBaseUser | None) -> Interaction:
    """Open a resolved complaint or service request again; an open one stays as it is.

    `by` is who asks; the model keeps the current state only (who resolved it), so
    reopening clears the resolution rather than recording a reopener.
    """
    _lock_ticket(interaction)
    if interaction.resolved_at is None:
        return interaction
    interaction.resolved_at = None
    interaction.resolved_by = None
    interaction.save(update_fields=["resolved_at", "resolved_by"])
    return interaction


def _lock_ticket(interaction: Interaction) -> None:
    """Reload the state, row locked, so two people resolving at once do not both write.

    Kinds without an open or resolved state are refused with a ValidationError.
    """
    interaction.refresh_from_db(
        fields=["kind", "occurred_at", "resolved_at", "resolved_by"],
        from_queryset=Interaction.objects.select_for_update(),
    )
    if interaction.kind not in Interaction.KINDS_WITH_STATE:
        raise ValidationError(_("Only complaints and service requests can be resolved."))


def _lock_or_404(customer: Customer) -> None:
    """Lock the customer's row, or a 404 if it is gone: a merge may have removed it since
    the page loaded it (`save(update_fields=...)` on a deleted row is a DatabaseError)."""
    get_object_or_404(Customer.objects.select_for_update().only("pk"), pk=customer.pk)


@transaction.atomic
def customer_archive(*, customer: Customer) -> Customer:
    _lock_or_404(customer)
    customer.archived_at = timezone.now()
    customer.save(update_fields=["archived_at", "updated_at"])
    return customer


@transaction.atomic
def customer_unarchive(*, customer: Customer) -> Customer:
    _lock_or_404(customer)
    customer.archived_at = None
    customer.save(update_fields=["archived_at", "updated_at"])
    return customer


# Fields the merge copies from the merged-away record when the survivor has none.
MERGE_FILLABLE_FIELDS = (
    "email",
    "phone",
    "company",
    "address",
    "city",
    "country",
    "owner",
    "customer_since",
    "renewal_date",
    "plan",
    "churned_on",
    "churn_reason",
)


@transaction.atomic
def customer_merge(*, survivor: Customer, duplicate: Customer, merged_by) -> Customer:
    """Fold `duplicate` into `survivor` and delete it.

    Every row pointing at the duplicate (interactions, status changes; points, surveys,
    checklists as later apps add them) is moved by walking every model's foreign keys
    to Customer (merging.py), so a new related model needs no change here; where both
    records have a row a unique constraint allows once, the owning app's merge rule
    says which is kept. All or nothing: a failure anywhere leaves both records as
    they were.
    """
    if survivor.pk == duplicate.pk:
        raise ValueError("A customer cannot be merged into itself.")
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    duplicate = Customer.objects.select_for_update().get(pk=duplicate.pk)

    merging.move_related_rows(survivor=survivor, duplicate=duplicate)

    survivor.tags.add(*duplicate.tags.all())
    for field in MERGE_FILLABLE_FIELDS:
        if not getattr(survivor, field) and getattr(duplicate, field):
            setattr(survivor, field, getattr(duplicate, field))
    if duplicate.notes:
        survivor.notes = "\n\n".join(filter(None, [survivor.notes, duplicate.notes]))
    survivor.marketing_consent = survivor.marketing_consent or duplicate.marketing_consent
    survivor.monthly_value = max(survivor.monthly_value, duplicate.monthly_value)
    if survivor.onboarding_percent is None:
        # The duplicate's running checklist (if any) was moved here: show its progress.
        survivor.onboarding_percent = duplicate.onboarding_percent
    latest = Interaction.objects.filter(customer=survivor).aggregate(latest=Max("occurred_at"))
    survivor.last_interaction_at = latest["latest"]
    survivor.save()

    Interaction.objects.create(
        customer=survivor,
        kind=Interaction.Kind.NOTE,
        direction=Interaction.Direction.INTERNAL,
        subject=_("Merged duplicate record “%(name)s” (#%(id)s)")
        % {"name": duplicate.name, "id": duplicate.pk},
        body=_("Email: %(email)s, phone: %(phone)s")
        % {"email": duplicate.email or "-", "phone": duplicate.phone or "-"},
        recorded_by=merged_by,
    )
    duplicate.delete()
    # The walk above moved the duplicate's status changes (and spells) here: recompute the
    # survivor's spells from the joined history now, so the figures count them once.
    membership.rebuild(customer_ids=[survivor.pk])
    return survivor


def refresh_last_interaction(customer_ids: Iterable[int]) -> None:
    """Recompute the denormalised last-contact date for these customers (set-based)."""
    latest = (
        Interaction.objects.filter(customer=models.OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    Customer.objects.filter(pk__in=list(customer_ids)).update(
        last_interaction_at=models.Subquery(latest)
    )
