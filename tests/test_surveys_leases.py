"""Survey invitations follow the outbox's pattern: claimed with a lease, marked sent only
after the SMTP server accepted, and swept from the database when a task was lost or a
worker died. These tests stand in for the crashes (tests/test_surveys_worker_faults.py
has the real processes): a claim whose worker "died" is a claim nobody finishes."""

import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from crm.celery import app
from retention.models import EmailUnsubscribe
from surveys import delivery, invitations
from surveys.models import Survey, SurveyInvitation
from surveys.tasks import deliver_invitations, send_survey_reminders, sweep_invitations

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/surveys/answer/([\w-]+)/")
LOCMEM_SEND = "django.core.mail.backends.locmem.EmailBackend.send_messages"


class Died(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (no except Exception)."""


@pytest.fixture
def survey():
    return Survey.objects.get(kind=Survey.Kind.NPS, name="NPS")


@pytest.fixture
def lease(settings):
    settings.SURVEY_LEASE_SECONDS = 60
    settings.SURVEY_REQUEUE_AFTER_SECONDS = 120
    return timedelta(seconds=60)


def _invitation(survey, **kwargs) -> SurveyInvitation:
    kwargs.setdefault("customer", CustomerFactory())
    return SurveyInvitation.objects.create(
        survey=survey, trigger="manual", expires_at=timezone.now() + timedelta(days=30), **kwargs
    )


def _token(message) -> str:
    return LINK.search(message.body).group(1)


def _die_after_the_server_accepted():
    """The worker dies between the SMTP server's "250 OK" and the mark."""
    return mock.patch("surveys.delivery._mark_sent", side_effect=Died)


def test_the_invitation_is_sending_under_a_lease_until_the_server_accepted(survey, lease):
    invitation = _invitation(survey)
    seen = {}

    def server_accepts(messages):
        row = SurveyInvitation.objects.get(pk=invitation.pk)
        seen.update(status=row.status, claimed_until=row.claimed_until, lease=row.lease_token)
        mail.outbox.extend(messages)
        return len(messages)

    with mock.patch(LOCMEM_SEND, side_effect=server_accepts):
        assert delivery.invitation_deliver(invitation.pk) is True

    assert seen["status"] == "sending" and seen["lease"]
    assert seen["claimed_until"] > timezone.now() + lease - timedelta(seconds=5)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.claimed_until, invitation.lease_token) == (
        "sent",
        None,
        "",
    )
    assert invitation.attempts == 1 and invitation.sent_at


