"""Sending survey invitations and reminders: the follow-up outbox's pattern, on the
invitation row itself (the raw link token exists only while its email is sent, so
the row is its own outbox row). The life of a row:

    pending ──claim──▶ sending ──SMTP server accepted──▶ sent
       ▲                  │ SMTP error: pending again (failed after MAX_ATTEMPTS)
       └──lease expired───┘ (its worker died: the sweeper puts it back)

- Claiming is one conditional UPDATE (pending → sending) that takes a lease
  (`claimed_until`, SURVEY_LEASE_SECONDS) with a random `lease_token`, counts the
  attempt and stores the hash of the new link's token: of two tasks for one
  invitation, one sends. (The token, and the retrying of a write after a lost
  database connection, are customers.leases', shared with the outbox.)
- The row is marked sent only after the SMTP server accepted the email, by an
  UPDATE that checks the lease token: a worker that lost its lease to another marks
  nothing.
- The sweeper (`invitations_sweep`, beat every SURVEY_SWEEP_SECONDS) finds in the
  database what a dead worker or a lost task left: rows "sending" past their lease
  go back to pending, and pending rows whose task was enqueued longer than
  SURVEY_REQUEUE_AFTER_SECONDS ago are enqueued again. Nothing lives only in Redis.
- A reminder takes the same lease on the sent row; `reminded_at` is set once the
  server accepted it. The hourly reminder job reads what is due from the database,
  reminders whose lease expired included.

The one way an email goes out twice: a worker killed after the server accepted it
and before the mark. A task sends one invitation at a time, so that is at most one
email per worker process that was sending at that moment. The repeat has the same
Message-ID and a new link; the earlier link keeps working (`earlier_token_hash`).
"""

import contextlib
import functools
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import leases
from customers.models import Customer

from . import emails
from .invitations import DELIVERY_BATCH, enqueue_delivery, new_token, survey_url, token_hash
from .models import SurveyInvitation

logger = logging.getLogger(__name__)
Status = SurveyInvitation.Status

MAX_ATTEMPTS = 3
# Used when EMAIL_TIMEOUT is not set: a server that stops answering must not hold an
# invitation past its lease (a socket wait is at most this long; a send is a few waits).
DEFAULT_SMTP_TIMEOUT = 30
# The sweeper enqueues at most this many invitations per run; the next run goes on.
SWEEP_LIMIT = 5000
# Reminders the hourly job enqueues per run.
REMINDER_LIMIT = 5000


@dataclass(frozen=True)
class Claim:
    invitation: SurveyInvitation
    token: str
    lease: str
    reminder: bool


def is_unsubscribed(customer: Customer) -> bool:
    """The customer unsubscribed (from a follow-up or a survey email: one unsubscribe).

    The row is retention.outreach's EmailUnsubscribe, reached through its relation to
    Customer (loaded with the invitation), so this app imports nothing of outreach."""
    return hasattr(customer, "email_unsubscribe")


# --- Claiming --------------------------------------------------------------------


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.SURVEY_LEASE_SECONDS)


def _claim(invitation_id: int, *, reminder: bool, now: datetime) -> Claim | None:
    token, lease = new_token(), leases.new_token()  # the link's token, the lease's
    rows = SurveyInvitation.objects.filter(pk=invitation_id, expires_at__gt=now)
    if reminder:
        claimed = (
            rows.filter(status=Status.SENT, used_at__isnull=True, reminded_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(
                claimed_until=_lease_until(now),
                lease_token=lease,
                # A reminder sent before by a worker that then died keeps its link working.
                earlier_token_hash=Coalesce(F("reminder_token_hash"), F("earlier_token_hash")),
                reminder_token_hash=token_hash(token),
            )
        )
    else:
        claimed = rows.filter(status=Status.PENDING).update(
            status=Status.SENDING,
            claimed_until=_lease_until(now),
            lease_token=lease,
            attempts=F("attempts") + 1,
            earlier_token_hash=Coalesce(F("token_hash"), F("earlier_token_hash")),
            token_hash=token_hash(token),
        )
    if not claimed:
        return None
    invitation = SurveyInvitation.objects.select_related(
        "survey", "customer", "customer__email_unsubscribe"
    ).get(pk=invitation_id)
    return Claim(invitation, token, lease, reminder)


def _held(claim: Claim) -> QuerySet:
    """The row, if this claim still holds it (nobody claimed it again since)."""
    return SurveyInvitation.objects.filter(pk=claim.invitation.pk, lease_token=claim.lease)


# --- Sending -----------------------------------------------------------------------


def invitation_deliver(invitation_id: int, *, reminder: bool = False, connection=None) -> bool:
    """Send one invitation (or its reminder) in the customer's language; True if sent.

    Safe to call twice: the row is claimed first, so only one caller sends. On a
    sending error the invitation goes back to pending (failed after MAX_ATTEMPTS)
    and the error is raised for the task to retry. `connection` lets a batch share
    one SMTP connection.
    """
    claim = _claim(invitation_id, reminder=reminder, now=timezone.now())
    if claim is None:
        return False
    if is_unsubscribed(claim.invitation.customer):
        _cancel(claim)
        return False
    try:
        message = emails.build(
            claim.invitation, survey_url(claim.token), reminder=reminder, connection=connection
        )
        if connection is not None:
            connection.open()  # again after an error closed it; a no-op when open
        if not message.send():
            raise ValueError(_("The customer has no email address."))
    except Exception as error:
        logger.exception("Survey invitation %s not sent", invitation_id)
        leases.with_reconnect(
            functools.partial(_record_failure, claim, error), "recording a failed invitation"
        )
        raise
    # The server accepted it: from here, only a mark that never happens sends it twice
    # (a PostgreSQL restart costs a retry on a new connection, not a duplicate).
    marked = leases.with_reconnect(
        functools.partial(_mark_sent, claim), "marking a survey invitation sent"
    )
    if not marked:
        logger.warning("Survey invitation %s was claimed again while it was sent", invitation_id)
    return True


def invitations_deliver(invitation_ids: list[int], *, reminder: bool = False) -> int:
    """Send these invitations (or reminders) over one SMTP connection; how many went.

    One failing address does not stop the batch: the last error is raised after the
    others were tried, for the task to retry (only those still due are sent again)."""
    sent = 0
    failure = None
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT or DEFAULT_SMTP_TIMEOUT)
    try:
        for invitation_id in invitation_ids:
            try:
                sent += invitation_deliver(invitation_id, reminder=reminder, connection=connection)
            except Exception as error:  # noqa: BLE001 - recorded on the row; raised below
                failure = error
                _close_quietly(connection)  # in doubt after an error; the next one reopens
    finally:
        _close_quietly(connection)
    if failure is not None:
        raise failure
    return sent


