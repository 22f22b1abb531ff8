"""Every kind of email shows `<` and `&` as typed in its subject and text part, and
escaped in its HTML part (issue 17: survey subjects showed `&lt;b&gt;&amp;`)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from retention.models import CustomerRisk, EmailTemplateTranslation, OutgoingEmail
from retention.outreach import rendering, sending
from surveys import emails
from surveys.models import Survey, SurveyInvitation

from .factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
MARKUP = "<b>&"
ESCAPED = "&lt;b&gt;&amp;"


@pytest.fixture(autouse=True)
def _business_with_markup(settings):
    settings.BUSINESS_NAME = f"Tom {MARKUP} Jerry"


def assert_raw_in_text_escaped_in_html(subject: str, text: str, html: str) -> None:
    assert MARKUP in subject and ESCAPED not in subject
    assert MARKUP in text and ESCAPED not in text
    assert ESCAPED in html and MARKUP not in html


@pytest.mark.parametrize("reminder", [False, True])
def test_a_survey_invitation_shows_markup_raw_in_subject_and_text(reminder):
    """Given a survey titled "<b>&" from a business "Tom <b>& Jerry", when the invitation
    (or its reminder) is built, then subject and text show the characters as typed and the
    HTML part escapes them."""
    survey = Survey.objects.get(kind=Survey.Kind.NPS, name="NPS")
    survey.title = f"Rate us {MARKUP}"
    survey.intro = f"Intro {MARKUP}"
    survey.save()
    invitation = SurveyInvitation.objects.create(
        survey=survey,
        customer=CustomerFactory(name=f"Ada {MARKUP}"),
        trigger="manual",
        expires_at=timezone.now() + timedelta(days=30),
    )
    message = emails.build(invitation, "https://crm.example.com/x/", reminder=reminder)
    html = message.alternatives[0][0]
    assert_raw_in_text_escaped_in_html(message.subject, message.body, html)
    assert f"Rate us {MARKUP}" in message.subject and f"Tom {MARKUP} Jerry" in message.subject
    assert f"Intro {MARKUP}" in message.body


def test_a_follow_up_shows_markup_raw_in_subject_and_text():
    """Given a staff template whose subject and text hold "<b>&" and a customer named with
    it, when rendered, then subject and text are as typed and the HTML part escaped."""
    customer = CustomerFactory(name=f"Ada {MARKUP} Lovelace")
    row = EmailTemplateTranslation(
        language="en",
        subject=f"Hello {{{{ name }}}} {MARKUP}",
        body_text=f"Dear {{{{ name }}}}, {MARKUP}",
    )
    rendered = rendering.render_follow_up(customer, row)
    assert_raw_in_text_escaped_in_html(rendered.subject, rendered.text, rendered.html)
    assert rendered.subject == f"Hello Ada {MARKUP} Lovelace {MARKUP}"
    assert f"Dear Ada {MARKUP} Lovelace" in rendered.text


def test_a_staff_notice_shows_markup_raw_in_subject_and_text(manager):
    """Given a customer named "<b>&" whose risk rose, when the account manager's notice is
    sent, then its subject and text show the name as typed and its HTML part escaped."""
    customer = CustomerFactory(name=f"Ada {MARKUP}", owner=manager)
    today = timezone.localdate()
    CustomerRisk.objects.create(
        customer=customer,
        score=70,
        level="high",
        base=10,
        flags=[],
        computed_for=today,
        level_since=today,
    )
    email = OutgoingEmail.objects.create(
        customer=customer,
        kind=OutgoingEmail.Kind.STAFF_NOTICE,
        recipient_user=manager,
        to_email=manager.email,
        idempotency_key="escaping",
        status=OutgoingEmail.Status.SENDING,
    )
    sending.send_batch([email.pk])
    sent = mail.outbox[-1]
    assert_raw_in_text_escaped_in_html(sent.subject, sent.body, sent.alternatives[0][0])
    assert sent.subject.startswith(f"Ada {MARKUP} is now at high risk")


def test_a_password_reset_shows_markup_raw_in_subject_and_text():
    """Given a staff member "<b>&" of "Tom <b>& Jerry", when their reset email is rendered,
    then subject and text show both as typed and the HTML part escapes them."""
    user = UserFactory(username=f"ada{MARKUP}")
    email = OutgoingEmail(kind=OutgoingEmail.Kind.PASSWORD_RESET, recipient_user=user)
    rendered = rendering.render_password_reset(email)
    assert_raw_in_text_escaped_in_html(rendered.subject, rendered.text, rendered.html)
    assert f"ada{MARKUP}" in rendered.text


def test_every_email_kind_is_covered_here():
    """A new kind of outgoing email needs its own test above (follow-ups and manual ones
    share one rendering; survey invitations are not OutgoingEmail rows)."""
    assert set(OutgoingEmail.Kind.values) == {
        "follow_up",
        "manual",
        "staff_notice",
        "password_reset",
    }
