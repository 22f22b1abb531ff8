from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API (/api/v1/): the pages' data and rules for shops and billing systems."""

    name = "api"
    verbose_name = _("REST API")
