"""Sending invitations: by staff, to a segment, the NPS rhythm, reminders, exit surveys."""

import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, Interaction
from customers.services import interaction_log
from retention.models import CustomerRisk
from retention.risk.queue import case_resolve
from surveys import delivery, invitations
from surveys.models import Survey, SurveyInvitation
from surveys.tasks import deliver_invitations, schedule_nps_invitations, send_survey_reminders

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/surveys/answer/[\w-]+/")


def link_in(message) -> str:
    return LINK.search(message.body).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


@pytest.fixture
def exit_survey():
    """The exit survey the data migration ships."""
    return Survey.objects.get(kind=Survey.Kind.EXIT, automatic=True)


@pytest.fixture
def default_nps():
    survey = Survey.objects.get(kind=Survey.Kind.NPS, name="NPS")
    survey.automatic = True
    survey.save()
    return survey


def test_an_invitation_is_emailed_after_commit_in_the_customers_language(
    client, default_nps, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(preferred_language="de", email="hans@example.de")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = invitations.invitation_create(
            survey=default_nps, customer=customer, trigger="manual"
        )
    assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    message = mail.outbox[0]
    assert message.to == ["hans@example.de"]
    assert "Würden Sie uns weiterempfehlen?" in message.subject
    assert "Zwei kurze Fragen" in message.body
    assert link_in(message) in message.alternatives[0][0]
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.sent_at and invitation.token_hash

    page = client.get(path_of(link_in(message)))
    assert page.status_code == 200
    assert "Wie wahrscheinlich ist es" in page.text


def test_delivering_twice_sends_once(default_nps, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.invitation_create(
            survey=default_nps, customer=customer, trigger="manual"
        )
    assert deliver_invitations.delay([invitation.pk]).get() == 0
    assert delivery.invitation_deliver(invitation.pk) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_is_recorded_and_retried(default_nps):
    invitation = SurveyInvitation.objects.create(
        survey=default_nps,
        customer=CustomerFactory(),
        trigger="manual",
        expires_at=timezone.now() + timedelta(days=30),
    )
    with (
        mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            side_effect=OSError("connection refused"),
        ),
        pytest.raises(OSError),
    ):
        delivery.invitation_deliver(invitation.pk)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.lease_token) == ("pending", 1, "")
    assert "connection refused" in invitation.last_error
    assert delivery.invitation_deliver(invitation.pk) is True
    assert len(mail.outbox) == 1


