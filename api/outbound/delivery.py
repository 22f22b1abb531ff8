"""Posting outbound webhook rows: claim, sign, POST, record; retry with backoff; sweep.

The same life as the email outbox (retention/outreach/outbox.py):

    queued ──claim──▶ sending ──2xx──▶ sent
       ▲                 │ anything else, or a timeout: queued again later, or failed
       └──lease expired──┘ (the worker died: the sweeper puts it back)

- Claiming locks due rows with SELECT ... FOR UPDATE SKIP LOCKED and flips them to
  "sending" with a lease and a new token (customers.leases), counting the attempt; every
  later write about a row requires the token, so a worker whose lease ran out and whose
  row another worker took changes nothing.
- The lease covers a whole batch posted one after the other, each within
  WEBHOOK_TIMEOUT_SECONDS, so a live worker never loses it.
- At least once: a worker killed after the receiver answered 2xx and before the row
  is marked sent leaves it "sending"; the sweeper queues it again and it is posted again
  with the same X-CRM-Delivery id, by which the receiver recognises the repeat.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.leases import Lease, claim_due_rows, release_expired_rows, with_reconnect

from ..models import WebhookMessage
from ..webhooks.signatures import signature

logger = logging.getLogger(__name__)
Status = WebhookMessage.Status

BATCH_SIZE = 20
# After the 1st, 2nd ... failed attempt; the last delay repeats if more attempts are allowed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ERROR_LENGTH = 2000
USER_AGENT = "CRM-Webhooks/1"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min, 5 min, 30 min, 2 h, 12 h."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def lease_seconds(batch_size: int) -> float:
    """Long enough for a batch posted one by one, each to its timeout, with a margin."""
    return batch_size * (settings.WEBHOOK_TIMEOUT_SECONDS + 5) + 60


@dataclass
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    taken_over: int = 0


# --- Claiming ------------------------------------------------------------------------


def claim_batch(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> tuple[Lease, list[int]]:
    """Lock up to `limit` due rows: status → sending, a lease, a new token, attempts + 1."""
    now = now or timezone.now()
    lease = Lease.starting(now, lease_seconds(limit))

    def claim_rows() -> list[int]:
        return claim_due_rows(
            WebhookMessage,
            lease=lease,
            now=now,
            limit=limit,
            queued=Status.QUEUED,
            sending=Status.SENDING,
        )

    return lease, with_reconnect(claim_rows, "claiming webhooks")


def _held(lease: Lease, pk: int):
    return WebhookMessage.objects.filter(pk=pk, lease_token=lease.token, status=Status.SENDING)


# --- Posting -------------------------------------------------------------------------


def body_of(message: WebhookMessage) -> bytes:
    return json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()


def post(message: WebhookMessage, *, now: float | None = None) -> str:
    """POST the signed payload; "" on a 2xx answer, else what went wrong."""
    if not message.endpoint.url.lower().startswith(("http://", "https://")):
        return _("Only http and https URLs are posted to.")
    body = body_of(message)
    timestamp = str(int(time.time() if now is None else now))
    request = urllib.request.Request(  # noqa: S310 (an http(s) URL, validated by URLField)
        message.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-CRM-Timestamp": timestamp,
            "X-CRM-Delivery": str(message.delivery_id),
            "X-CRM-Signature": signature(message.endpoint.secret, timestamp, body),
            "X-CRM-Event": message.event,
        },
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        ) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:  # refused, timed out, DNS, a bad URL
        return f"{type(error).__name__}: {error}"
    if 200 <= status < 300:
        return ""
    return _("The endpoint answered HTTP %(status)s.") % {"status": status}


def _record(lease: Lease, message: WebhookMessage, error: str, outcome: Outcome) -> None:
    held = _held(lease, message.pk)
    if not error:
        changed = with_reconnect(
            lambda: held.update(
                status=Status.SENT, sent_at=timezone.now(), lease_until=None, last_error=""
            ),
            "marking a webhook sent",
        )
        outcome.sent += changed
    elif message.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        changed = with_reconnect(
            lambda: held.update(
                status=Status.FAILED, lease_until=None, last_error=error[:MAX_ERROR_LENGTH]
            ),
            "recording a failed webhook",
        )
        outcome.failed += changed
    else:
        due = timezone.now() + retry_delay(message.attempts)
        changed = with_reconnect(
            lambda: held.update(
                status=Status.QUEUED,
                lease_until=None,
                next_attempt_at=due,
                last_error=error[:MAX_ERROR_LENGTH],
            ),
            "queuing a webhook again",
        )
        outcome.retrying += changed
    if not changed:
        outcome.taken_over += 1
        logger.warning("Webhook %s was taken over by another worker", message.delivery_id)


def send_claimed(lease: Lease, ids: list[int], outcome: Outcome) -> None:
    """Post each claimed row (its endpoint with it: one query) and record what happened."""
    messages = WebhookMessage.objects.filter(pk__in=ids, lease_token=lease.token)
    for message in messages.select_related("endpoint").order_by("next_attempt_at", "id"):
        if not message.endpoint.active:
            error = _("The endpoint was deactivated.")
            _held(lease, message.pk).update(
                status=Status.FAILED, lease_until=None, last_error=error
            )
            outcome.failed += 1
            continue
        _record(lease, message, post(message), outcome)


def deliver(*, max_batches: int | None = None) -> Outcome:
    """Claim and post due rows until none is left."""
    outcome = Outcome()
    batches = 0
    while max_batches is None or batches < max_batches:
        lease, ids = claim_batch()
        if not ids:
            break
        batches += 1
        send_claimed(lease, ids, outcome)
    return outcome


# --- The sweeper ---------------------------------------------------------------------


def release_expired_leases(*, now: datetime | None = None) -> int:
    """Rows a dead worker left "sending" go back to the queue (or fail); the number re-queued.

    Their token stays: a late "sent" from a worker that was only slow is the truth."""
    now = now or timezone.now()
    requeued, failed = release_expired_rows(
        WebhookMessage,
        now=now,
        max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
        error=_("The worker stopped while posting, too many times."),
        statuses=Status,
    )
    if requeued or failed:
        logger.warning("Webhook sweeper: %s re-queued, %s failed", requeued, failed)
    return requeued


def has_due(*, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return WebhookMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now).exists()
