"""The headers of survey emails, read from the bytes an SMTP server receives: a
Message-ID under SITE_URL's domain, List-Id, one-click List-Unsubscribe that really
unsubscribes, and a Subject on one line."""

import email
import re
from datetime import timedelta
from email import policy

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from retention.models import EmailUnsubscribe
from surveys import delivery, emails
from surveys.models import Survey, SurveyInvitation

from .factories import CustomerFactory
from .smtp_server import Recorder, SMTPServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    settings.SITE_URL = "https://crm.example.com"
    settings.BUSINESS_NAME = "Example Shop"
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        yield recorder


@pytest.fixture
def nps():
    survey = Survey.objects.get(kind=Survey.Kind.NPS, name="NPS")
    # Long titles: encoded, the Subject is longer than a header line's 78 characters.
    survey.title = "How likely are you to recommend us to a friend?"
    survey.translations = {"de": {"title": "Würden Sie uns Ihren Freunden weiterempfehlen?"}}
    survey.save()
    return survey


def _invitation(survey, **customer) -> SurveyInvitation:
    return SurveyInvitation.objects.create(
        survey=survey,
        customer=CustomerFactory(**customer),
        trigger="manual",
        expires_at=timezone.now() + timedelta(days=30),
    )


def _received(recorder: Recorder) -> list[tuple[bytes, email.message.EmailMessage]]:
    return [
        (raw, email.message_from_bytes(raw, policy=policy.default))
        for _id, _to, raw in recorder.messages
    ]


def _raw_header(raw: bytes, name: bytes) -> bytes:
    """The header as it is on the wire, continuation lines included."""
    match = re.search(rb"^" + name + rb":(.*?)\r\n(?![ \t])", raw, re.MULTILINE | re.DOTALL)
    assert match, raw[:500]
    return match.group(1)


def test_the_message_id_is_under_site_urls_domain_and_the_same_for_a_repeat(smtp, nps):
    """Not the machine's host name (Django's default), which says nothing of the sender."""
    invitation = _invitation(nps)
    delivery.invitation_deliver(invitation.pk)
    delivery.invitation_deliver(invitation.pk, reminder=True)
    (_raw, first), (_raw2, reminder) = _received(smtp)

    assert re.fullmatch(r"<survey-invitation\.[0-9a-f]{32}@crm\.example\.com>", first["Message-ID"])
    assert reminder["Message-ID"].endswith("@crm.example.com>")
    assert reminder["Message-ID"] != first["Message-ID"]
    # A repeat of the same email (a worker died after the server accepted it) is
    # recognisable: the same Message-ID.
    assert emails.message_id(invitation, reminder=False) == first["Message-ID"]


def test_a_site_url_without_a_host_name_gives_localhost(settings):
    settings.SITE_URL = "http://[::1]:8000"
    assert emails.site_domain() == "localhost"
    settings.SITE_URL = "https://crm.bäckerei.de"
    assert emails.site_domain() == "crm.xn--bckerei-5wa.de"


def test_survey_emails_have_a_list_id(smtp, nps, settings):
    delivery.invitation_deliver(_invitation(nps).pk)
    settings.BUSINESS_NAME = "Panadería Sol, S.L."
    delivery.invitation_deliver(_invitation(nps).pk)
    (_raw, plain), (raw, accented) = _received(smtp)

    assert plain["List-Id"] == "Example Shop surveys <surveys.crm.example.com>"
    assert accented["List-Id"] == "Panadería Sol, S.L. surveys <surveys.crm.example.com>"
    assert _raw_header(raw, b"List-Id").isascii()
    assert b"<surveys.crm.example.com>" in _raw_header(raw, b"List-Id")


def test_one_click_unsubscribe_from_a_survey_email_stops_survey_emails(client, smtp, nps):
    """RFC 8058: the mail program POSTs to the List-Unsubscribe URL, without cookies."""
    invitation = _invitation(nps)
    delivery.invitation_deliver(invitation.pk)
    [(_raw, message)] = _received(smtp)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https://crm\.example\.com/\S+)>", message["List-Unsubscribe"]).group(1)

    response = client.post(url.removeprefix("https://crm.example.com"))
    assert response.status_code == 200
    assert EmailUnsubscribe.objects.filter(customer=invitation.customer).exists()

    again = SurveyInvitation.objects.create(
        survey=nps,
        customer=invitation.customer,
        trigger="manual",
        expires_at=timezone.now() + timedelta(days=30),
    )
    assert delivery.invitation_deliver(again.pk) is False
    assert len(smtp.messages) == 1
    assert SurveyInvitation.objects.get(pk=again.pk).status == "cancelled"


def test_the_body_links_to_the_unsubscribe_page(client, smtp, nps):
    delivery.invitation_deliver(_invitation(nps).pk)
    [(_raw, message)] = _received(smtp)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    page = re.search(r"Unsubscribe: (https://\S+)", text).group(1)
    assert page in html
    assert "one-click" not in page  # the page asks for a click; mail scanners follow links
    assert client.get(page.removeprefix("https://crm.example.com")).status_code == 200


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_reminders_subject_is_one_line_with_no_empty_first_line(smtp, nps, language):
    """Django 5.2 encodes a non-ASCII subject without counting "Subject: ", and the
    email package then folded it before the first encoded word: "Subject: \\r\\n =?utf-8?..."
    (the "·" before the business name makes every survey subject non-ASCII)."""
    invitation = _invitation(nps, preferred_language=language)
    delivery.invitation_deliver(invitation.pk)
    delivery.invitation_deliver(invitation.pk, reminder=True)
    for raw, message in _received(smtp):
        on_the_wire = _raw_header(raw, b"Subject")
        assert b"\n" not in on_the_wire and b"\r" not in on_the_wire
        assert on_the_wire.strip() and on_the_wire.isascii()
        assert "\n" not in message["Subject"]
    (_raw, first), (raw, reminder) = _received(smtp)
    title = nps.translated("title", language)
    with translation.override(language):
        expected = gettext("Reminder: %(title)s") % {"title": title}
    assert expected.startswith("Reminder: ") == (language == "en")  # translated, not English
    assert reminder["Subject"] == f"{expected} · Example Shop"
    assert first["Subject"] == f"{title} · Example Shop"
    assert len(_raw_header(raw, b"Subject")) > 78  # long enough to have been folded


def test_encoded_words_stay_within_rfc_2047s_75_characters():
    value = emails.one_line_header("Напоминание: " + "очень длинный заголовок " * 8)
    words = value.split(" ")
    assert len(words) > 1 and all(len(word) <= 75 for word in words)
    assert str(email.header.make_header(email.header.decode_header(value))).startswith(
        "Напоминание: очень"
    )


def test_a_subject_with_a_line_break_is_flattened(nps):
    """A survey title from an import or the admin cannot inject a header."""
    nps.title = "Hello\r\nBcc: everyone@example.org"
    nps.save()
    message = emails.build(_invitation(nps), "https://crm.example.com/x/", reminder=False)
    assert message.subject == "Hello Bcc: everyone@example.org · Our company"
    head = message.message().as_bytes(linesep="\r\n").split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head
    assert mail.outbox == []
