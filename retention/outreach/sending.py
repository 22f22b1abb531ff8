"""Sending claimed outbox rows: render each, hand it to the SMTP server, record the outcome.

`send_batch` takes the ids `outbox.claim_batch` locked ("sending", with a lease) and
leaves each row sent, cancelled, failed, or queued again with a backoff; the row's
life around it (queuing, claiming, the sweeper, the deliver loop) is in outbox.py,
which calls this module (never the other way round).
"""

import contextlib
import functools
import logging
import smtplib
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.links import make_token

from . import cadence, mime, placeholders, rendering
from .models import EmailTemplateTranslation, EmailUnsubscribe, OutgoingEmail

logger = logging.getLogger(__name__)
Status = OutgoingEmail.Status

PERMANENT, RETRY, CONNECTION = "permanent", "retry", "connection"


# --- Outcomes, and how a failed attempt is judged ----------------------------------


@dataclass
class SendOutcome:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    connection_failed: bool = False
    errors: list[str] = field(default_factory=list)


def classify_error(error: Exception) -> str:
    """5xx: this message will never go (fail now); 4xx: try this one again later;
    anything else (disconnected, timeout, refused connection): the connection is broken."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return PERMANENT if codes and min(codes) >= 500 else RETRY
    code = getattr(error, "smtp_code", None)
    if isinstance(code, int) and not isinstance(error, smtplib.SMTPServerDisconnected):
        return PERMANENT if code >= 500 else RETRY
    return CONNECTION


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


# --- Building a message ------------------------------------------------------------


@functools.cache
def _envelope_sender(from_email: str) -> str:
    return parseaddr(from_email)[1]


def envelope_sender() -> str:
    """The bare address of DEFAULT_FROM_EMAIL, for the SMTP envelope."""
    return _envelope_sender(settings.DEFAULT_FROM_EMAIL)


def recipient_name(email: OutgoingEmail) -> str:
    """The display name in To: the customer, or the staff member; always one line."""
    if email.kind in OutgoingEmail.CUSTOMER_KINDS:
        name = email.customer.name
    else:
        user = email.recipient_user
        name = (user.get_full_name() if user else "") or ""
    return rendering.single_line(name)


def idna_address(address: str) -> str:
    """An internationalised domain (anna@müller.de, which the forms accept) in its
    ASCII form. A non-ASCII local part still fails: it needs SMTPUTF8."""
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if domain else address


def build_message(
    email: OutgoingEmail,
    rendered: rendering.RenderedEmail,
    connection,
    *,
    unsubscribe_token: str = "",
) -> EmailMultiAlternatives:
    headers = {"Message-ID": email.message_id}
    if email.kind in OutgoingEmail.CUSTOMER_KINDS:
        # RFC 8058: mail programs offer "unsubscribe" and POST to this URL.
        token = unsubscribe_token or make_token("unsubscribe", email.customer_id)
        url = placeholders.link_url("retention:unsubscribe_one_click", token)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    to = formataddr((recipient_name(email), idna_address(email.to_email)))
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _why_not_send(email: OutgoingEmail, unsubscribed: set[int]) -> str:
    """A reason to cancel a follow-up that was fine when queued (consent withdrawn...)."""
    if email.kind not in OutgoingEmail.CUSTOMER_KINDS:
        return ""
    customer = email.customer
    if email.customer_id in unsubscribed:
        return _("The customer unsubscribed.")
    if not customer.marketing_consent:
        return _("The customer has no marketing consent.")
    if customer.archived_at is not None:
        return _("The customer is archived.")
    return ""


def render(
    email: OutgoingEmail,
    translations: dict,
    *,
    prepared: dict | None = None,
    unsubscribe_token: str | None = None,
) -> rendering.RenderedEmail:
    """The email as it goes out now. `prepared` caches each language version's layout
    for a batch (key: template id and language)."""
    if email.kind == OutgoingEmail.Kind.STAFF_NOTICE:
        return rendering.render_staff_notice(email)
    row = rendering.pick_translation(
        translations.get(email.template_id, []), email.customer.preferred_language
    )
    if row is None:
        raise ValueError(_("The template has no text in any language."))
    prepared = {} if prepared is None else prepared
    key = (email.template_id, row.language)
    if key not in prepared:
        prepared[key] = rendering.prepare(row)
    return rendering.fill(
        prepared[key], email.customer, email_id=email.pk, unsubscribe_token=unsubscribe_token
    )


# --- Sending a batch ---------------------------------------------------------------


def send_batch(ids: list[int], *, connection=None) -> SendOutcome:
    """Render claimed rows and hand them to the SMTP server over reused connections;
    record each outcome."""
    outcome = SendOutcome()
    emails = list(
        OutgoingEmail.objects.filter(pk__in=ids, status=Status.SENDING)
        .select_related(
            "customer__company",
            "customer__owner__staff_profile",
            "customer__risk",
            "recipient_user",
        )
        .order_by("id")
    )
    if not emails:
        return outcome
    translations: dict[int, list] = {}
    template_ids = {email.template_id for email in emails if email.template_id}
    for row in EmailTemplateTranslation.objects.filter(template_id__in=template_ids):
        translations.setdefault(row.template_id, []).append(row)
    unsubscribed = set(
        EmailUnsubscribe.objects.filter(
            customer_id__in={email.customer_id for email in emails}
        ).values_list("customer_id", flat=True)
    )
    senders = _Senders(connection)
    prepared: dict = {}
    sent: list[OutgoingEmail] = []
    waiting = deque(emails)
    in_flight: dict[Future, tuple[OutgoingEmail, rendering.RenderedEmail]] = {}
    stopped = False
    try:
        while waiting or in_flight:
            # Keep every connection busy: render the next emails while others are on the wire.
            while waiting and not stopped and len(in_flight) < senders.parallel:
                email = waiting.popleft()
                reason = _why_not_send(email, unsubscribed)
                if reason:
                    _finish(email, Status.CANCELLED, reason)
                    outcome.cancelled += 1
                    continue
                try:
                    # One signed token for the link in the text and the List-Unsubscribe header.
                    token = make_token("unsubscribe", email.customer_id)
                    rendered = render(
                        email, translations, prepared=prepared, unsubscribe_token=token
                    )
                    message = build_message(email, rendered, None, unsubscribe_token=token)
                except Exception as error:  # noqa: BLE001 - a rendering error fails this row only
                    logger.exception("Outbox: cannot build email %s", email.pk)
                    _finish(email, Status.FAILED, f"{type(error).__name__}: {error}")
                    outcome.failed += 1
                    continue
                future = senders.submit(
                    message, recipient_name(email), idna_address(email.to_email)
                )
                in_flight[future] = (email, rendered)
            if not in_flight:
                break
            done, _pending = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                email, rendered = in_flight.pop(future)
                error = future.exception()
                if error is None:
                    _keep_rendered(email, rendered)
                    sent.append(email)
                    if len(sent) >= settings.OUTBOX_MARK_EVERY:
                        outcome.sent += _mark_sent(sent)
                        sent = []
                elif isinstance(error, ValueError):
                    # BadHeaderError and friends: raised while building, before any SMTP traffic.
                    _finish(email, Status.FAILED, f"{type(error).__name__}: {error}")
                    outcome.failed += 1
                elif isinstance(error, smtplib.SMTPException | OSError):
                    kind = classify_error(error)
                    _record_failure(email, error, outcome, permanent=kind == PERMANENT)
                    if kind == CONNECTION:
                        # The connection is in doubt: what is on the wire finishes, the rest
                        # goes back to the queue untried and this worker stops for now.
                        stopped = True
                        outcome.connection_failed = True
                else:
                    raise error
            if stopped and waiting:
                _release_untried(list(waiting), ConnectionError(outcome.errors[-1]), outcome)
                waiting.clear()
    finally:
        senders.close()  # waits for what is on the wire
        for future, (email, rendered) in in_flight.items():
            if future.done() and future.exception() is None:
                _keep_rendered(email, rendered)
                sent.append(email)
        # Also on the way out of an unexpected error: what the server accepted is sent.
        outcome.sent += _mark_sent(sent)
    return outcome


class _Senders:
    """OUTBOX_SMTP_CONNECTIONS threads, each with its own reused SMTP connection, so the
    worker renders the next emails while earlier ones are on the wire. Only this module's
    main thread touches the database. A connection passed in is used alone (tests)."""

    def __init__(self, connection=None) -> None:
        self.given = connection
        self.parallel = 1 if connection is not None else max(1, settings.OUTBOX_SMTP_CONNECTIONS)
        self.pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="outbox")
        self.local = threading.local()
        self.opened: list = []
        self.lock = threading.Lock()

    def _connection(self):
        if self.given is not None:
            return self.given
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = get_connection()
            connection.open()
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def _send(self, message: EmailMultiAlternatives, to_name: str, to_address: str) -> None:
        connection = self._connection()
        if isinstance(connection, SMTPBackend) and connection.connection is not None:
            # The SMTP path builds the bytes directly (retention/mime.py) and hands them to
            # smtplib: Django's generic MIME tree costs more than the rest of the sending.
            if not to_address.isascii():
                raise ValueError("Only ASCII addresses are supported.")
            raw = mime.message_bytes(
                from_email=message.from_email,
                to_name=to_name,
                to_address=to_address,
                subject=message.subject,
                text=message.body,
                html=message.alternatives[0][0],
                headers=message.extra_headers,
            )
            connection.connection.sendmail(envelope_sender(), [to_address], raw)
            return
        message.connection = connection
        connection.send_messages([message])

    def submit(self, message: EmailMultiAlternatives, to_name: str, to_address: str) -> Future:
        return self.pool.submit(self._send, message, to_name, to_address)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for connection in [*self.opened, *([self.given] if self.given is not None else [])]:
            # Closing a broken connection may fail: nothing is left to do then.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()


# --- Recording each row's outcome --------------------------------------------------


def _keep_rendered(email: OutgoingEmail, rendered: rendering.RenderedEmail) -> None:
    email.language = rendered.language
    email.subject = rendered.subject[:300]
    email.body_text = rendered.text
    email.body_html = rendered.html


def _mark_sent(emails: list[OutgoingEmail]) -> int:
    if not emails:
        return 0
    now = timezone.now()
    for email in emails:
        email.status = Status.SENT
        email.sent_at = now
        email.lease_until = None
        email.last_error = ""
    # One UPDATE ... FROM (VALUES ...) gives each row its own rendered content in one
    # statement (PostgreSQL, and SQLite >= 3.33). bulk_update's CASE expressions, or an
    # upsert re-sending whole rows, cost more than the sending itself.
    table = OutgoingEmail._meta.db_table
    rows = ", ".join(["(CAST(%s AS bigint), %s, %s, %s, %s)"] * len(emails))
    params: list = [Status.SENT, now]
    for email in emails:
        params += [email.pk, email.language, email.subject, email.body_text, email.body_html]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, "  # noqa: S608
            "last_error = '', language = v.column2, subject = v.column3, "
            "body_text = v.column4, body_html = v.column5 "
            f"FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1",
            params,
        )
    return len(emails)


def _finish(email: OutgoingEmail, status: str, error: str) -> None:
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=status, lease_until=None, last_error=error[:2000]
    )


def _record_failure(
    email: OutgoingEmail, error: Exception, outcome: SendOutcome, *, permanent: bool = False
) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    outcome.errors.append(message)
    if permanent or email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        _finish(email, Status.FAILED, message)
        outcome.failed += 1
        return
    due = timezone.now() + retry_delay(email.attempts)
    if email.kind in OutgoingEmail.CUSTOMER_KINDS:
        due = cadence.next_allowed_time(due)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=Status.QUEUED, lease_until=None, last_error=message, next_attempt_at=due
    )
    outcome.retrying += 1


def _release_untried(emails: list[OutgoingEmail], error: Exception, outcome: SendOutcome) -> None:
    """Rows never handed to the server: back to the queue, this claim not counted."""
    if not emails:
        return
    OutgoingEmail.objects.filter(pk__in=[e.pk for e in emails], status=Status.SENDING).update(
        status=Status.QUEUED,
        lease_until=None,
        attempts=F("attempts") - 1,
        next_attempt_at=timezone.now() + retry_delay(1),
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    outcome.retrying += len(emails)
