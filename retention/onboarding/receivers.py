"""Reactions to changes in the customers app (which knows nothing of retention)."""

from django.db import transaction

from customers.models import Customer

from . import checklists


def start_onboarding_on_entry(sender, instance: Customer, created: bool, **kwargs) -> None:
    """A customer created in, or moved into, onboarding gets the matching checklist."""
    entered = instance.status == Customer.Status.ONBOARDING and (
        created or getattr(instance, "loaded_status", None) != Customer.Status.ONBOARDING
    )
    if not entered or kwargs.get("raw"):
        return
    instance.loaded_status = instance.status

    # After the customer's own transaction, so a failed save starts nothing.
    transaction.on_commit(lambda: checklists.auto_start(Customer.objects.get(pk=instance.pk)))


def start_onboarding_after_import(sender, created_ids, updated_ids, **kwargs) -> None:
    """A CSV import's customers in onboarding get their checklist too (bulk writes send
    no post_save). Only those who never had one: an update is not an entry."""
    checklists.start_many([*created_ids, *updated_ids])
