from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from customers import panels, timeline
        from customers.events import customers_imported
        from customers.models import Customer

        from . import panels as retention_panels
        from . import placeholders, signals
        from .email_signal import UNOPENED_EMAILS
        from .onboarding_signal import STALLED_ONBOARDING
        from .receivers import start_onboarding_after_import, start_onboarding_on_entry
        from .timeline import checklist_step_entries, email_entries, risk_event_entries

        for signal in [*signals.BUILT_IN, STALLED_ONBOARDING]:
            signals.register(signal)
        timeline.register_source("risk", risk_event_entries)
        timeline.register_source("onboarding", checklist_step_entries)
        panels.register_panel("onboarding", retention_panels.onboarding_panel)
        panels.register_panel("risk", retention_panels.risk_panel)
        post_save.connect(start_onboarding_on_entry, sender=Customer, dispatch_uid="onboarding")
        customers_imported.connect(start_onboarding_after_import, dispatch_uid="onboarding_import")

        from customers.models import Interaction

        from . import loyalty_views
        from .events import onboarding_completed
        from .models import PointsAccount
        from .receivers import (
            award_onboarding_points,
            award_purchase_points,
            reconcile_after_account_deleted,
        )
        from .timeline import points_entries

        timeline.register_source("loyalty", points_entries)
        panels.register_panel("loyalty", loyalty_views.loyalty_panel)
        post_save.connect(
            award_purchase_points, sender=Interaction, dispatch_uid="loyalty_purchase"
        )
        onboarding_completed.connect(award_onboarding_points, dispatch_uid="loyalty_onboarding")
        post_delete.connect(
            reconcile_after_account_deleted, sender=PointsAccount, dispatch_uid="loyalty_merge"
        )

        # Follow-up emails (issue 4)
        signals.register(UNOPENED_EMAILS)
        placeholders.register_built_in()
        timeline.register_source("email", email_entries)
        panels.register_panel("followups", retention_panels.followups_panel)
