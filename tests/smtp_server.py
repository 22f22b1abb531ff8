"""A real SMTP server on loopback (aiosmtpd) that records what it accepts.

Used by the outbox tests, the real-worker test and the bench.
"""

import asyncio
import re
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Recorder:
    """aiosmtpd handler: keeps (message id, recipients, raw bytes) of each accepted message."""

    delay: float = 0.0  # seconds to wait before accepting each message
    reject: dict[str, str] = field(default_factory=dict)  # recipient → SMTP reply
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While set, the server stops answering: a message's data is read, and then no reply
    # ever comes (its Message-ID goes to `hung`, not to `messages`: never accepted).
    hang: threading.Event = field(default_factory=threading.Event)
    hung: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        match = MESSAGE_ID.search(content)
        if self.hang.is_set():
            with self.lock:
                self.hung.append(match.group(1).decode() if match else "")
            await asyncio.sleep(3600)  # cancelled when the server stops
        with self.lock:
            self.messages.append(
                (match.group(1).decode() if match else "", list(envelope.rcpt_tos), content)
            )
        return "250 Message accepted for delivery"

    @property
    def message_ids(self) -> list[str]:
        with self.lock:
            return [message_id for message_id, _rcpt, _content in self.messages]


class SMTPServer:
    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def email_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def settings(self) -> dict:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }
