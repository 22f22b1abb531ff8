"""Money and numbers as the reader's language writes them: the business's currency
(BUSINESS_CURRENCY) with its symbol and the locale's separators (customers/money.py,
the `money` template filter), counts grouped by `intcomma`."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Preferences
from customers.money import babel_locale, format_money
from customers.timeline import interaction_entry
from dashboard.tables import shown
from retention.models import Reward

from .factories import CustomerFactory, InteractionFactory
from .test_queue import at_risk

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("language", "currency", "expected"),
    [
        ("de", "EUR", f"1.286,01{NBSP}€"),
        ("en", "EUR", "€1,286.01"),
        ("tr", "TRY", "₺1.286,01"),
        ("zh-hant", "TWD", "NT$1,286.01"),
        ("zh-hant", "HKD", "HK$1,286.01"),
        ("en", "USD", "$1,286.01"),  # en_US: a US business's own dollar is a bare "$"
        ("en", "CAD", "CA$1,286.01"),  # ...and no other dollar is
        ("de", "TRY", f"1.286,01{NBSP}TRY"),
    ],
)
def test_an_amount_in_each_language(language, currency, expected):
    assert format_money(Decimal("1286.01"), currency, language=language) == expected


def test_the_active_language_and_the_business_currency_are_the_defaults(settings):
    settings.BUSINESS_CURRENCY = "TRY"
    with translation.override("tr"):
        assert format_money(Decimal("45.5")) == "₺45,50"
    with translation.override("zh-hant"):
        assert babel_locale() == "zh_Hant_HK"
    assert babel_locale("pt-br") == "en_US"  # not offered: English


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, ""),
        ("", ""),
        (0, "€0.00"),
        ("12.5", "€12.50"),
        (Decimal("-12.99"), "-€12.99"),  # a refund
        (Decimal("1286.014"), "€1,286.01"),  # to the currency's digits
        ("n/a", "n/a"),  # not a number: shown as it is, never a 500
    ],
)
def test_edges(amount, expected):
    with translation.override("en"):
        assert format_money(amount, "EUR") == expected


def test_the_template_filter_follows_the_page_language(settings):
    settings.BUSINESS_CURRENCY = "EUR"
    template = Template('{% load money %}{{ value|money }}|{{ value|money:"USD" }}')
    with translation.override("de"):
        assert template.render(Context({"value": Decimal("1286.01")})) == (
            f"1.286,01{NBSP}€|1.286,01{NBSP}$"
        )


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "1,286"), ("de", "1.286"), ("tr", "1.286"), ("zh-hant", "1,286")],
)
def test_counts_are_grouped_the_languages_way_but_ids_are_not(language, expected):
    """intcomma follows the language (zh-hant groups by three, as CLDR and the money do);
    a plain number (an id in a link) is never grouped (no USE_THOUSAND_SEPARATOR)."""
    template = Template("{% load humanize %}{{ n|intcomma }} /customers/{{ n }}/")
    with translation.override(language):
        assert template.render(Context({"n": 1286})) == f"{expected} /customers/1286/"


def test_the_customer_page_and_list_show_the_monthly_value_in_the_users_language(manager):
    """Given a German user, then the monthly value reads 1.286,01 € on the customer page
    and in the list."""
    customer = CustomerFactory(owner=manager, monthly_value=Decimal("1286.01"))
    Preferences.objects.create(user=manager, language="de")
    client = Client()
    client.force_login(manager)
    detail = client.get(customer.get_absolute_url()).content.decode()
    assert f"1.286,01{NBSP}€" in detail
    listing = client.get(reverse("customers:list")).content.decode()
    assert f"1.286,01{NBSP}€" in listing


def test_the_queue_shows_value_at_risk_with_the_symbol(admin_client, settings):
    settings.BUSINESS_CURRENCY = "USD"
    at_risk(score=54, expected_loss=Decimal("1026.46"), monthly_value=Decimal("1900.85"))
    html = admin_client.get(reverse("retention:queue")).content.decode()
    assert "$1,026.46</strong>/month" in html
    assert "of $1,900.85" in html


@pytest.mark.django_db
def test_dashboard_money_figures_and_reward_values_and_timeline_amounts():
    with translation.override("de"):
        assert shown(Decimal("1286.01")) == f"1.286,01{NBSP}€"
        assert shown(1286) == "1.286"  # a count, no currency
        assert Reward(kind="amount_off", value=Decimal("5")).value_display == f"5,00{NBSP}€"
        assert Reward(kind="percent_off", value=Decimal("12.5")).value_display == "12,5 %"
        refund = InteractionFactory(kind="refund", amount=Decimal("-12.99"))
        assert f"-12,99{NBSP}€" in interaction_entry(refund).detail


def test_the_falling_spend_reason_shows_money():
    """The "spend fell" risk reason writes both amounts in the business's currency."""
    from retention.risk.behaviour_signals import _describe_spend_drop

    with translation.override("en"):
        text = _describe_spend_drop({"recent": 40.0, "prior": 1286.01}, None)
    assert "€40.00" in text and "€1,286.01" in text
