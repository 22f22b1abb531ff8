"""Personalisation: each placeholder, each language with fallback to English, safe output."""

from datetime import date
from email.utils import getaddresses

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from customers.links import read_token
from retention.models import EmailTemplateTranslation, OutgoingEmail, StaffProfile
from retention.outreach import placeholders, rendering, sending

from .factories import CustomerFactory, UserFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401

pytestmark = pytest.mark.django_db


def render(customer, subject="", body="", language="en", html=""):
    row = EmailTemplateTranslation(
        language=language, subject=subject, body_text=body, body_html=html
    )
    return rendering.render_follow_up(customer, row)


@pytest.fixture
def grace(manager):
    manager.first_name, manager.last_name = "Mike", "Manning"
    manager.save()
    StaffProfile.objects.create(user=manager, signature="Mike Manning\nCustomer success")
    return CustomerFactory(
        name="Grace Brewster Hopper",
        owner=manager,
        plan="Enterprise",
        renewal_date=date(2026, 3, 9),
        marketing_consent=True,
    )


@override_settings(BUSINESS_NAME="Acme Widgets")
@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("first_name", "Grace"),
        ("name", "Grace Brewster Hopper"),
        ("account_manager", "Mike Manning"),
        ("signature", "Mike Manning\nCustomer success"),
        ("plan", "Enterprise"),
        ("renewal_date", "9 Mar 2026"),
        ("business_name", "Acme Widgets"),
    ],
)
def test_each_placeholder_is_filled_in(grace, placeholder, expected):
    rendered = render(grace, body=f"[{{{{ {placeholder} }}}}]")
    assert f"[{expected}]" in rendered.text


def test_the_unsubscribe_link_is_a_signed_link_for_this_customer(grace):
    rendered = render(grace, body="Stop: {{ unsubscribe_link }}")
    url = rendered.text.split("Stop: ")[1].split()[0]
    token = url.rstrip("/").split("/")[-1]
    assert read_token("unsubscribe", token) == grace.pk
    assert f'<a href="{url}">' in rendered.html  # clickable in the HTML part


def test_every_built_in_placeholder_is_registered():
    assert set(placeholders.registered()) >= {
        "first_name",
        "name",
        "account_manager",
        "signature",
        "plan",
        "renewal_date",
        "business_name",
        "unsubscribe_link",
    }


def test_a_placeholder_another_feature_registers_is_used(grace):
    placeholders.register("stamps", "Stamps", lambda customer: "1,250")
    try:
        assert "You have 1,250 stamps" in render(grace, body="You have {{stamps}} stamps").text
    finally:
        placeholders._registry.pop("stamps")


def test_onboarding_and_loyalty_card_links_open_this_customers_pages(grace, client):
    rendered = render(grace, body="Steps: {{ onboarding_link }} Card: {{ loyalty_card_link }}")
    onboarding_url = rendered.text.split("Steps: ")[1].split()[0]
    card_url = rendered.text.split("Card: ")[1].split()[0]
    assert read_token("onboarding", onboarding_url.rstrip("/").split("/")[-1]) == grace.pk
    assert read_token("loyalty", card_url.rstrip("/").split("/")[-1]) == grace.pk
    site = settings.SITE_URL
    assert client.get(onboarding_url.removeprefix(site)).status_code == 200
    assert client.get(card_url.removeprefix(site)).status_code == 200


def test_points_balance(grace):
    from retention.loyalty import ledger

    assert "[0]" in render(grace, body="[{{ points_balance }}]").text
    ledger.points_earn(customer=grace, points=1250, reason="Welcome", source_key="t:1")
    assert "[1,250]" in render(grace, body="[{{ points_balance }}]").text


def test_no_account_manager_falls_back_to_the_team(settings):
    settings.BUSINESS_NAME = "Acme"
    customer = CustomerFactory(name="Solo", owner=None)
    rendered = render(customer, body="{{ account_manager }} / {{ signature }}")
    assert "the Acme team / the Acme team\nAcme" in rendered.text