def _close_quietly(connection) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.close()


# --- Recording the outcome ----------------------------------------------------------


def _mark_sent(claim: Claim) -> bool:
    now = timezone.now()
    done = {"claimed_until": None, "lease_token": ""}
    if claim.reminder:
        return bool(_held(claim).filter(reminded_at__isnull=True).update(reminded_at=now, **done))
    # Pending or failed too: the sweeper may have put back (or given up on) a row whose
    # lease ran out while the server was slow; nobody claimed it since (the lease token
    # is still ours), and the server did accept it.
    return bool(
        _held(claim)
        .filter(status__in=[Status.SENDING, Status.PENDING, Status.FAILED])
        .update(status=Status.SENT, sent_at=now, last_error="", **done)
    )


def _record_failure(claim: Claim, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:300]
    if claim.reminder:
        # Due again: the next hourly run tries once more.
        _held(claim).update(claimed_until=None, lease_token="", last_error=message)
        return
    failed = claim.invitation.attempts >= MAX_ATTEMPTS
    _held(claim).update(
        status=Status.FAILED if failed else Status.PENDING,
        claimed_until=None,
        lease_token="",
        last_error=message,
        queued_at=timezone.now(),  # the task's retry is on its way
    )


def _cancel(claim: Claim) -> None:
    if claim.reminder:
        _held(claim).update(claimed_until=None, lease_token="")
        return
    _held(claim).update(
        status=Status.CANCELLED,
        claimed_until=None,
        lease_token="",
        last_error=_("The customer unsubscribed."),
    )


# --- The sweeper and the reminders ----------------------------------------------------


def invitations_sweep(*, now: datetime | None = None) -> int:
    """Recover what only a lost task or a dead worker knew; how many were enqueued.

    Set-based and bounded (SWEEP_LIMIT per run), safe to run twice or concurrently:
    an invitation enqueued twice is still claimed, so sent, once."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SURVEY_REQUEUE_AFTER_SECONDS)
    in_flight = SurveyInvitation.objects.filter(status=Status.SENDING, claimed_until__lt=now)
    failed = in_flight.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Status.FAILED,
        claimed_until=None,
        last_error=_("The worker stopped while sending, too many times."),
    )
    # Back to pending, as if enqueued long ago, so that this run enqueues them. The
    # lease token stays: a worker that is only slow may still mark its email sent.
    released = in_flight.update(status=Status.PENDING, claimed_until=None, queued_at=stale)
    expired = SurveyInvitation.objects.filter(status=Status.PENDING, expires_at__lte=now).update(
        status=Status.FAILED, last_error=_("The link expired before the email could be sent.")
    )
    with transaction.atomic():
        ids = list(
            SurveyInvitation.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, queued_at__lte=stale)
            .order_by("queued_at", "id")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        if ids:
            SurveyInvitation.objects.filter(pk__in=ids).update(queued_at=now)
            enqueue_delivery(ids)
    if ids or released or failed or expired:
        logger.warning(
            "Survey sweeper: %s enqueued again (%s left by a dead worker), %s failed, %s expired",
            len(ids),
            released,
            failed,
            expired,
        )
    return len(ids)


def reminders_due(*, now: datetime | None = None) -> QuerySet:
    """Invitations emailed N days ago or more, not answered, not reminded, still valid,
    and not being reminded right now (a lease that expired is free again)."""
    now = now or timezone.now()
    return SurveyInvitation.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=Status.SENT,
        used_at__isnull=True,
        reminded_at__isnull=True,
        sent_at__lte=now - timedelta(days=settings.SURVEY_REMINDER_AFTER_DAYS),
        # A reminder for a link about to expire would only frustrate.
        expires_at__gt=now + timedelta(days=1),
        customer__email_unsubscribe__isnull=True,
    ).order_by("pk")


def reminder_batches(*, now: datetime | None = None) -> list[list[int]]:
    """The due reminders (at most REMINDER_LIMIT) in batches for the delivery task."""
    ids = list(reminders_due(now=now).values_list("pk", flat=True)[:REMINDER_LIMIT])
    return [ids[start : start + DELIVERY_BATCH] for start in range(0, len(ids), DELIVERY_BATCH)]
