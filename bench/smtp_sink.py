"""`python -m bench.smtp_sink PORT FILE`: a local SMTP server (aiosmtpd) for the outbox
bench. It accepts every message and appends its Message-ID to FILE, one per line, so the
bench can check that each email arrived exactly once. Runs until SIGTERM."""

import re
import signal
import sys
import threading

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


class MessageIdLog:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", buffering=1, encoding="ascii")  # noqa: SIM115 - open until exit

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        match = MESSAGE_ID.search(envelope.content or b"")
        self.file.write((match.group(1).decode() if match else "-") + "\n")
        return "250 Message accepted for delivery"


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    handler = MessageIdLog(path)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    handler.file.close()


if __name__ == "__main__":
    main()
