from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from customers import panels, timeline
        from customers.models import Customer, Interaction
        from retention.risk import signals

        from . import receivers
        from .events import invitations_queued, response_submitted
        from .models import SurveyInvitation
        from .panels import survey_panel
        from .risk_signals import DETRACTOR_NPS, PASSIVE_NPS
        from .timeline import survey_response_entries

        signals.register(PASSIVE_NPS)
        signals.register(DETRACTOR_NPS)
        timeline.register_source("survey", survey_response_entries)
        panels.register_panel("surveys", survey_panel)
        post_save.connect(
            receivers.exit_survey_on_churn, sender=Customer, dispatch_uid="surveys_exit_on_churn"
        )
        response_submitted.connect(receivers.reward_feedback, dispatch_uid="surveys_loyalty")
        invitations_queued.connect(
            receivers.deliver_on_commit, sender=SurveyInvitation, dispatch_uid="surveys_deliver"
        )
        post_save.connect(
            receivers.exit_survey_on_cancellation,
            sender=Interaction,
            dispatch_uid="surveys_exit_on_cancellation",
        )
