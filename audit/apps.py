from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The audit log of staff actions: who did what, to which record, when, from where.

    The lowest app of the CRM: every other app calls `audit.log.record`, and it imports
    none of them (a contract in pyproject.toml), so it knows targets only as a content
    type and an id.
    """

    name = "audit"
    verbose_name = _("Audit log")