@pytest.mark.parametrize(
    ("language", "expected_subject", "expected_date"),
    [
        ("en", "Hello Grace", "9 Mar 2026"),
        ("de", "Hallo Grace", "09.03.2026"),
        ("tr", "Merhaba Grace", "09.03.2026"),
        ("zh-hant", "Grace 您好", "2026年3月9日"),
    ],
)
def test_each_language_gets_its_own_version_and_date_format(
    grace, language, expected_subject, expected_date
):
    template = make_template(
        en=("Hello {{ first_name }}", "Renews {{ renewal_date }}"),
        de=("Hallo {{ first_name }}", "Verlängerung {{ renewal_date }}"),
        tr=("Merhaba {{ first_name }}", "Yenileme tarihi: {{ renewal_date }}"),
        **{"zh-hant": ("{{ first_name }} 您好", "續約日期:{{ renewal_date }}")},
    )
    grace.preferred_language = language
    grace.save()
    with mail.get_connection() as connection:
        email = queue_email(grace, template, status=OutgoingEmail.Status.SENDING)
        sending.send_batch([email.pk], connection=connection)
    sent = mail.outbox[-1]
    assert sent.subject == expected_subject
    assert expected_date in sent.body
    email.refresh_from_db()
    assert (email.status, email.language) == ("sent", language)


def test_a_language_without_a_version_falls_back_to_english(grace):
    template = make_template(en=("Hello", "English body"), de=("Hallo", "Deutscher Text"))
    grace.preferred_language = "tr"
    grace.save()
    email = queue_email(grace, template, status=OutgoingEmail.Status.SENDING)
    sending.send_batch([email.pk])
    assert mail.outbox[-1].subject == "Hello"
    assert "English body" in mail.outbox[-1].body
    email.refresh_from_db()
    assert email.language == "en"


def test_header_injection_in_a_name_or_subject_is_neutralised(grace):
    grace.name = "Eve\r\nBcc: victim@example.com"
    grace.save()
    template = make_template(en=("Hi {{ name }}\nBcc: other@example.com", "Body"))
    email = queue_email(grace, template, status=OutgoingEmail.Status.SENDING)
    sending.send_batch([email.pk])
    message = mail.outbox[-1].message()
    raw = message.as_string()
    assert "\nBcc:" not in raw
    assert message["Subject"] == "Hi Eve Bcc: victim@example.com Bcc: other@example.com"
    # One recipient, the customer: the would-be Bcc is only text in the display name.
    assert [address for _name, address in getaddresses([message["To"]])] == [grace.email]
    assert message["Bcc"] is None


def test_staff_text_is_never_run_as_template_code_and_is_escaped_in_html(grace):
    grace.name = "<script>alert(1)</script> Bob"
    grace.save()
    rendered = render(
        grace,
        subject="{% if 1 %}x{% endif %}",
        body="{{ name }} {% load static %}{{ settings.SECRET_KEY }} <b>5 > 3</b>",
    )
    assert rendered.subject == "{% if 1 %}x{% endif %}"
    assert "{% load static %}" in rendered.text
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;5 &gt; 3&lt;/b&gt;" in rendered.html  # text source: all escaped


def test_an_html_version_keeps_its_markup_but_escapes_values(grace):
    grace.name = "Al <i>"
    grace.save()
    rendered = render(grace, body="text", html="<h1>Hi {{ name }}</h1>")
    assert "<h1>Hi Al &lt;i&gt;</h1>" in rendered.html
    assert rendered.text.startswith("text")


@override_settings(EMAIL_OPEN_TRACKING=True)
def test_the_open_pixel_is_in_the_html_part_only_when_tracking_is_on(grace):
    row = EmailTemplateTranslation(language="en", subject="s", body_text="b")
    with_pixel = rendering.render_follow_up(grace, row, email_id=42)
    assert "/retention/o/" in with_pixel.html
    with override_settings(EMAIL_OPEN_TRACKING=False):
        without = rendering.render_follow_up(grace, row, email_id=42)
    assert "/retention/o/" not in without.html


def test_staff_notice_names_the_customer_and_links_to_them(grace, manager):
    email = OutgoingEmail.objects.create(
        customer=grace,
        kind=OutgoingEmail.Kind.STAFF_NOTICE,
        recipient_user=manager,
        to_email=manager.email,
        idempotency_key="n1",
        status=OutgoingEmail.Status.SENDING,
    )
    sending.send_batch([email.pk])
    sent = mail.outbox[-1]
    assert "Grace Brewster Hopper" in sent.subject
    assert f"/customers/{grace.pk}/" in sent.body
    assert "List-Unsubscribe" not in sent.extra_headers  # staff mail: no unsubscribe


def test_unknown_user_for_signature_uses_manager_name(grace):
    other = UserFactory(username="x", first_name="Xena", last_name="Y")
    grace.owner = other
    grace.save()
    assert "Xena Y" in render(grace, body="{{ signature }}").text


def test_an_internationalised_domain_is_sent_in_its_ascii_form():
    from retention.outreach.sending import idna_address

    assert idna_address("anna@müller.example") == "anna@xn--mller-kva.example"
    assert idna_address("plain@example.org") == "plain@example.org"
