"""Optional two-factor authentication: TOTP apps (django-otp), with backup codes.

A user turns it on from their account page: an unconfirmed TOTP device is made, its
secret shown as a QR code (an SVG made here, no outside service) and as text; a code
from the app confirms it, and ten single-use backup codes (a static device) are shown
once. From then on the login asks for a code after the password (middleware.py).
"""

import base64
from collections.abc import Callable

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODES = 10
SESSION_KEY = "accounts_has_two_factor"  # cached per login: no query on every page

_required_for: Callable[..., bool] = lambda user: False  # noqa: E731


def register_required_for(predicate: Callable[..., bool]) -> None:
    """Who must use two-factor when REQUIRE_2FA_FOR_ADMINS is on (the customers app
    registers its `is_admin`: the roles live above this app)."""
    global _required_for
    _required_for = predicate


def is_required_for(user) -> bool:
    return settings.REQUIRE_2FA_FOR_ADMINS and _required_for(user)


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def remember_devices_at_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: note in the session whether this login still needs a code."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = has_device(user)


def session_has_device(request) -> bool:
    """Whether the session's user has two-factor on (read once, then from the session)."""
    if SESSION_KEY not in request.session:
        request.session[SESSION_KEY] = has_device(request.user)
    return request.session[SESSION_KEY]


def pending_device(user, *, create: bool = True) -> TOTPDevice | None:
    """The unconfirmed device being set up (the same one until confirmed, so reloading
    the page does not change the secret after it was scanned)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None and create:
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=False)
    return device


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data: images)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def clean_code(code: str) -> str:
    return "".join(str(code).split())


@transaction.atomic
def confirm(request, device: TOTPDevice, code: str) -> list[str] | None:
    """Turn two-factor on if `code` comes from `device`'s app; the new backup codes.

    The session counts as verified with it at once (the user just proved the device).
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token(clean_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    codes = new_backup_codes(device.user)
    otp_login(request, device)
    request.session[SESSION_KEY] = True
    return codes


def new_backup_codes(user) -> list[str]:
    """Ten fresh single-use codes (the old ones stop working)."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


def verify(user, code: str):
    """The device that accepts `code` (an app code, or a backup code, used up), or None.

    Each device throttles its own failures (django-otp: the wait doubles after each
    wrong code), so guessing six digits is no faster than the lockout allows.
    """
    code = clean_code(code)
    if not code:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


@transaction.atomic
def disable(user) -> None:
    """Two-factor off: every device and backup code of `user` removed."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
