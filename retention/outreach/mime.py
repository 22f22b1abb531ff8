"""The bytes of a follow-up email for SMTP, built directly.

Django's EmailMessage builds a MIME tree and then serialises it with the email
package's generator; for a plain two-part message (text + HTML) that is most of the
cost of sending one email. This module writes the same structure straight away:
multipart/alternative with a text/plain and a text/html part, both UTF-8 and
quoted-printable, headers RFC 2047-encoded when they are not ASCII. Header values
must already be single lines (email_rendering.single_line); anything with a line
break is refused here too, so no header can be injected.
"""

import binascii
import functools
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr


def _check(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("A header value contains a line break.")
    return value


def encoded_header(value: str) -> str:
    _check(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=76).encode()


@functools.cache
def address_header(address: str) -> str:
    """A From header ("Name <a@b>") with a non-ASCII name encoded (cached per address)."""
    name, bare = parseaddr(_check(address))
    return formataddr((name, bare), charset="utf-8")


def _part(content_type: str, body: str) -> bytes:
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
    return (
        f'Content-Type: {content_type}; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
    ).encode("ascii") + encoded


def message_bytes(
    *,
    from_email: str,
    to_name: str,
    to_address: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
    date: str | None = None,
) -> bytes:
    """The whole message, CRLF line endings, ready for smtplib's sendmail."""
    boundary = f"=={secrets.token_hex(12)}=="
    lines = [
        f"From: {address_header(from_email)}",
        f"To: {formataddr((_check(to_name), _check(to_address)), charset='utf-8')}",
        f"Subject: {encoded_header(subject)}",
        f"Date: {date or formatdate(usegmt=True)}",
        *(f"{_check(name)}: {encoded_header(value)}" for name, value in headers.items()),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
    ]
    head = ("\n".join(lines) + "\n").encode("utf-8")
    separator = f"\n--{boundary}\n".encode("ascii")
    tail = f"\n--{boundary}--\n".encode("ascii")
    raw = head + _part("text/plain", text) + separator + _part("text/html", html) + tail
    return raw.replace(b"\n", b"\r\n")
