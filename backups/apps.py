from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    """Backups of the whole database (and uploaded files), restore, the nightly job.

    A separate app: it works on the database as a whole and imports no other app of
    the CRM (a contract in pyproject.toml), and its one model has its own migrations.
    """

    name = "backups"
    verbose_name = _("Backups")
