"""A worker's claim on outbox rows: its token, keeping its lease, and the fenced writes.

`outbox.claim_batch` sets due rows "sending" with a new random token and a lease
(`OUTBOX_LEASE_SECONDS`). Every later write about those rows (sent, failed, cancelled,
queued again, released, lease renewed) is one UPDATE that also requires the token, so
a worker whose lease ran out and whose rows another worker claimed changes nothing:
the rows belong to the other claim. Only a claim replaces a token (the sweeper
re-queues a row but keeps its token), so a worker that sent a message can still mark
it sent after its lease ran out, as long as no other worker claimed the row since.

Right before it hands a message to the SMTP server the worker checks its lease
(`Claim.renewal_due`): once half the lease has passed it renews (`renew`) the lease of
every row it still holds, in one UPDATE, and a row the renewal does not find (taken
over, or put back by the sweeper) is not sent. The sending loop wakes at least every
quarter of the lease to do this, so a message stuck on the wire (an SMTP server that stopped
answering) never lets the lease run out while the worker is alive: only a dead worker,
or a database unreachable for longer than the retries below, loses its lease.

A database error (PostgreSQL restarted, a connection cut) is retried on a new
connection a few times (`with_reconnect`, about 15 s in all) before the worker gives
up, so a restart does not leave the messages the server accepted unmarked (each would
be sent again once its lease ran out). The token, the lease's clock and those retries
are customers.leases', shared with survey invitations and import jobs.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

# The token, the lease's clock and the retried writes are the same for every worker
# (customers.leases); what a claim holds here is a batch of outbox rows.
from customers.leases import Lease, with_reconnect
from customers.leases import new_token as new_token  # kept as leases.new_token

from .models import OutgoingEmail

logger = logging.getLogger(__name__)
Status = OutgoingEmail.Status


@dataclass(kw_only=True)
class Claim(Lease):
    """Rows one worker claimed together, under one token and one lease."""

    ids: list[int] = field(default_factory=list)

    @classmethod
    def by_hand(cls, ids: Iterable[int]) -> "Claim":
        """Rows a test (or a fix by hand) set "sending" directly: no token, no lease."""
        return cls(ids=list(ids))

    def __bool__(self) -> bool:
        return bool(self.ids)

    @property
    def wake_every(self) -> float | None:
        """Seconds the sending loop may wait for the SMTP server before keeping the lease."""
        return max(self.lease_seconds / 4, 0.1) if self.lease_until is not None else None


def held(claim: Claim, ids: Iterable[int]):
    """The rows among `ids` whose latest claim is `claim` (what its writes may touch)."""
    return OutgoingEmail.objects.filter(pk__in=list(ids), lease_token=claim.token)


def renew(claim: Claim, ids: list[int]) -> set[int]:
    """Extend the lease of the rows among `ids` still "sending" under `claim`; return them."""
    if claim.lease_until is None or not ids:
        return set(ids)
    lease_until = claim.renewed_until(timezone.now())

    def extend() -> set[int]:
        rows = held(claim, ids).filter(status=Status.SENDING)
        if rows.update(lease_until=lease_until) == len(ids):
            return set(ids)
        return set(rows.filter(lease_until=lease_until).values_list("pk", flat=True))

    still = with_reconnect(extend, "renewing a lease")
    claim.lease_until = lease_until
    return still


# --- Fenced writes: each changes only the rows this claim still holds ----------------


def mark_sent(claim: Claim, emails: list[OutgoingEmail]) -> int:
    """Mark the emails the server accepted as sent, with what was sent, in one statement."""
    if not emails:
        return 0
    now = timezone.now()
    # One UPDATE ... FROM (VALUES ...) gives each row its own rendered content in one
    # statement (PostgreSQL, and SQLite >= 3.33). bulk_update's CASE expressions, or an
    # upsert re-sending whole rows, cost more than the sending itself.
    table = OutgoingEmail._meta.db_table
    rows = ", ".join(["(CAST(%s AS bigint), %s, %s, %s, %s)"] * len(emails))
    params: list = [Status.SENT, now]
    for email in emails:
        params += [email.pk, email.language, email.subject, email.body_text, email.body_html]
    params.append(claim.token)
    sql = (
        f"UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, "  # noqa: S608
        "last_error = '', language = v.column2, subject = v.column3, "
        "body_text = v.column4, body_html = v.column5 "
        f"FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1 AND {table}.lease_token = %s"
    )

    def update() -> int:
        with db_connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    marked = with_reconnect(update, "marking emails sent")
    if marked < len(emails):
        logger.warning(
            "Outbox: %s emails the server accepted were claimed again by another worker "
            "after this one's lease ran out; they may go out twice",
            len(emails) - marked,
        )
    return marked


def finish(claim: Claim, email: OutgoingEmail, status: str, error: str) -> None:
    """Failed or cancelled for good."""
    with_reconnect(
        lambda: held(claim, [email.pk]).update(
            status=status, lease_until=None, last_error=error[:2000]
        ),
        "recording an email's outcome",
    )


def requeue(claim: Claim, email: OutgoingEmail, *, due: datetime, error: str) -> None:
    """Queued again for a later attempt (this attempt counted)."""
    with_reconnect(
        lambda: held(claim, [email.pk]).update(
            status=Status.QUEUED, lease_until=None, last_error=error[:2000], next_attempt_at=due
        ),
        "queuing an email again",
    )


def release(claim: Claim, emails: list[OutgoingEmail], *, due: datetime, error: str) -> None:
    """Rows never handed to the server: back to the queue, this claim not counted."""
    if not emails:
        return
    with_reconnect(
        lambda: (
            held(claim, [e.pk for e in emails])
            .filter(status=Status.SENDING)
            .update(
                status=Status.QUEUED,
                lease_until=None,
                attempts=F("attempts") - 1,
                next_attempt_at=due,
                last_error=error[:2000],
            )
        ),
        "putting emails back",
    )