def test_a_worker_dying_before_the_server_accepted_leaves_it_sending_then_the_sweeper_sends(
    survey, lease, django_capture_on_commit_callbacks
):
    invitation = _invitation(survey)
    with mock.patch(LOCMEM_SEND, side_effect=Died), pytest.raises(Died):
        delivery.invitation_deliver(invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == "sending" and mail.outbox == []  # not "sent": nothing went

    # Another task for it (a redelivered message) leaves it alone while the lease holds.
    assert delivery.invitation_deliver(invitation.pk) is False
    assert sweep_invitations.delay().get() == 0

    with (
        time_machine.travel(timezone.now() + lease + timedelta(seconds=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweep_invitations.delay().get() == 1
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.attempts == 2
    assert len(mail.outbox) == 1


def test_a_worker_dying_after_the_server_accepted_sends_one_repeat_and_both_links_work(
    client, survey, lease, django_capture_on_commit_callbacks
):
    invitation = _invitation(survey)
    with _die_after_the_server_accepted(), pytest.raises(Died):
        delivery.invitation_deliver(invitation.pk)
    assert len(mail.outbox) == 1  # the server has it; the row still says "sending"

    with (
        time_machine.travel(timezone.now() + lease + timedelta(seconds=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sweep_invitations.delay()
    first, repeat = mail.outbox
    assert first.extra_headers["Message-ID"] == repeat.extra_headers["Message-ID"]
    assert _token(first) != _token(repeat)
    for message in (first, repeat):
        assert client.get(f"/surveys/answer/{_token(message)}/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_only_the_lease_holder_marks_the_invitation_sent(survey, lease):
    invitation = _invitation(survey)
    slow = delivery._claim(invitation.pk, reminder=False, now=timezone.now())
    later = timezone.now() + lease + timedelta(seconds=1)
    with time_machine.travel(later):
        delivery.invitations_sweep()  # the lease ran out: back to pending
        taker = delivery._claim(invitation.pk, reminder=False, now=later)
    assert taker is not None and taker.lease != slow.lease

    assert delivery._mark_sent(slow) is False  # its lease was taken: it marks nothing
    assert delivery._mark_sent(taker) is True
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_a_slow_worker_still_marks_its_email_when_nobody_took_the_invitation(survey, lease):
    invitation = _invitation(survey)
    slow = delivery._claim(invitation.pk, reminder=False, now=timezone.now())
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=1)):
        delivery.invitations_sweep()  # pending again, its task enqueued
    assert delivery._mark_sent(slow) is True  # the server accepted it: not sent again
    invitation.refresh_from_db()
    assert invitation.status == "sent"
    assert delivery.invitation_deliver(invitation.pk) is False


def test_a_lost_delivery_task_is_enqueued_again_by_the_sweeper(
    survey, lease, django_capture_on_commit_callbacks
):
    """Redis lost the message (a crash without persistence): the row still says pending."""
    with django_capture_on_commit_callbacks(execute=False):  # the enqueued task is lost
        invitation = invitations.invitation_create(
            survey=survey, customer=CustomerFactory(), trigger="manual"
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_invitations.delay().get() == 0  # too early: it may still be queued
    assert mail.outbox == []

    with (
        time_machine.travel(timezone.now() + timedelta(seconds=121)),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        assert sweep_invitations.delay().get() == 1
    assert len(callbacks) == 1  # enqueued on commit
    invitation.refresh_from_db()
    assert invitation.status == "sent" and len(mail.outbox) == 1


def test_the_sweeper_enqueues_a_lost_invitation_once_per_interval(survey, lease):
    invitation = _invitation(survey)
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=121)),
        mock.patch("surveys.delivery.enqueue_delivery") as enqueue,
    ):
        assert delivery.invitations_sweep() == 1
        assert delivery.invitations_sweep() == 0  # its new task has its interval to run
    enqueue.assert_called_once_with([invitation.pk])


def test_a_sending_failure_puts_it_back_and_the_third_fails_it(survey):
    invitation = _invitation(survey)
    for attempt in (1, 2, 3):
        with (
            mock.patch(LOCMEM_SEND, side_effect=OSError("421 try later")),
            pytest.raises(OSError),
        ):
            delivery.invitation_deliver(invitation.pk)
        invitation.refresh_from_db()
        assert invitation.attempts == attempt
        assert invitation.status == ("failed" if attempt == 3 else "pending")
        assert invitation.lease_token == "" and invitation.claimed_until is None
    assert "421 try later" in invitation.last_error


def test_a_worker_dying_again_and_again_fails_the_invitation(survey, lease):
    invitation = _invitation(survey, status="sending", attempts=3)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), lease_token="dead"
    )
    with mock.patch("surveys.delivery.enqueue_delivery") as enqueue:
        delivery.invitations_sweep()
    invitation.refresh_from_db()
    assert invitation.status == "failed" and "worker stopped" in invitation.last_error
    enqueue.assert_not_called()


def test_an_invitation_whose_link_expired_unsent_is_failed_not_left_pending(survey):
    invitation = _invitation(survey)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    delivery.invitations_sweep()
    invitation.refresh_from_db()
    assert invitation.status == "failed" and "expired" in invitation.last_error


def test_the_mark_is_retried_when_the_database_went_away(survey):
    """A PostgreSQL restart between the server's "250 OK" and the mark costs a retry, not
    a duplicate. (Outside a transaction, as a worker is.)"""
    invitation = _invitation(survey)
    real_mark = delivery._mark_sent
    calls = []

    def flaky_mark(claim):
        calls.append(claim)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_mark(claim)

    with (
        mock.patch("surveys.delivery._mark_sent", side_effect=flaky_mark),
        mock.patch("customers.leases.db_connection.in_atomic_block", False),
        mock.patch("customers.leases.db_connection.close"),
        mock.patch("customers.leases.time.sleep"),
    ):
        assert delivery.invitation_deliver(invitation.pk) is True
    assert len(calls) == 2
    invitation.refresh_from_db()
    assert invitation.status == "sent" and len(mail.outbox) == 1


def test_one_batch_shares_one_connection_and_a_bad_address_does_not_stop_it(survey):
    good = [_invitation(survey) for _ in range(3)]
    bad = _invitation(survey, customer=CustomerFactory(email="bounce@example.org"))
    real_send = mail.backends.locmem.EmailBackend.send_messages
    backends = set()

    def send(self, messages):
        backends.add(id(self))
        if messages[0].to == ["bounce@example.org"]:
            raise OSError("550 no such user")
        return real_send(self, messages)

    with mock.patch(LOCMEM_SEND, autospec=True, side_effect=send), pytest.raises(OSError):
        delivery.invitations_deliver([good[0].pk, bad.pk, good[1].pk, good[2].pk])
    assert len(backends) == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(i.customer.email for i in good)
    assert SurveyInvitation.objects.get(pk=bad.pk).status == "pending"


# --- Reminders ------------------------------------------------------------------------


@pytest.fixture
def sent_long_ago(survey, settings):
    settings.SURVEY_REMINDER_AFTER_DAYS = 5
    invitation = _invitation(survey)
    assert delivery.invitation_deliver(invitation.pk)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=6)
    )
    mail.outbox.clear()
    return invitation


def test_a_reminder_is_marked_only_after_the_server_accepted_it(sent_long_ago, lease):
    with mock.patch(LOCMEM_SEND, side_effect=Died), pytest.raises(Died):
        send_survey_reminders.delay()
    sent_long_ago.refresh_from_db()
    assert sent_long_ago.reminded_at is None and sent_long_ago.claimed_until
    # While its lease holds, the next run does not take it; after, it does.
    assert send_survey_reminders.delay().get() == 0
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=1)):
        assert send_survey_reminders.delay().get() == 1
    sent_long_ago.refresh_from_db()
    assert sent_long_ago.reminded_at and sent_long_ago.lease_token == ""
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("Reminder:")


