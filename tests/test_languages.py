"""Which language a page or an email speaks: the staff member's choice (kept with their
account), the browser's, and for customers their preferred language, then the business's
(BUSINESS_LANGUAGE), then English; and one date style per language."""

import datetime
import os
import re
import subprocess
import sys
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import formats, translation

from accounts.languages import SESSION_KEY
from accounts.models import Preferences
from customers.languages import customer_language, customer_languages, language_for_texts
from customers.links import make_token
from customers.models import Customer
from retention.loyalty import ledger, redemption
from retention.loyalty.card import card_url
from retention.models import OutgoingEmail
from retention.onboarding import checklists
from retention.outreach import sending
from surveys.responses import response_submit

from .factories import ChecklistTemplateFactory, CustomerFactory, RewardFactory
from .factories_surveys import invitation_with_token, nps_survey
from .outbox_helpers import make_template, queue_email

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 9)
# The one date style of each language (crm/formats/<locale>/formats.py).
DATE_STYLES = {
    "en": "9 Mar 2026",
    "de": "09.03.2026",
    "tr": "09.03.2026",
    "zh-hant": "2026年3月9日",
}


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


# --- Staff: the switcher, remembered per user; the browser's language first ----------------


def test_the_navigation_offers_every_language_in_its_own_name(manager_client):
    """Given a signed-in user, when a page opens, then the navigation has a language switch
    posting to set_language with one button per language, each named in that language."""
    html = manager_client.get(reverse("customers:list")).content.decode()
    switch = html[html.index('data-testid="language-switch"') :]
    switch = switch[: switch.index("</form>")]
    assert f'action="{reverse("set_language")}"' in html
    for code, name in [("en", "English"), ("de", "Deutsch"), ("tr", "Türkçe")]:
        assert f'name="language" value="{code}" lang="{code}"' in switch
        assert f">{name}</button>" in switch
    assert ">繁體中文</button>" in switch
    assert "<script" not in switch and "onchange" not in switch  # no inline JS (CSP)


def test_choosing_a_language_is_kept_with_the_account_and_used_at_the_next_login(
    manager, manager_client
):
    """Given a manager whose browser asks for English, when they choose German in the
    switcher, then it is stored with their account, and a new login on another browser
    (no cookie, Accept-Language English) shows German pages."""
    response = manager_client.post(
        reverse("set_language"), {"language": "de", "next": "/customers/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/customers/")
    assert Preferences.objects.get(user=manager).language == "de"

    other_browser = Client()
    other_browser.force_login(manager)  # a new session: the login copies the choice in
    page = other_browser.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(page) == "de"
    assert page["Content-Language"] == "de"


def test_the_choice_beats_the_browser_and_an_old_session_picks_it_up(manager, manager_client):
    """Given a stored choice (Turkish) and a session from before it was copied in, when a
    page opens with Accept-Language German, then it is Turkish."""
    Preferences.objects.create(user=manager, language="tr")
    session = manager_client.session
    session.pop(SESSION_KEY, None)
    session.save()
    page = manager_client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="de")
    assert html_lang(page) == "tr"
    assert manager_client.session[SESSION_KEY] == "tr"


def test_an_unknown_language_is_refused_and_changes_nothing(manager, manager_client):
    """Given a stored choice, when someone posts a language the app does not offer (a
    dropped one, French), then the stored choice stays."""
    Preferences.objects.create(user=manager, language="de")
    manager_client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert Preferences.objects.get(user=manager).language == "de"


def test_without_a_choice_the_browsers_language_decides(manager_client, client):
    """Given no stored choice, then the login page and staff pages follow Accept-Language;
    a language the app does not offer falls back to English."""
    assert html_lang(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")) == "de"
    page = manager_client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.9")
    assert html_lang(page) == "zh-hant"
    french = manager_client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="fr")
    assert html_lang(french) == "en"


