"""DKIM signatures (RFC 6376) on outgoing mail, made with dkimpy when a key is set.

DKIM_SELECTOR, DKIM_DOMAIN and DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE) switch it
on; with none of them set nothing is signed. The signature is made on the final bytes,
as they leave for the SMTP server, by the connection of `SigningEmailBackend`, which
crm/settings.py selects for an smtp EMAIL_URL when DKIM is configured. So the outbox
(which writes its own bytes, mime.py, and hands them to that connection) and everything
sent through Django's mail API (survey emails, password resets) are signed alike.
`sign(raw)` is the same step for a caller holding the bytes of a message.

The receiving server checks the signature against the public key published in DNS as
TXT at `<DKIM_SELECTOR>._domainkey.<DKIM_DOMAIN>`; DKIM_DOMAIN should be the From
address's domain (DMARC alignment).
"""

import re
import smtplib

import dkim as dkimpy
from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

# Signed when present. RFC 8058 asks that List-Unsubscribe and List-Unsubscribe-Post
# be covered, so a forwarder cannot add or change them.
SIGNED_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)


def enabled() -> bool:
    return bool(settings.DKIM_SELECTOR and settings.DKIM_DOMAIN and settings.DKIM_PRIVATE_KEY)


def sign(raw: bytes) -> bytes:
    """`raw` (a whole message) with a DKIM-Signature header in front, CRLF line endings;
    unchanged when DKIM is off."""
    if not enabled():
        return raw
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    head = raw.split(b"\r\n\r\n", 1)[0]
    present = {name.decode("ascii").lower() for name in _HEADER_NAME.findall(head)}
    signature = dkimpy.sign(
        raw,
        selector=settings.DKIM_SELECTOR.encode("ascii"),
        domain=settings.DKIM_DOMAIN.encode("ascii"),
        privkey=settings.DKIM_PRIVATE_KEY.encode("ascii"),
        # relaxed/relaxed survives the re-folding and whitespace changes relays make.
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode("ascii") for name in SIGNED_HEADERS if name in present],
    )
    return signature + raw


class _SignsWhatItSends:
    """Mixed into smtplib's classes: the message is signed as it is handed over."""

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        if isinstance(msg, str):
            msg = msg.encode("ascii")  # what smtplib itself requires of a str message
        return super().sendmail(from_addr, to_addrs, sign(msg), mail_options, rcpt_options)


class _SigningSMTP(_SignsWhatItSends, smtplib.SMTP):
    pass


class _SigningSMTPSSL(_SignsWhatItSends, smtplib.SMTP_SSL):
    pass


class SigningEmailBackend(SMTPBackend):
    """Django's SMTP backend, whose connection DKIM-signs each message it sends."""

    @property
    def connection_class(self):
        return _SigningSMTPSSL if self.use_ssl else _SigningSMTP
