"""The api app's reactions to the other apps' signals: queue the outbound webhooks.

Each runs inside the transaction of its cause (the signals are sent there), so the
rows commit or roll back with it.
"""

from customers.models import Customer

from . import queueing


def churn_webhook(
    sender, instance: Customer, created: bool, raw: bool = False, update_fields=None, **kwargs
) -> None:
    """A save that changed an existing customer's status to churned.

    A customer created as churned is not an event (it is history being entered); a
    status whose value before the save is unknown (not loaded) is not either."""
    if raw or created or instance.status != Customer.Status.CHURNED:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    before = getattr(instance, "status_before_save", None)
    if before is None or before == Customer.Status.CHURNED:
        return
    queueing.queue_churn(instance)


def risk_webhook(sender, rises, as_of, **kwargs) -> None:
    queueing.queue_risk_rises(rises, as_of)


def survey_webhook(sender, response, customer, **kwargs) -> None:
    queueing.queue_survey_answer(response, customer)