def test_a_reminder_that_failed_is_due_again(sent_long_ago):
    with mock.patch(LOCMEM_SEND, side_effect=OSError("421")), pytest.raises(OSError):
        delivery.invitation_deliver(sent_long_ago.pk, reminder=True)
    sent_long_ago.refresh_from_db()
    assert sent_long_ago.reminded_at is None and sent_long_ago.claimed_until is None
    assert list(delivery.reminders_due()) == [sent_long_ago]


def test_a_reminder_repeated_after_a_crash_keeps_the_first_reminders_link(
    client, sent_long_ago, lease
):
    with _die_after_the_server_accepted(), pytest.raises(Died):
        delivery.invitation_deliver(sent_long_ago.pk, reminder=True)
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=1)):
        assert send_survey_reminders.delay().get() == 1
    first, repeat = mail.outbox
    for message in (first, repeat):
        assert client.get(f"/surveys/answer/{_token(message)}/").status_code == 200


# --- Unsubscribed customers ---------------------------------------------------------


def test_an_unsubscribed_customer_gets_no_survey_email(survey, settings):
    settings.SURVEY_NPS_EVERY_MONTHS = 6
    survey.automatic = True
    survey.save()
    customer = CustomerFactory(created_at=timezone.now() - timedelta(days=400))
    invitation = _invitation(survey, customer=customer)
    EmailUnsubscribe.objects.create(customer=customer, source="one_click")

    assert delivery.invitation_deliver(invitation.pk) is False
    invitation.refresh_from_db()
    assert invitation.status == "cancelled" and mail.outbox == []
    assert invitations.nps_invitations_schedule() == 0  # not invited automatically either
    assert Survey.objects.automatic(Survey.Kind.EXIT) is not None
    assert invitations.exit_invitation_create(customer=customer, trigger="churned") is None


def test_an_unsubscribed_customer_gets_no_reminder(sent_long_ago):
    EmailUnsubscribe.objects.create(customer=sent_long_ago.customer, source="link")
    assert send_survey_reminders.delay().get() == 0
    assert mail.outbox == []


# --- Wiring ----------------------------------------------------------------------------


def test_the_sweeper_is_on_the_beat_schedule_at_the_configured_interval(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-survey-invitations"]
    assert entry["task"] == sweep_invitations.name == "surveys.tasks.sweep_invitations"
    assert entry["schedule"] == settings.SURVEY_SWEEP_SECONDS
    assert sweep_invitations.name in app.tasks


def test_a_delivery_task_killed_with_its_pool_process_goes_back_to_the_queue():
    assert deliver_invitations.acks_late and deliver_invitations.reject_on_worker_lost
    assert send_survey_reminders.acks_late and send_survey_reminders.reject_on_worker_lost
