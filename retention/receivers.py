"""Reactions to changes in the customers app (which knows nothing of retention)."""

from django.db import transaction

from customers.models import Customer


def start_onboarding_on_entry(sender, instance: Customer, created: bool, **kwargs) -> None:
    """A customer created in, or moved into, onboarding gets the matching checklist."""
    entered = instance.status == Customer.Status.ONBOARDING and (
        created or getattr(instance, "loaded_status", None) != Customer.Status.ONBOARDING
    )
    if not entered or kwargs.get("raw"):
        return
    instance.loaded_status = instance.status
    from .onboarding import auto_start

    # After the customer's own transaction, so a failed save starts nothing.
    transaction.on_commit(lambda: auto_start(Customer.objects.get(pk=instance.pk)))
