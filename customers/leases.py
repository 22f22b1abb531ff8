"""Leases: how a worker holds rows while it works on them, for every app's workers.

The outbox (retention.outreach.leases), survey invitations (surveys.delivery) and CSV
import jobs (customers.importing.claims) follow one pattern, each on its own rows:

- a worker claims a row with one conditional UPDATE that only a row nobody holds
  matches, writing a new random token (`new_token`) and a lease: a time until which
  the row is the worker's (`Lease`);
- every later write about the row requires the token, so a worker whose lease ran
  out and whose row another worker claimed since changes nothing (a fenced write);
- a worker that works longer than a lease renews it once half of it has passed
  (`Lease.renewal_due`);
- a sweeper finds in the database the rows whose lease ran out (their worker died)
  and hands them out again, so nothing depends on a message in the broker.

What the rows are, their states and their sweepers stay in each app: they differ
(batches of emails, one invitation at a time, a long import step). This module holds
only what is the same everywhere: the token, the lease's clock, and retrying a
small write on a new connection when the database went away (`with_reconnect`), and
claiming due rows of an outbox table in a batch (`claim_due_rows`).
"""

import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, models, transaction
from django.db import connection as db_connection
from django.db.models import F

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Seconds to wait before each new try of a database write that failed on a broken
# connection; then the error stands. About 15 s: a PostgreSQL restart takes a few.
RECONNECT_DELAYS: tuple[float, ...] = (0.5, 1, 2, 4, 8)


def new_token() -> str:
    """A claim's token: 32 hex characters, never reused."""
    return secrets.token_hex(16)


@dataclass(kw_only=True)
class Lease:
    """A worker's hold on what it claimed: the token its writes require, until when."""

    token: str = ""
    lease_until: datetime | None = None  # None: no lease (rows set by hand, in tests)
    lease_seconds: float = 0.0

    @classmethod
    def starting(cls, now: datetime, seconds: float, **fields) -> Self:
        """A new claim's lease: a new token, running for `seconds` from `now`."""
        until = now + timedelta(seconds=seconds)
        return cls(token=new_token(), lease_until=until, lease_seconds=seconds, **fields)

    def renewal_due(self, now: datetime) -> bool:
        """Half the lease has passed (a lease of rows set by hand never runs out)."""
        if self.lease_until is None:
            return False
        return now >= self.lease_until - timedelta(seconds=self.lease_seconds / 2)

    def renewed_until(self, now: datetime) -> datetime:
        """Where a renewal at `now` moves the end of the lease."""
        return now + timedelta(seconds=self.lease_seconds)


def with_reconnect(operation: Callable[[], T], what: str) -> T:
    """`operation()`, tried again on a new database connection when the old one broke.

    For the small writes that record what a worker did (an email the server accepted
    marked sent): lost to a PostgreSQL restart, the work would be done again. Inside
    a transaction nothing is retried (the transaction is lost with the connection):
    the caller's transaction decides."""
    for delay in (*RECONNECT_DELAYS, None):
        try:
            return operation()
        except (OperationalError, InterfaceError) as error:
            if delay is None or db_connection.in_atomic_block:
                raise
            logger.warning("The database failed while %s (%s); again in %s s", what, error, delay)
            with contextlib.suppress(DatabaseError):
                db_connection.close()  # the next query opens a new connection
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def claim_due_rows(
    model: type[models.Model],
    *,
    lease: "Lease",
    now: datetime,
    limit: int,
    queued: str,
    sending: str,
) -> list[int]:
    """Claim up to `limit` due rows of an outbox table (the outbox's emails, outbound
    webhooks): status `queued` and next_attempt_at passed, oldest due first, locked with
    SKIP LOCKED so two workers never take the same row, then set `sending` under
    `lease` with one more attempt. Their ids; the rows must have status,
    next_attempt_at, lease_until, lease_token and attempts."""
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status=queued, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            model.objects.filter(pk__in=ids).update(
                status=sending,
                lease_until=lease.lease_until,
                lease_token=lease.token,
                attempts=F("attempts") + 1,
            )
    return ids


def release_expired_rows(
    model: type[models.Model], *, now: datetime, max_attempts: int, error: str, statuses
) -> tuple[int, int]:
    """The sweeper of an outbox table: rows a dead worker left `statuses.SENDING` past
    their lease go back to QUEUED, due now, or to FAILED with `error` after
    `max_attempts`. (re-queued, failed). Their token stays: a late "sent" from a worker
    that was only slow is the truth, until a new claim takes the row."""
    expired = model.objects.filter(status=statuses.SENDING, lease_until__lt=now)
    failed = expired.filter(attempts__gte=max_attempts).update(
        status=statuses.FAILED, lease_until=None, last_error=error
    )
    requeued = expired.update(status=statuses.QUEUED, lease_until=None, next_attempt_at=now)
    return requeued, failed