def test_an_anonymous_visitor_switches_with_the_cookie_only(client):
    """Given nobody signed in, when the switch is used, then nothing is stored (there is no
    account) and the login page follows the cookie."""
    client.post(reverse("set_language"), {"language": "tr", "next": "/accounts/login/"})
    assert Preferences.objects.count() == 0
    assert html_lang(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")) == "tr"


def test_the_middleware_costs_no_query_per_page(
    manager, manager_client, django_assert_max_num_queries
):
    """Given a stored choice copied into the session at login, when pages open, then reading
    the choice costs no query (the same page's query count with and without a choice)."""
    url = reverse("accounts:account")
    manager_client.get(url)
    with django_assert_max_num_queries(100) as without:
        manager_client.get(url)
    Preferences.objects.create(user=manager, language="de")
    fresh = Client()
    fresh.force_login(manager)
    fresh.get(url)
    with django_assert_max_num_queries(100) as chosen:
        assert html_lang(fresh.get(url)) == "de"
    assert len(chosen.captured_queries) == len(without.captured_queries)


# --- Customers: preferred, then BUSINESS_LANGUAGE, then English ------------------------------


@pytest.mark.parametrize(
    ("preferred", "business", "expected"),
    [
        ("de", "tr", "de"),  # their own language
        ("", "tr", "tr"),  # none: the business's
        ("fr", "tr", "tr"),  # a dropped language (an old row): the business's
        ("", "xx", "en"),  # a business language the app does not offer: English
        ("zh-hant", "en", "zh-hant"),
    ],
)
def test_the_customers_language_falls_back_to_the_business_then_english(
    settings, preferred, business, expected
):
    settings.BUSINESS_LANGUAGE = business
    customer = Customer(name="Ada", preferred_language=preferred)
    assert customer_language(customer) == expected


def test_a_text_missing_in_the_customers_language_is_taken_in_the_next_one(settings):
    """A German customer of a Turkish business: a German version first, else the Turkish
    one, else English."""
    settings.BUSINESS_LANGUAGE = "tr"
    customer = Customer(preferred_language="de")
    assert customer_languages(customer) == ["de", "tr", "en"]
    assert language_for_texts(customer, {"en", "tr", "de"}) == "de"
    assert language_for_texts(customer, {"en", "tr"}) == "tr"
    assert language_for_texts(customer, {"en"}) == "en"


def test_a_business_language_the_app_does_not_offer_stops_the_start():
    """Given BUSINESS_LANGUAGE=fr (dropped) or a currency that is no ISO code, then the
    settings refuse to load, naming the variable."""
    for name, value in [("BUSINESS_LANGUAGE", "fr"), ("BUSINESS_CURRENCY", "EURO")]:
        env = {**os.environ, "DEBUG": "1", name: value}
        run = subprocess.run(
            [sys.executable, "-c", "import crm.settings"],
            env=env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            check=False,
        )
        assert run.returncode != 0 and name in run.stderr


def test_customers_who_preferred_a_dropped_language_get_the_business_default():
    """The data migration: fr, es and nl become "" (the business's language)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("customers.migrations.0016_languages_en_de_tr_zh_hant")
    kept = CustomerFactory(preferred_language="de")
    dropped = [CustomerFactory(preferred_language="en") for _ in range(3)]
    for customer, code in zip(dropped, ["fr", "es", "nl"], strict=True):
        Customer.objects.filter(pk=customer.pk).update(preferred_language=code)
    migration.to_business_language(apps, None)
    languages = dict(Customer.objects.values_list("pk", "preferred_language"))
    assert languages[kept.pk] == "de"
    assert [languages[c.pk] for c in dropped] == ["", "", ""]


# --- Customer pages: one language, whatever the browser ------------------------------------


@time_machine.travel(datetime.datetime(2026, 3, 4, 12, 0, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize("language", ["en", "de", "tr", "zh-hant"])
def test_the_onboarding_page_speaks_the_customers_language(client, language):
    """Given a customer preferring `language` and a browser asking for another one, then the
    onboarding page is in theirs: html lang, Content-Language and the due dates' style."""
    customer = CustomerFactory(status=Customer.Status.ONBOARDING, preferred_language=language)
    checklists.checklist_start(customer=customer, template=ChecklistTemplateFactory())
    browser = "de" if language != "de" else "en"
    response = client.get(checklists.public_link(customer), HTTP_ACCEPT_LANGUAGE=browser)
    assert response.status_code == 200
    assert (html_lang(response), response["Content-Language"]) == (language, language)
    html = response.content.decode()
    assert DATE_STYLES[language] in html  # "Upload your logo", due five days after the start
    others = {style for code, style in DATE_STYLES.items() if style != DATE_STYLES[language]}
    assert not any(style in html for style in others)


@pytest.mark.parametrize(
    ("preferred", "business", "expected"),
    [("de", "en", "de"), ("", "tr", "tr"), ("", "en", "en")],
)
def test_the_survey_page_falls_back_to_the_business_language(
    client, settings, preferred, business, expected
):
    settings.BUSINESS_LANGUAGE = business
    customer = CustomerFactory(preferred_language=preferred)
    _invitation, token = invitation_with_token(customer=customer)
    response = client.get(reverse("surveys:answer", args=[token]), HTTP_ACCEPT_LANGUAGE="zh-TW")
    assert (html_lang(response), response["Content-Language"]) == (expected, expected)
    # The form's errors and the "thank you" page are rendered in the same language.
    error = client.post(reverse("surveys:answer", args=[token]), {}, HTTP_ACCEPT_LANGUAGE="zh-TW")
    assert error.status_code == 422 and html_lang(error) == expected


def test_the_english_loyalty_card_writes_an_english_date(client):
    """The issue's example: an English customer's card said "Valid until 1 mars 2027."
    With a German browser, the English card now writes the date the English way."""
    customer = CustomerFactory(preferred_language="en")
    ledger.points_earn(customer=customer, points=500, reason="Welcome", source_key="t:1")
    coupon = redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=100))
    html = client.get(card_url(customer), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    with translation.override("en"):
        expected = formats.date_format(coupon.expires_on)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", expected)
    assert f"Valid until {expected}." in html
    assert coupon.expires_on.strftime("%d.%m.%Y") not in html


def test_the_unsubscribe_page_speaks_the_customers_language(client):
    customer = CustomerFactory(preferred_language="zh-hant")
    url = reverse("retention:unsubscribe", args=[make_token("unsubscribe", customer.pk)])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (html_lang(response), response["Content-Language"]) == ("zh-hant", "zh-hant")


# --- Emails: rendered by the worker, with no request -----------------------------------------


def test_an_email_to_a_german_customer_is_german_when_the_worker_sends_it(settings):
    """Given a German customer and a template with English and German versions, when the
    worker sends it (no request, the process's language English), then subject, body and
    dates are German, and the worker's own language is left as it was."""
    customer = CustomerFactory(
        name="Grete Maier", preferred_language="de", renewal_date=DAY, marketing_consent=True
    )
    template = make_template(
        "Renewal, two languages",
        en=("Hello {{ first_name }}", "Renews on {{ renewal_date }}"),
        de=("Hallo {{ first_name }}", "Verlängerung am {{ renewal_date }}"),
    )
    email = queue_email(customer, template, status=OutgoingEmail.Status.SENDING)
    translation.activate("en")
    sending.send_batch([email.pk])
    [message] = mail.outbox
    assert message.subject == "Hallo Grete"
    assert "Verlängerung am 09.03.2026" in message.body
    assert translation.get_language() == "en"
    email.refresh_from_db()
    assert email.language == "de"


def test_an_email_without_the_customers_version_takes_the_business_language(settings):
    settings.BUSINESS_LANGUAGE = "tr"
    customer = CustomerFactory(name="Ayşe Kaya", preferred_language="de", marketing_consent=True)
    template = make_template("No German", en=("Hello", "English"), tr=("Merhaba", "Türkçe"))
    email = queue_email(customer, template, status=OutgoingEmail.Status.SENDING)
    sending.send_batch([email.pk])
    assert mail.outbox[0].subject == "Merhaba"
    email.refresh_from_db()
    assert email.language == "tr"


# --- Dates: one style per language -----------------------------------------------------------


@pytest.mark.parametrize("language", list(DATE_STYLES))
def test_each_language_has_one_date_style(language):
    """DATE_FORMAT and SHORT_DATE_FORMAT (and the date-time pair) agree, so a page mixing
    the two still shows one style."""
    moment = datetime.datetime(2026, 3, 9, 14, 30)
    with translation.override(language):
        assert formats.date_format(DAY) == DATE_STYLES[language]
        assert formats.date_format(DAY, "SHORT_DATE_FORMAT") == DATE_STYLES[language]
        long = formats.date_format(moment, "DATETIME_FORMAT")
        assert long == formats.date_format(moment, "SHORT_DATETIME_FORMAT")
        assert long.startswith(DATE_STYLES[language]) and long.endswith("14:30")


def test_a_staff_page_shows_its_dates_in_one_style(manager, manager_client):
    """Given a German user, the customer page writes every date as 09.03.2026."""
    customer = CustomerFactory(
        owner=manager, renewal_date=DAY, customer_since=datetime.date(2025, 1, 2)
    )
    Preferences.objects.create(user=manager, language="de")
    manager_client = Client()
    manager_client.force_login(manager)
    html = manager_client.get(customer.get_absolute_url()).content.decode()
    assert "09.03.2026" in html and "02.01.2025" in html
    assert "9 Mar 2026" not in html and "Mar. 9, 2026" not in html and "2026-03-09<" not in html


def test_no_template_formats_a_date_by_hand():
    """Every displayed date goes through a named format (DATE_FORMAT, SHORT_DATE_FORMAT...),
    never a literal pattern such as "M Y" or "H:i"; machine values (input values, datetime
    attributes: "Y-m-d", "c") are allowed."""
    allowed = {"Y-m-d", "c"}
    literal = re.compile(r"""\|(?:date|time):["']([^"']+)["']""")
    offenders = []
    for path in (settings.BASE_DIR / "templates").rglob("*.*"):
        for name in literal.findall(path.read_text(encoding="utf-8")):
            if not name.endswith("_FORMAT") and name not in allowed:
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {name}")
    assert offenders == []


# --- Emails to staff: the language they chose -----------------------------------------------


def test_a_risk_notice_to_a_manager_speaks_the_language_they_chose(manager):
    """Given a manager who chose Turkish, when the worker sends them a "risk rose" notice
    about a customer (whose own language is German), then the notice is Turkish; in a batch,
    the choice is read with the row (no query per email)."""
    Preferences.objects.create(user=manager, language="tr")
    customer = CustomerFactory(owner=manager, preferred_language="de")
    email = OutgoingEmail.objects.create(
        customer=customer,
        kind=OutgoingEmail.Kind.STAFF_NOTICE,
        recipient_user=manager,
        to_email=manager.email,
        idempotency_key="notice:1",
        status=OutgoingEmail.Status.SENDING,
    )
    sending.send_batch([email.pk])
    email.refresh_from_db()
    assert (email.status, email.language) == ("sent", "tr")


def test_a_reset_email_speaks_the_accounts_language_not_the_askers(manager):
    """Given a manager who chose German, when a reset is asked for their address from an
    English page, then the queued email is German; without a choice, the page's language."""
    from accounts import passwords

    Preferences.objects.create(user=manager, language="de")
    passwords.queue_reset_emails(manager.email, language="en")
    row = OutgoingEmail.objects.get(kind=OutgoingEmail.Kind.PASSWORD_RESET)
    assert row.language == "de"
    Preferences.objects.filter(user=manager).update(language="")
    passwords.queue_reset_emails(manager.email, language="zh-hant")
    latest = OutgoingEmail.objects.filter(kind=OutgoingEmail.Kind.PASSWORD_RESET).latest("id")
    assert latest.language == "zh-hant"


def test_logging_in_again_picks_up_a_choice_made_on_another_device(manager):
    """Given a browser whose session remembers "no choice", when the user chooses German
    elsewhere and logs in again on that browser (same session data kept), then German."""
    laptop = Client()
    laptop.force_login(manager)
    assert html_lang(laptop.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en")) == "en"
    Preferences.objects.create(user=manager, language="de")  # chosen on the phone
    laptop.force_login(manager)
    assert html_lang(laptop.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en")) == "de"


def test_a_detractors_notice_is_written_in_the_account_managers_language(manager):
    """Given a manager who chose German, when their customer answers 3 to an NPS survey
    on an English page, then the stored notice is written in German (the language active
    while it is written)."""
    Preferences.objects.create(user=manager, language="de")
    invitation, _token = invitation_with_token(
        nps_survey(), CustomerFactory(owner=manager, name="Ada")
    )
    question = invitation.survey.questions.get(kind="scale_0_10")
    seen = []
    original = translation.override

    def spy(language, *args, **kwargs):
        seen.append(language)
        return original(language, *args, **kwargs)

    with mock.patch("surveys.responses.translation.override", spy):
        response_submit(invitation=invitation, answers={question: 3}, language="en")
    assert "de" in seen


# --- Imports: the ways a file writes a language --------------------------------------------


def test_an_import_reads_regional_codes_native_names_and_dropped_languages(manager):
    """Given a file with "de-AT", "Türkçe", "zh_TW", "繁體中文", "EN-us" and the dropped "fr"
    and "Français", then it imports (a French customer gets the business's language, ""),
    not refused row by row; a language no one spoke here is still an error."""
    from .test_import import errors_of, imported, validated

    rows = ["de-AT", "Türkçe", "zh_TW", "繁體中文", "EN-us", "fr", "Français"]
    content = "name,preferred_language\n" + "".join(f"C{i},{v}\n" for i, v in enumerate(rows))
    imported(manager, content)
    stored = dict(Customer.objects.values_list("name", "preferred_language"))
    assert [stored[f"C{i}"] for i in range(len(rows))] == [
        "de", "tr", "zh-hant", "zh-hant", "en", "", "",
    ]  # fmt: skip
    job = validated(manager, "name,preferred_language\nX,Klingon\n")
    assert [field for _row, field, _message in errors_of(job)] == ["preferred_language"]
