from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API (/api/v1/): the pages' data and rules for shops and billing systems."""

    name = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from customers.models import Customer
        from retention.risk.events import levels_rose
        from surveys.events import response_submitted

        from . import tasks
        from .outbound import events, receivers

        post_save.connect(receivers.churn_webhook, sender=Customer, dispatch_uid="webhook_churn")
        levels_rose.connect(receivers.risk_webhook, dispatch_uid="webhook_risk")
        response_submitted.connect(receivers.survey_webhook, dispatch_uid="webhook_survey")
        events.messages_queued.connect(tasks.deliver_on_commit, dispatch_uid="webhook_deliver")
