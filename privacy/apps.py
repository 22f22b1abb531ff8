from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """GDPR: everything held on one customer as a download, and erasing a customer."""

    name = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from customers import access, panels

        from .panels import privacy_panel

        panels.register_panel(
            "privacy", privacy_panel, visible=lambda request: access.is_admin(request.user)
        )
