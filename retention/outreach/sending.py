"""Sending claimed outbox rows: render each, hand it to the SMTP server, record the outcome.

`send_batch` takes the claim `outbox.claim_batch` made (rows "sending", with a lease
and a token) and leaves each row sent, cancelled, failed, or queued again with a
backoff; the row's life around it (queuing, claiming, the sweeper, the deliver loop) is
in outbox.py, which calls this module (never the other way round). Every write goes
through leases.py, conditional on the claim's token; the lease is checked (and renewed
when half of it has passed) right before each message goes to the server.
"""

import contextlib
import functools
import logging
import smtplib
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.links import make_token

from . import cadence, headers, leases, mime, placeholders, rendering
from .headers import idna_address
from .models import EmailTemplateTranslation, EmailUnsubscribe, OutgoingEmail

logger = logging.getLogger(__name__)
Status = OutgoingEmail.Status

PERMANENT, RETRY, CONNECTION = "permanent", "retry", "connection"
QUIT_TIMEOUT = 2.0  # seconds to say goodbye to an SMTP server; then the socket is closed


# --- Outcomes, and how a failed attempt is judged ----------------------------------


@dataclass
class SendOutcome:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    taken_over: int = 0  # rows another worker claimed after this one's lease ran out
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


def build_message(
    email: OutgoingEmail,
    rendered: rendering.RenderedEmail,
    connection,
    *,
    unsubscribe_token: str = "",
) -> EmailMultiAlternatives:
    message_headers = {"Message-ID": email.message_id}
    if email.kind in OutgoingEmail.CUSTOMER_KINDS:
        # RFC 8058: mail programs offer "unsubscribe" and POST to this URL.
        token = unsubscribe_token or make_token("unsubscribe", email.customer_id)
        message_headers |= headers.list_headers(
            label=headers.FOLLOW_UPS,
            description=f"{settings.BUSINESS_NAME} follow-ups",
            unsubscribe_url=placeholders.link_url("retention:unsubscribe_one_click", token),
        )
        # Follow-ups say "just reply": the answer goes to the account manager.
        if reply_to := headers.reply_to(email.customer.owner):
            message_headers["Reply-To"] = reply_to
    elif email.kind not in OutgoingEmail.ACCOUNT_KINDS:  # a reset link is no list mail
        message_headers |= headers.list_headers(
            label=headers.STAFF_NOTICES, description=f"{settings.BUSINESS_NAME} CRM notices"
        )
    to = formataddr((recipient_name(email), idna_address(email.to_email)))
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=message_headers,
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
    if email.kind == OutgoingEmail.Kind.PASSWORD_RESET:
        return rendering.render_password_reset(email)
    row = rendering.pick_translation(translations.get(email.template_id, []), email.customer)
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


def send_batch(claim: leases.Claim | Sequence[int], *, connection=None) -> SendOutcome:
    """Render claimed rows and hand them to the SMTP server over reused connections;
    record each outcome. A plain list of ids stands for rows set "sending" by hand."""
    if not isinstance(claim, leases.Claim):
        claim = leases.Claim.by_hand(claim)
    return _Batch(claim, connection).send()


def _load(claim: leases.Claim) -> tuple[list[OutgoingEmail], dict[int, list], set[int]]:
    """The claimed rows with what rendering reads, their templates, who unsubscribed."""
    emails = list(
        leases.held(claim, claim.ids)
        .filter(status=Status.SENDING)
        .select_related(
            "customer__company",
            "customer__owner__staff_profile",
            "customer__risk",
            "recipient_user__preferences",
        )
        .order_by("id")
    )
    translations: dict[int, list] = {}
    template_ids = {email.template_id for email in emails if email.template_id}
    for row in EmailTemplateTranslation.objects.filter(template_id__in=template_ids):
        translations.setdefault(row.template_id, []).append(row)
    unsubscribed = set(
        EmailUnsubscribe.objects.filter(
            customer_id__in={email.customer_id for email in emails}
        ).values_list("customer_id", flat=True)
    )
    return emails, translations, unsubscribed


