"""Money as the reader expects it: the business's currency (BUSINESS_CURRENCY) with its
symbol and the separators of the active language, from CLDR through Babel.

Babel locale per language (a language code says nothing about the country, a currency
symbol and its separators need one):
- en -> en_US: only the US dollar is a bare "$" there; every other dollar keeps its
  prefix (CA$, A$, NT$, HK$) and the euro and the pound are € and £ as in en_GB, which
  would write "US$" for a US business's own currency.
- de -> de_DE (1.286,01 €), tr -> tr_TR (₺1.286,01).
- zh-hant -> zh_Hant_HK: the app's one Traditional Chinese serves Taiwan and Hong Kong.
  zh_Hant_TW writes the New Taiwan dollar as a bare "$" (the US dollar's sign); HK
  writes NT$ and HK$. Separators are the same in both (1,286.01).
"""

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

BABEL_LOCALES = {"en": "en_US", "de": "de_DE", "tr": "tr_TR", "zh-hant": "zh_Hant_HK"}


def babel_locale(language: str | None = None) -> str:
    """The Babel locale of `language` (default: the active one); English if unknown."""
    code = (language or translation.get_language() or "en").lower()
    return BABEL_LOCALES.get(code) or BABEL_LOCALES.get(code.split("-")[0], "en_US")


def format_money(
    amount: Decimal | float | int | str | None,
    currency: str | None = None,
    *,
    language: str | None = None,
) -> str:
    """`amount` in `currency` (default BUSINESS_CURRENCY) for a reader of `language`
    (default: the active language). "" for no amount; a non-number is shown as it is."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    return format_currency(
        value, currency or settings.BUSINESS_CURRENCY, locale=babel_locale(language)
    )
