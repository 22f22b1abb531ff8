"""Reactions to the customers app (which knows nothing of surveys): a leaving
customer is invited to the exit survey in the same transaction that churned them."""

from django.db import transaction

from customers.models import Customer, Interaction

from . import tasks
from .invitations import exit_invitation_create
from .models import SurveyInvitation


def exit_survey_on_churn(sender, instance: Customer, created: bool, **kwargs) -> None:
    """A customer whose status changed to churned gets the exit survey."""
    if kwargs.get("raw") or created:
        return
    churned_now = instance.status == Customer.Status.CHURNED and (
        getattr(instance, "loaded_status", None) != Customer.Status.CHURNED
    )
    if not churned_now:
        return
    # Saved twice in one request: the second save is no new churn.
    instance.loaded_status = instance.status
    exit_invitation_create(customer=instance, trigger=SurveyInvitation.Trigger.CHURNED)


def exit_survey_on_cancellation(sender, instance: Interaction, created: bool, **kwargs) -> None:
    """A cancellation logged for a customer gets them the exit survey."""
    if kwargs.get("raw") or not created or instance.kind != Interaction.Kind.CANCELLATION:
        return
    exit_invitation_create(
        customer=instance.customer, trigger=SurveyInvitation.Trigger.CANCELLATION
    )


def reward_feedback(sender, response, customer, **kwargs) -> None:
    """Feedback is rewarded: the loyalty survey bonus, once per response (same transaction)."""
    from retention.loyalty.ledger import award_feedback

    award_feedback(customer=customer, response_id=response.pk)


def deliver_on_commit(sender, invitation_ids, **kwargs) -> None:
    """Email invitations once the transaction that wrote them commits (never before)."""
    transaction.on_commit(lambda: tasks.deliver_invitations.delay(invitation_ids))
