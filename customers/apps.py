from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from . import timeline
        from .access import sync_roles

        post_migrate.connect(sync_roles, dispatch_uid="crm_sync_roles")

        timeline.register_source("interaction", timeline.interaction_entries)
