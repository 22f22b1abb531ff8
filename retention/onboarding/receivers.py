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


def start_onboarding_after_import(sender, created_ids, updated_ids, **kwargs) -> None:
    """A CSV import's customers in onboarding get their checklist too (bulk writes send
    no post_save). Only those who never had one: an update is not an entry."""
    from .onboarding import start_many

    start_many([*created_ids, *updated_ids])


def award_purchase_points(sender, instance, created: bool, **kwargs) -> None:
    """A purchase logged one by one earns its points in the same transaction.

    (CSV imports bulk-create interactions without this signal: the nightly
    `loyalty.award_unawarded_purchases` picks those up.)
    """
    if not created or kwargs.get("raw"):
        return
    from .loyalty import award_purchase

    award_purchase(interaction=instance)


def award_onboarding_points(sender, checklist, customer, **kwargs) -> None:
    from .loyalty import award_onboarding

    award_onboarding(customer=customer, checklist_id=checklist.pk)


def reconcile_after_account_deleted(sender, instance, **kwargs) -> None:
    """Accounts are only deleted by a customer merge (which moves the entries elsewhere):
    once it commits, bring the surviving account in step with its ledger."""
    from .loyalty import accounts_reconcile

    transaction.on_commit(accounts_reconcile)
