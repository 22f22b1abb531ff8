"""Points for what happens elsewhere: purchases logged, onboarding completed, merges."""

from django.db import transaction

from . import ledger, refunds


def award_purchase_points(sender, instance, created: bool, **kwargs) -> None:
    """A purchase logged one by one earns its points in the same transaction; a refund
    takes back the points of its amount.

    (CSV imports bulk-create interactions without this signal: the nightly
    `nightly.award_unawarded_purchases` and `refunds.remove_unsettled_refunds` pick
    those up.)
    """
    if not created or kwargs.get("raw"):
        return
    if instance.kind == instance.Kind.REFUND:
        refunds.refund_points_remove(interaction=instance)
    else:
        ledger.award_purchase(interaction=instance)


def award_onboarding_points(sender, checklist, customer, **kwargs) -> None:
    ledger.award_onboarding(customer=customer, checklist_id=checklist.pk)


def reconcile_after_account_deleted(sender, instance, **kwargs) -> None:
    """Accounts are only deleted by a customer merge (which moves the entries elsewhere):
    once it commits, bring the surviving account in step with its ledger."""
    transaction.on_commit(ledger.accounts_reconcile)
