"""Survey emails for real: through an SMTP server on loopback, and sent by a real
Celery worker process (Redis and PostgreSQL from `make test`)."""

import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from customers.models import Customer
from surveys import delivery
from surveys.models import Survey, SurveyInvitation

from .factories import CustomerFactory
from .factories_surveys import SurveyFactory
from .test_celery_worker import worker  # noqa: F401 (the real worker fixture)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.mark.integration
@pytest.mark.django_db
def test_an_invitation_reaches_a_real_smtp_server_in_the_customers_language(
    smtp_server, client, settings
):
    settings.BUSINESS_NAME = "Bäckerei Sonne"
    customer = CustomerFactory(email="lucia@example.de", preferred_language="de")
    invitation = SurveyInvitation.objects.create(
        survey=Survey.objects.get(kind="exit"),
        customer=customer,
        trigger="manual",
        expires_at=timezone.now() + timezone.timedelta(days=30),
    )
    assert delivery.invitation_deliver(invitation.pk) is True

    [message] = smtp_server.messages
    assert message["To"] == "lucia@example.de"
    assert message["Subject"] == "Schade, dass Sie gehen · Bäckerei Sonne"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = next(word for word in text.split() if "/surveys/answer/" in word)
    assert link in html
    page = client.get(link.removeprefix(settings.SITE_URL))
    assert "Was ist der Hauptgrund, warum Sie gehen?" in page.text


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_exit_survey_of_a_churned_customer(worker):  # noqa: F811
    # Transactional tests start from empty tables: no shipped exit survey, so make one.
    SurveyFactory(kind=Survey.Kind.EXIT, automatic=True, title="Sorry to see you go")
    customer = Customer.objects.get(pk=CustomerFactory().pk)
    customer.status = Customer.Status.CHURNED
    customer.save()  # outside any test transaction: committed, so the task is enqueued
    invitation = SurveyInvitation.objects.get(customer=customer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        invitation.refresh_from_db()
        if invitation.status == SurveyInvitation.Status.SENT:
            break
        time.sleep(0.2)
    assert invitation.status == "sent" and invitation.token_hash
    assert invitation.trigger == "churned"
