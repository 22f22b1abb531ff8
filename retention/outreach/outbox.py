"""The outbox: emails queued as rows, claimed by workers, sent, retried, swept.

Modelled on pretix's mail service. The life of a row:

    queued ──claim──▶ sending ──SMTP accepted──▶ sent
       ▲                 │ SMTP error: queued again later (backoff), or failed
       └──lease expired──┘ (the worker died: the sweeper puts it back)

- Queuing (`email_queue`) writes the row in the caller's transaction and enqueues
  delivery on commit; a unique idempotency key makes queuing the same email twice
  a no-op.
- Claiming locks due rows with SELECT ... FOR UPDATE SKIP LOCKED and flips them to
  "sending" with a lease and a new lease token, so two workers never take the same
  row, and a worker writes only about rows still under its token (leases.py: the
  fenced writes, renewing the lease, retrying after a lost database connection).
- Sending (`sending.send_batch`, called by `deliver`; sending.py also holds which
  SMTP errors are retried and the backoff) renders each row, checks the lease right
  before handing it to the SMTP server over a few reused connections, and marks the
  accepted ones sent every few messages (`OUTBOX_MARK_EVERY`).
- A sending loop killed between the server accepting a message and that mark leaves
  the row "sending"; after the lease the sweeper re-queues it and it is sent again,
  with the same Message-ID (fixed at queue time), so a duplicate is recognisable. That
  window, at most OUTBOX_MARK_EVERY + OUTBOX_SMTP_CONNECTIONS - 1 messages per sending
  loop (a worker runs one loop per pool process), is the only way an email goes out
  twice; see the README ("The outbox") for the whole bound.
"""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.leases import claim_due_rows, release_expired_rows
from customers.models import Customer

from . import leases, sending
from .events import emails_queued
from .models import OutgoingEmail

logger = logging.getLogger(__name__)
Status = OutgoingEmail.Status


def enqueue_delivery() -> None:
    """Ask a worker to send once the current transaction commits (never before).

    The outreach receivers enqueue the task: this module does not import tasks.py,
    which imports it."""
    emails_queued.send(sender=OutgoingEmail)


def email_queue(
    *,
    customer: Customer,
    kind: str,
    key: str,
    to_email: str,
    template=None,
    rule=None,
    recipient_user=None,
    created_by=None,
    due: datetime | None = None,
) -> OutgoingEmail | None:
    """Queue one email in the caller's transaction; None when `key` was queued before."""
    with transaction.atomic():
        email, created = OutgoingEmail.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "customer": customer,
                "kind": kind,
                "template": template,
                "rule": rule,
                "recipient_user": recipient_user,
                "to_email": to_email,
                "created_by": created_by,
                "next_attempt_at": due or timezone.now(),
            },
        )
        if created:
            enqueue_delivery()
    return email if created else None


def queue_password_reset(*, user, language: str = "") -> OutgoingEmail:
    """A password reset email to `user` (accounts.passwords registers this). The link is
    made when the email is rendered for sending, so it is valid from then on."""
    with transaction.atomic():
        email = OutgoingEmail.objects.create(
            customer=None,
            kind=OutgoingEmail.Kind.PASSWORD_RESET,
            recipient_user=user,
            to_email=user.email,
            language=language,
            idempotency_key=f"password_reset:{user.pk}:{uuid.uuid4().hex}",
        )
        enqueue_delivery()
    return email


# --- Claiming ----------------------------------------------------------------------


def claim_batch(*, limit: int | None = None, now: datetime | None = None) -> leases.Claim:
    """Lock up to `limit` due rows for this worker: status → sending, with a lease and a
    new token that every later write about them requires."""
    now = now or timezone.now()
    limit = limit or settings.OUTBOX_BATCH_SIZE
    claim = leases.Claim.starting(now, settings.OUTBOX_LEASE_SECONDS)

    def claim_rows() -> list[int]:
        return claim_due_rows(
            OutgoingEmail,
            lease=claim,
            now=now,
            limit=limit,
            queued=Status.QUEUED,
            sending=Status.SENDING,
        )

    # A claim whose commit was lost with the connection leaves its rows to the sweeper.
    claim.ids = leases.with_reconnect(claim_rows, "claiming emails")
    return claim


def release_expired_leases(*, now: datetime | None = None) -> int:
    """The sweeper: rows a dead worker left "sending" go back to the queue (or fail).

    Their lease token stays: the dead claim's writes still match until a new claim
    takes the row (a late "sent" from a worker that was only slow is the truth)."""
    now = now or timezone.now()
    requeued, failed = release_expired_rows(
        OutgoingEmail,
        now=now,
        max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
        error=_("The worker stopped while sending, too many times."),
        statuses=Status,
    )
    if requeued or failed:
        logger.warning("Outbox sweeper: %s re-queued, %s failed", requeued, failed)
    return requeued


def has_due(*, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return OutgoingEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now).exists()


# --- Delivering, retrying by hand, opens -------------------------------------------


def deliver(*, max_batches: int | None = None, connection=None) -> sending.SendOutcome:
    """Claim and send due rows until none is left (or the connection fails)."""
    total = sending.SendOutcome()
    batches = 0
    while max_batches is None or batches < max_batches:
        claim = claim_batch()
        if not claim:
            break
        batches += 1
        outcome = sending.send_batch(claim, connection=connection)
        for name in ("sent", "failed", "retrying", "cancelled", "taken_over"):
            setattr(total, name, getattr(total, name) + getattr(outcome, name))
        total.errors += outcome.errors
        if outcome.connection_failed:
            total.connection_failed = True
            break
    return total


@transaction.atomic
def email_retry(*, email: OutgoingEmail) -> OutgoingEmail:
    """Staff's "retry" on a failed email: queued again now, attempts from zero."""
    updated = OutgoingEmail.objects.filter(pk=email.pk, status=Status.FAILED).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), lease_until=None
    )
    if updated:
        enqueue_delivery()
    email.refresh_from_db()
    return email


def record_open(email_id: int, *, now: datetime | None = None) -> bool:
    """The first open counts; later ones (and unknown ids) change nothing."""
    return bool(
        OutgoingEmail.objects.filter(pk=email_id, opened_at__isnull=True).update(
            opened_at=now or timezone.now()
        )
    )
