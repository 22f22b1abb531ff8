from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    """One Django app of four features (risk/, onboarding/, loyalty/, outreach/).

    Here they are wired to each other and to the customers app, which knows nothing
    of them: registries (risk signals, timeline sources, customer-page cards, email
    placeholders) and signal receivers.
    """

    name = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        self._wire_risk()
        self._wire_onboarding()
        self._wire_loyalty()
        self._wire_outreach()
        self._add_customer_cards()
        self._add_merge_rules()

    def _add_merge_rules(self) -> None:
        """Which row a customer merge keeps where both records have one (customers.merging)."""
        from customers import merging

        from .loyalty.merging import merge_points_accounts
        from .loyalty.models import PointsAccount
        from .onboarding.merging import merge_checklists
        from .onboarding.models import Checklist
        from .outreach.merging import merge_unsubscribes
        from .outreach.models import EmailUnsubscribe
        from .risk.merging import merge_current_risk, merge_snapshots
        from .risk.models import CustomerRisk, RiskSnapshot

        merging.register_rule(CustomerRisk, merge_current_risk)
        merging.register_rule(RiskSnapshot, merge_snapshots)
        merging.register_rule(Checklist, merge_checklists)
        merging.register_rule(PointsAccount, merge_points_accounts)
        merging.register_rule(EmailUnsubscribe, merge_unsubscribes)

    def _add_customer_cards(self) -> None:
        """The cards on the customer page, in this order."""
        from customers import panels

        from .loyalty.views import loyalty_panel
        from .onboarding.panels import onboarding_panel
        from .outreach.panels import followups_panel
        from .risk.panels import risk_panel

        panels.register_panel("onboarding", onboarding_panel)
        panels.register_panel("risk", risk_panel)
        panels.register_panel("loyalty", loyalty_panel)
        panels.register_panel("followups", followups_panel)

    def _wire_risk(self) -> None:
        from customers import timeline

        from .risk import builtin_signals, events, receivers, signals
        from .risk.models import Backtest, RiskRun, RiskRunChunk, WeightSet
        from .risk.timeline import risk_event_entries

        for signal in builtin_signals.BUILT_IN:
            signals.register(signal)
        timeline.register_source("risk", risk_event_entries)
        events.run_started.connect(receivers.enqueue_chunks, sender=RiskRun, dispatch_uid="chunks")
        events.chunks_lost.connect(
            receivers.enqueue_lost_chunks, sender=RiskRunChunk, dispatch_uid="lost_chunks"
        )
        events.calibration_started.connect(
            receivers.enqueue_calibration, sender=WeightSet, dispatch_uid="calibration"
        )
        events.backtest_started.connect(
            receivers.enqueue_backtest, sender=Backtest, dispatch_uid="backtest"
        )

    def _wire_onboarding(self) -> None:
        from customers import timeline
        from customers.events import customers_imported
        from customers.models import Customer

        from .onboarding import receivers
        from .onboarding.risk_signals import STALLED_ONBOARDING
        from .onboarding.timeline import checklist_step_entries
        from .risk import signals

        signals.register(STALLED_ONBOARDING)
        timeline.register_source("onboarding", checklist_step_entries)
        post_save.connect(
            receivers.start_onboarding_on_entry, sender=Customer, dispatch_uid="onboarding"
        )
        customers_imported.connect(
            receivers.start_onboarding_after_import, dispatch_uid="onboarding_import"
        )

    def _wire_loyalty(self) -> None:
        from customers import timeline
        from customers.models import Interaction

        from .loyalty import receivers
        from .loyalty.models import PointsAccount
        from .loyalty.timeline import points_entries
        from .onboarding.events import onboarding_completed

        timeline.register_source("loyalty", points_entries)
        post_save.connect(
            receivers.award_purchase_points, sender=Interaction, dispatch_uid="loyalty_purchase"
        )
        onboarding_completed.connect(
            receivers.award_onboarding_points, dispatch_uid="loyalty_onboarding"
        )
        post_delete.connect(
            receivers.reconcile_after_account_deleted,
            sender=PointsAccount,
            dispatch_uid="loyalty_merge",
        )

    def _wire_outreach(self) -> None:
        from accounts import passwords
        from customers import timeline

        from .loyalty import placeholders as loyalty_placeholders
        from .onboarding import placeholders as onboarding_placeholders
        from .outreach import events, outbox, placeholders, receivers
        from .outreach.models import OutgoingEmail
        from .outreach.risk_signals import UNOPENED_EMAILS
        from .outreach.timeline import email_entries
        from .risk import events as risk_events
        from .risk import signals
        from .risk.models import CustomerRisk, RiskRun

        signals.register(UNOPENED_EMAILS)
        # Password reset emails go out through the outbox (accounts knows no app above it).
        passwords.register_reset_sender(outbox.queue_password_reset)
        placeholders.register_built_in()
        onboarding_placeholders.register()
        loyalty_placeholders.register()
        timeline.register_source("email", email_entries)
        events.emails_queued.connect(
            receivers.deliver_on_commit, sender=OutgoingEmail, dispatch_uid="deliver"
        )
        risk_events.levels_rose.connect(
            receivers.notify_owners_of_rises, sender=CustomerRisk, dispatch_uid="owner_notices"
        )
        risk_events.run_finished.connect(
            receivers.queue_followups_after_run, sender=RiskRun, dispatch_uid="followups"
        )
