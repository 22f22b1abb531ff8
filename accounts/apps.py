from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import events, languages, receivers, two_factor

        # Whether the user has a device is read once per login and kept in the session,
        # so the middleware costs no query on every page.
        user_logged_in.connect(two_factor.remember_devices_at_login, dispatch_uid="2fa_login")
        # The language the user chose, into the new session (no query per page after).
        user_logged_in.connect(languages.remember_at_login, dispatch_uid="language_login")
        events.reset_requested.connect(receivers.look_up_reset_on_commit, dispatch_uid="reset")
