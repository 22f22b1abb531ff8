"""The one rule for the language a customer is spoken to in: their pages and emails.

Their preferred language, else the business's (BUSINESS_LANGUAGE), else English; only
languages the app offers (settings.LANGUAGES) count. Every public page and every email to
a customer calls `customer_language` and renders the whole response inside
`translation.override` of it, so the chrome, the form errors, the buttons and the dates
are in one language, whatever the browser or the worker's own language.
"""

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

FALLBACK_LANGUAGE = "en"


def offered(language: str | None) -> str:
    """`language` if it is one of settings.LANGUAGES (case-insensitive), else ""."""
    code = (language or "").strip().lower()
    return code if code in {c for c, _name in settings.LANGUAGES} else ""


def business_language() -> str:
    return offered(settings.BUSINESS_LANGUAGE) or FALLBACK_LANGUAGE


def preferred_language_choices() -> list[tuple[str, str]]:
    """The choices of a customer's preferred language, "" named for what it means."""
    business = get_language_info(business_language())["name_translated"]
    empty = _("The business's language (%(language)s)") % {"language": business}
    return [("", empty), *settings.LANGUAGES]


def customer_languages(customer) -> list[str]:
    """The languages to try, best first, for a text that exists in some languages only
    (a follow-up template's versions): preferred, the business's, English."""
    candidates = [offered(getattr(customer, "preferred_language", "")), business_language()]
    return list(dict.fromkeys(code for code in [*candidates, FALLBACK_LANGUAGE] if code))


def customer_language(customer) -> str:
    """The language of everything `customer` reads: a code of settings.LANGUAGES."""
    return customer_languages(customer)[0]


def in_language(response: HttpResponse, language: str) -> HttpResponse:
    """The response marked as being in `language` (LocaleMiddleware would otherwise
    announce the browser's language, not the customer's)."""
    response.headers["Content-Language"] = language
    return response


def language_for_texts(customer, available: set[str]) -> str:
    """The best of the customer's languages in which a text exists (`available`), so a
    page or an email is never half in one language and half in another; the customer's
    own language when none is."""
    candidates = customer_languages(customer)
    return next((code for code in candidates if code in available), candidates[0])


# Languages the app spoke once (French, Spanish, Dutch: dropped in issue 18, as their
# pages were never complete). An imported "fr" means "no preference", not an error.
DROPPED_LANGUAGES = ("fr", "es", "nl")
REGIONAL = {
    "en": ("en-gb", "en-us", "en-au", "en-ie", "en-ca", "en-nz", "en-in"),
    "de": ("de-de", "de-at", "de-ch", "de-li", "de-lu"),
    "tr": ("tr-tr", "tr-cy", "turkce"),
    "zh-hant": (
        "zh-tw", "zh-hk", "zh-mo", "zh-hant-tw", "zh-hant-hk", "zh-hant-mo",
        "繁体中文", "正體中文", "中文（繁體）", "chinese (traditional)",
    ),
}  # fmt: skip


def language_aliases() -> dict[str, str]:
    """Lower-cased ways a file writes a language (codes with a region, "_" for "-", the
    English and the native name) -> the stored code; a dropped language -> ""."""
    aliases: dict[str, str] = {}
    for code, _name in settings.LANGUAGES:
        info = get_language_info(code)
        for alias in (code, info["name"], info["name_local"], *REGIONAL.get(code, ())):
            aliases.setdefault(alias.lower(), code)
    for code in DROPPED_LANGUAGES:
        info = get_language_info(code)
        for alias in (code, info["name"], info["name_local"]):
            aliases.setdefault(alias.lower(), "")
    for alias, code in list(aliases.items()):
        aliases.setdefault(alias.replace("-", "_"), code)
    return aliases
