"""Every kind of email the app sends, as the bytes an SMTP server receives from it,
scored by SpamAssassin with local tests only (no network, no DNS): each must stay
under 1.0, far from the 5.0 at which SpamAssassin calls a message spam.

The messages are captured by a real SMTP server on loopback (aiosmtpd), sent by the
app's own code: survey invitations and reminders through surveys.delivery, a
follow-up and an account manager's notice through the outbox (read only here).
Needs Debian's `spamassassin` (scripts/with-services.sh installs it).
"""

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import CustomerRisk, EmailTemplate, OutgoingEmail
from retention.outreach import outbox
from surveys import delivery
from surveys.models import Survey, SurveyInvitation

from .factories import CustomerFactory, UserFactory
from .smtp_server import Recorder, SMTPServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("spamassassin") is None,
        reason="spamassassin is not installed (apt-get install spamassassin; "
        "scripts/with-services.sh installs it)",
    ),
]

MAX_SCORE = 1.0
SCORE = re.compile(rb"^X-Spam-Status: \w+, score=(-?\d+(?:\.\d+)?)", re.MULTILINE)


def spam_score(raw: bytes) -> tuple[float, str]:
    """SpamAssassin's score of one raw message, and its report (the rules that hit)."""
    result = subprocess.run(  # noqa: S603 - a fixed command line, the message on stdin
        ["spamassassin", "-t", "-L", "--cf=dns_available no"],  # noqa: S607
        input=raw,
        capture_output=True,
        timeout=120,
        check=True,
    )
    match = SCORE.search(result.stdout)
    assert match, result.stdout[:2000]
    report = result.stdout.split(b"Content analysis details:", 1)[-1].decode(errors="replace")
    return float(match.group(1)), report


@pytest.fixture
def sent(settings):
    """A recording SMTP server the app sends to, with a deployment's settings."""
    settings.SITE_URL = "https://crm.example.com"
    settings.BUSINESS_NAME = "Example Shop"
    settings.DEFAULT_FROM_EMAIL = "Example Shop <hello@example.com>"
    settings.FOLLOWUP_QUIET_HOURS_START = settings.FOLLOWUP_QUIET_HOURS_END = 0
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        yield recorder


def _only_message(recorder: Recorder) -> bytes:
    [(_message_id, _recipients, raw)] = recorder.messages
    recorder.messages.clear()
    return raw


def _invitation(customer) -> SurveyInvitation:
    survey = Survey.objects.get(kind=Survey.Kind.NPS, name="NPS")
    return SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        trigger=SurveyInvitation.Trigger.MANUAL,
        expires_at=timezone.now() + timedelta(days=30),
    )


def _customer(**kwargs):
    kwargs.setdefault("name", "Anna Berger")
    kwargs.setdefault("email", "anna.berger@example.org")
    return CustomerFactory(**kwargs)


def raw_survey_invitation(recorder: Recorder) -> bytes:
    invitation = _invitation(_customer())
    assert delivery.invitation_deliver(invitation.pk)
    return _only_message(recorder)


def raw_survey_reminder(recorder: Recorder) -> bytes:
    invitation = _invitation(_customer())
    assert delivery.invitation_deliver(invitation.pk)
    recorder.messages.clear()
    assert delivery.invitation_deliver(invitation.pk, reminder=True)
    return _only_message(recorder)


def raw_follow_up(recorder: Recorder) -> bytes:
    """The starter "We miss you" template the migration ships, with its signature (the
    open-tracking pixel as EMAIL_OPEN_TRACKING says)."""
    owner = UserFactory(first_name="Mara", last_name="Klein", email="mara@example.com")
    customer = _customer(owner=owner, marketing_consent=True)
    template = EmailTemplate.objects.get(name="We miss you")
    outbox.email_queue(
        customer=customer,
        kind=OutgoingEmail.Kind.MANUAL,
        key="spam-score-follow-up",
        to_email=customer.email,
        template=template,
    )
    assert outbox.deliver().sent == 1
    return _only_message(recorder)


def raw_account_manager_notice(recorder: Recorder) -> bytes:
    owner = UserFactory(first_name="Mara", last_name="Klein", email="mara@example.com")
    customer = _customer(owner=owner)
    today = timezone.localdate()
    CustomerRisk.objects.create(
        customer=customer,
        score=72,
        level="high",
        previous_score=35,
        computed_for=today,
        level_since=today,
    )
    outbox.email_queue(
        customer=customer,
        kind=OutgoingEmail.Kind.STAFF_NOTICE,
        key="spam-score-notice",
        to_email=owner.email,
        recipient_user=owner,
    )
    assert outbox.deliver().sent == 1
    return _only_message(recorder)


@pytest.mark.parametrize(
    "make_raw",
    [raw_survey_invitation, raw_survey_reminder, raw_follow_up, raw_account_manager_notice],
    ids=["survey invitation", "survey reminder", "follow-up", "account manager notice"],
)
def test_each_kind_of_email_scores_under_one_point(sent, make_raw):
    """With the default settings (no open-tracking pixel)."""
    raw = make_raw(sent)
    score, report = spam_score(raw)
    print(report)  # shown when the test fails: the rules that hit
    assert score < MAX_SCORE, f"SpamAssassin score {score}:\n{report}"


def test_the_open_pixel_is_off_by_default_because_it_costs_spam_points(sent, settings):
    """Open tracking is opt-in: a short HTML message with an image (the 1x1 pixel) hits
    SpamAssassin's HTML_IMAGE_ONLY_* rules (+1.1 to +2.2, by the length of the text),
    which no wording of a short follow-up avoids. The README says so where it tells
    how to turn the pixel on."""
    assert settings.EMAIL_OPEN_TRACKING is False
    settings.EMAIL_OPEN_TRACKING = True
    score, report = spam_score(raw_follow_up(sent))
    assert re.search(r"HTML_IMAGE_ONLY_\d+", report), report
    assert score >= MAX_SCORE