def test_no_email_when_the_cause_rolls_back(default_nps, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                invitations.invitation_create(
                    survey=default_nps, customer=customer, trigger="manual"
                )
                raise RuntimeError("the cause failed")
        except RuntimeError:
            pass
    assert not SurveyInvitation.objects.exists()
    assert mail.outbox == []


def test_a_segment_skips_customers_without_email_or_with_an_open_invitation(
    default_nps, django_capture_on_commit_callbacks
):
    at_risk = CustomerFactory.create_batch(3, status=Customer.Status.AT_RISK)
    CustomerFactory(status=Customer.Status.AT_RISK, email="")
    CustomerFactory(status=Customer.Status.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(survey=default_nps, customer=at_risk[0], trigger="manual")
    segment = Customer.objects.filter(status=Customer.Status.AT_RISK)

    plan = invitations.segment_plan(survey=default_nps, customers=segment)
    assert (plan.matching, plan.without_email, plan.recently_invited, plan.to_invite) == (
        4,
        1,
        1,
        2,
    )

    with django_capture_on_commit_callbacks(execute=True):
        created = invitations.invitations_create_for_segment(
            survey=default_nps, customers=segment, created_by=None
        )
    assert created == 2
    assert sorted(m.to[0] for m in mail.outbox[1:]) == sorted(c.email for c in at_risk[1:])
    with django_capture_on_commit_callbacks(execute=True):
        again = invitations.invitations_create_for_segment(
            survey=default_nps, customers=segment, created_by=None
        )
    assert again == 0


def test_the_nps_schedule_asks_each_customer_every_n_months(
    settings, default_nps, django_capture_on_commit_callbacks
):
    settings.SURVEY_NPS_EVERY_MONTHS = 6
    long_ago = timezone.now() - timedelta(days=400)
    active = CustomerFactory(created_at=long_ago)
    CustomerFactory(created_at=long_ago, status=Customer.Status.CHURNED)
    CustomerFactory(created_at=long_ago, status=Customer.Status.LEAD)
    CustomerFactory(created_at=timezone.now() - timedelta(days=3))  # too new
    CustomerFactory(created_at=long_ago, email="")

    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_nps_invitations.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_nps_invitations.delay().get() == 0  # idempotent
    assert [m.to for m in mail.outbox] == [[active.email]]

    with time_machine.travel(timezone.now() + timedelta(days=150)):
        # Five months on: the new customer's turn; the others were asked recently.
        assert invitations.nps_invitations_schedule() == 1
        assert SurveyInvitation.objects.latest("id").customer.created_at > long_ago
    with time_machine.travel(timezone.now() + timedelta(days=190)):
        assert invitations.nps_invitations_schedule() == 1  # six months on: asked again
        assert SurveyInvitation.objects.latest("id").customer == active


def test_no_automatic_nps_without_an_automatic_survey_or_when_switched_off(settings):
    CustomerFactory(created_at=timezone.now() - timedelta(days=400))
    assert invitations.nps_invitations_schedule() == 0  # the shipped NPS survey is manual
    Survey.objects.filter(kind="nps").update(automatic=True)
    settings.SURVEY_NPS_EVERY_MONTHS = 0
    assert invitations.nps_invitations_schedule() == 0


def test_one_reminder_after_n_days_to_those_who_did_not_answer(
    client, settings, default_nps, django_capture_on_commit_callbacks
):
    settings.SURVEY_REMINDER_AFTER_DAYS = 5
    silent, answering = CustomerFactory(), CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for customer in (silent, answering):
            invitations.invitation_create(survey=default_nps, customer=customer, trigger="manual")
    first_links = {m.to[0]: link_in(m) for m in mail.outbox}
    question = default_nps.questions.get(kind="scale_0_10")
    client.post(path_of(first_links[answering.email]), {f"q{question.pk}": "9"})

    assert send_survey_reminders.delay().get() == 0  # too early
    with time_machine.travel(timezone.now() + timedelta(days=5, minutes=1)):
        assert send_survey_reminders.delay().get() == 1
        assert send_survey_reminders.delay().get() == 0  # once only
    reminder = mail.outbox[-1]
    assert reminder.to == [silent.email]
    assert reminder.subject.startswith("Reminder:")
    assert link_in(reminder) != first_links[silent.email]
    # Both links open the survey; either one answers it once.
    assert client.get(path_of(first_links[silent.email])).status_code == 200
    client.post(path_of(link_in(reminder)), {f"q{question.pk}": "6"})
    assert "already answered" in client.get(path_of(first_links[silent.email])).text


# --- Exit survey ------------------------------------------------------------------------------


def test_a_customer_marked_churned_gets_the_exit_survey(
    client, exit_survey, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(preferred_language="de")
    customer = Customer.objects.get(pk=customer.pk)  # loaded: knows its old status
    with django_capture_on_commit_callbacks(execute=True):
        customer.status = Customer.Status.CHURNED
        customer.save()
    invitation = SurveyInvitation.objects.get(customer=customer)
    assert (invitation.survey, invitation.trigger, invitation.status) == (
        exit_survey,
        "churned",
        "sent",
    )
    message = mail.outbox[0]
    assert "Schade, dass Sie gehen" in message.subject
    page = client.get(path_of(link_in(message)))
    assert "Was ist der Hauptgrund, warum Sie gehen?" in page.text
    assert "Zu einem Mitbewerber gewechselt" in page.text

    # Saving the churned customer again is no new churn.
    with django_capture_on_commit_callbacks(execute=True):
        customer.notes = "Gone"
        customer.save()
    assert SurveyInvitation.objects.count() == 1


def test_resolving_a_case_as_lost_and_logging_the_cancellation_sends_one_exit_survey(
    exit_survey, manager, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(owner=manager, status=Customer.Status.AT_RISK)
    today = timezone.localdate()
    risk = CustomerRisk.objects.create(
        customer=Customer.objects.get(pk=customer.pk),
        score=70,
        level="high",
        computed_for=today,
        level_since=today,
    )
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(
            customer=customer,
            recorded_by=manager,
            kind=Interaction.Kind.CANCELLATION,
            subject="Wants to cancel",
        )
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(risk=risk, outcome="lost", reason="Price", user=manager)
    invitation = SurveyInvitation.objects.get()
    assert invitation.trigger == "cancellation"
    assert len(mail.outbox) == 1


def test_no_exit_survey_for_a_customer_created_churned_or_without_email(exit_survey):
    CustomerFactory(status=Customer.Status.CHURNED)
    no_email = Customer.objects.get(pk=CustomerFactory(email="").pk)
    no_email.status = Customer.Status.CHURNED
    no_email.save()
    assert not SurveyInvitation.objects.exists()


def test_no_exit_survey_when_it_is_switched_off(exit_survey):
    exit_survey.automatic = False
    exit_survey.save()
    customer = Customer.objects.get(pk=CustomerFactory().pk)
    customer.status = Customer.Status.CHURNED
    customer.save()
    assert not SurveyInvitation.objects.exists()
