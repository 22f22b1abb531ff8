"""The staff member's own language: chosen in the navigation, kept with their account.

Django's LocaleMiddleware picks a language from the language cookie, else the browser's
Accept-Language (the first default). A signed-in user's stored choice wins over both, on
every device: it is copied into the session at login (and when it changes), so applying
it costs no query per page.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from .models import Preferences

SESSION_KEY = "accounts_language"


def supported(language: str) -> str:
    """`language` if the app offers it, else "" ("no choice")."""
    return language if language in {code for code, _name in settings.LANGUAGES} else ""


def user_language(user) -> str:  # a user or their id
    """The language the user chose, "" if none."""
    preferences = Preferences.objects.filter(user=user).only("language").first()
    return supported(preferences.language) if preferences else ""


def language_of(user) -> str:
    """The same, read from `user.preferences` (no query when selected with the user:
    select_related("recipient_user__preferences") in a batch of emails)."""
    try:
        return supported(user.preferences.language)
    except Preferences.DoesNotExist:
        return ""


def user_language_set(*, user, language: str, request: HttpRequest | None = None) -> None:
    """Remember `language` for `user` (and for this session)."""
    language = supported(language)
    Preferences.objects.update_or_create(user=user, defaults={"language": language})
    if request is not None:
        request.session[SESSION_KEY] = language


def remember_at_login(sender, request: HttpRequest, user, **kwargs) -> None:
    """user_logged_in receiver: the stored choice into the new session."""
    request.session[SESSION_KEY] = user_language(user)


class UserLanguageMiddleware:
    """After LocaleMiddleware and AuthenticationMiddleware: a signed-in user's choice
    replaces the language guessed from the browser."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if SESSION_KEY not in request.session:  # a session from before this feature
                request.session[SESSION_KEY] = user_language(user)
            language = supported(request.session[SESSION_KEY])
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
