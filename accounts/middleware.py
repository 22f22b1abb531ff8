"""The second step of the login, for every page (the Django admin's too).

A user with two-factor on is logged in by the password, but until they give a code in
this session (django-otp's `is_verified()`) every page sends them to the code page. With
REQUIRE_2FA_FOR_ADMINS on, an admin without a device is sent to set one up. Checking
here, not in each view, covers the admin login and any view added later.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import two_factor

# What a half-logged-in user may still reach: the two steps themselves, logging out,
# the language switch and the health checks.
OPEN_VIEWS = {
    "accounts:two_factor_verify",
    "accounts:two_factor_setup",
    "accounts:two_factor_backup_codes",
    "logout",
    "set_language",
    "healthz",
    "livez",
}


class TwoFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        if two_factor.session_has_device(request):
            target = "accounts:two_factor_verify"
        elif two_factor.is_required_for(user):
            target = "accounts:two_factor_setup"
            if request.method == "GET":
                messages.info(request, _("Please set up two-factor authentication first."))
        else:
            return None
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