class _Batch:
    """One claim on its way out: the main thread renders, checks the lease and records
    outcomes (the only thread touching the database); `_Senders` threads talk SMTP."""

    def __init__(self, claim: leases.Claim, connection) -> None:
        self.claim = claim
        self.given_connection = connection
        self.outcome = SendOutcome()
        self.prepared: dict = {}
        self.accepted: list[OutgoingEmail] = []  # by the server, not yet marked sent
        self.waiting: deque[OutgoingEmail] = deque()
        self.in_flight: dict[Future, tuple[OutgoingEmail, rendering.RenderedEmail]] = {}
        self.stopped = False  # no new message goes out (the SMTP connection is in doubt)
        self.failed = False  # an unexpected error (the database's?) ends the batch

    def send(self) -> SendOutcome:
        if not self.claim.ids:
            return self.outcome
        emails, self.translations, self.unsubscribed = leases.with_reconnect(
            lambda: _load(self.claim), "loading emails to send"
        )
        if not emails:
            return self.outcome
        self.waiting = deque(emails)
        self.senders = _Senders(self.given_connection)
        try:
            while self.waiting or self.in_flight:
                # Keep every connection busy: render the next emails while others are
                # on the wire.
                while (
                    self.waiting
                    and not self.stopped
                    and len(self.in_flight) < self.senders.parallel
                ):
                    self._keep_lease()  # right before a message goes out: still ours?
                    if self.waiting:
                        self._submit(self.waiting.popleft())
                if not self.in_flight:
                    break
                done, _pending = wait(
                    self.in_flight, timeout=self.claim.wake_every, return_when=FIRST_COMPLETED
                )
                for future in done:
                    self._collect(future)
                self._keep_lease()
                if self.stopped and self.waiting:
                    error = ConnectionError(self.outcome.errors[-1])
                    self._release_untried(list(self.waiting), error)
                    self.waiting.clear()
        except BaseException:
            # Still wait for what is on the wire and mark what the server accepted, but
            # renew nothing on a database that may be what failed.
            self.failed = True
            raise
        finally:
            self._finish_in_flight()
        return self.outcome

    def _unfinished(self) -> list[int]:
        return [
            *(email.pk for email in self.waiting),
            *(email.pk for email, _rendered in self.in_flight.values()),
            *(email.pk for email in self.accepted),
        ]

    def _keep_lease(self) -> None:
        """Renew the lease once half of it has passed; rows the renewal no longer finds
        (another worker claimed them after this one's lease ran out) are not sent."""
        if not self.claim.renewal_due(timezone.now()):
            return
        still = leases.renew(self.claim, self._unfinished())
        lost = [email for email in self.waiting if email.pk not in still]
        if lost:
            logger.warning("Outbox: %s emails are no longer this worker's; not sent", len(lost))
            self.outcome.taken_over += len(lost)
            self.waiting = deque(email for email in self.waiting if email.pk in still)

    def _submit(self, email: OutgoingEmail) -> None:
        reason = _why_not_send(email, self.unsubscribed)
        if reason:
            leases.finish(self.claim, email, Status.CANCELLED, reason)
            self.outcome.cancelled += 1
            return
        try:
            # One signed token for the link in the text and the List-Unsubscribe header.
            token = make_token("unsubscribe", email.customer_id) if email.customer_id else ""
            rendered = render(
                email, self.translations, prepared=self.prepared, unsubscribe_token=token
            )
            message = build_message(email, rendered, None, unsubscribe_token=token)
        except Exception as error:  # noqa: BLE001 - a rendering error fails this row only
            logger.exception("Outbox: cannot build email %s", email.pk)
            leases.finish(self.claim, email, Status.FAILED, f"{type(error).__name__}: {error}")
            self.outcome.failed += 1
            return
        future = self.senders.submit(message, recipient_name(email), idna_address(email.to_email))
        self.in_flight[future] = (email, rendered)

    def _collect(self, future: Future) -> None:
        email, rendered = self.in_flight.pop(future)
        error = future.exception()
        if error is None:
            _keep_rendered(email, rendered)
            self.accepted.append(email)
            if len(self.accepted) >= settings.OUTBOX_MARK_EVERY:
                self._mark_accepted()
        elif isinstance(error, ValueError):
            # BadHeaderError and friends: raised while building, before any SMTP traffic.
            leases.finish(self.claim, email, Status.FAILED, f"{type(error).__name__}: {error}")
            self.outcome.failed += 1
        elif isinstance(error, smtplib.SMTPException | OSError):
            kind = classify_error(error)
            self._record_failure(email, error, permanent=kind == PERMANENT)
            if kind == CONNECTION:
                # The connection is in doubt (refused, cut, timed out): what is on the
                # wire finishes, the rest goes back to the queue untried and this worker
                # stops for now.
                self.stopped = True
                self.outcome.connection_failed = True
        else:
            raise error

    def _mark_accepted(self) -> None:
        # Cleared only once marked: if the database stays away, the last try (on the
        # way out) includes them.
        if self.accepted:
            self.outcome.sent += leases.mark_sent(self.claim, self.accepted)
            self.accepted = []

    def _finish_in_flight(self) -> None:
        """Wait for the messages on the wire (keeping the lease meanwhile), mark what the
        server accepted, then close the connections."""
        try:
            while any(not future.done() for future in self.in_flight):
                wait(self.in_flight, timeout=self.claim.wake_every, return_when=FIRST_COMPLETED)
                if not self.failed:
                    self._keep_lease()
            for future, (email, rendered) in self.in_flight.items():
                if future.exception() is None:
                    _keep_rendered(email, rendered)
                    self.accepted.append(email)
            self.in_flight.clear()
            # Also on the way out of an unexpected error: what the server accepted is sent.
            self._mark_accepted()
        finally:
            self.senders.close()

    def _record_failure(
        self, email: OutgoingEmail, error: Exception, *, permanent: bool = False
    ) -> None:
        message = f"{type(error).__name__}: {error}"[:2000]
        self.outcome.errors.append(message)
        if permanent or email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            leases.finish(self.claim, email, Status.FAILED, message)
            self.outcome.failed += 1
            return
        due = timezone.now() + retry_delay(email.attempts)
        if email.kind in OutgoingEmail.CUSTOMER_KINDS:
            due = cadence.next_allowed_time(due)
        leases.requeue(self.claim, email, due=due, error=message)
        self.outcome.retrying += 1

    def _release_untried(self, emails: list[OutgoingEmail], error: Exception) -> None:
        """Rows never handed to the server: back to the queue, this claim not counted."""
        due = timezone.now() + retry_delay(1)
        leases.release(self.claim, emails, due=due, error=f"{type(error).__name__}: {error}")
        self.outcome.retrying += len(emails)


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
            # QUIT to a server that stopped answering would wait a whole EMAIL_TIMEOUT.
            sock = getattr(getattr(connection, "connection", None), "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.settimeout(QUIT_TIMEOUT)
            # Closing a broken connection may fail: nothing is left to do then.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()


# --- Recording each row's outcome --------------------------------------------------


def _keep_rendered(email: OutgoingEmail, rendered: rendering.RenderedEmail) -> None:
    email.language = rendered.language
    email.subject = rendered.subject[:300]
    email.body_text = rendered.text
    email.body_html = rendered.html
    if email.kind in OutgoingEmail.ACCOUNT_KINDS:
        # It held a login link: whoever reads the table later must not be able to use it.
        email.body_text = _("(Not kept: this email held a password reset link.)")
        email.body_html = ""
