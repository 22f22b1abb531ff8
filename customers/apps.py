from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from accounts import two_factor

        from . import events, receivers, timeline
        from .access import is_admin, sync_roles
        from .models import Customer, ImportJob

        post_migrate.connect(sync_roles, dispatch_uid="crm_sync_roles")
        # REQUIRE_2FA_FOR_ADMINS: the accounts app asks the roles, which live here.
        two_factor.register_required_for(is_admin)
        post_save.connect(
            receivers.record_status_change, sender=Customer, dispatch_uid="status_history"
        )

        timeline.register_source("interaction", timeline.interaction_entries)

        events.import_check_requested.connect(
            receivers.check_import_on_commit, sender=ImportJob, dispatch_uid="import_check"
        )
        events.import_apply_requested.connect(
            receivers.apply_import_on_commit, sender=ImportJob, dispatch_uid="import_apply"
        )
