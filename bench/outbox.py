"""The outbox: 10,000 queued personalised follow-ups rendered and handed to a local SMTP
server (aiosmtpd on loopback, in its own process) by one worker (`outbox.deliver()`, the
body of the Celery task, in this process). Target: at least TARGET_PER_SECOND emails/s.

Uses consenting customers of the loaded data set (their languages are mixed, so every
template version is used); creates some when there are not enough (standalone runs:
`python -m bench.outbox`). The bench's rows are deleted afterwards.
"""

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

COUNT = 10_000
TARGET_PER_SECOND = 300
BATCH_SIZE = 200
KEY_PREFIX = "bench:"
VERSIONS = {
    "en": ("We miss you, {{ first_name }}", "Hi {{ first_name }},\n\nIt has been a while. "
           "Your {{ plan }} plan renews on {{ renewal_date }}.\n\n{{ signature }}"),
    "de": ("Wir vermissen Sie, {{ first_name }}", "Hallo {{ first_name }},\n\nIhr Tarif "
           "{{ plan }} verlängert sich am {{ renewal_date }}.\n\n{{ signature }}"),
    "tr": ("Sizi özledik, {{ first_name }}", "Merhaba {{ first_name }},\n\n{{ plan }} "
           "paketiniz şu tarihte yenileniyor: {{ renewal_date }}.\n\n{{ signature }}"),
}  # fmt: skip


@dataclass
class Result:
    emails: int
    seconds: float
    sent: int
    accepted: int
    duplicates: int
    missing: int
    queries: int
    cpu_seconds: float  # of this process (render, build, SMTP client, SQL client)
    load: float  # the machine's 1-minute load average when the run started

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def passed(self) -> bool:
        return (
            self.per_second >= TARGET_PER_SECOND
            and self.sent == self.emails
            and self.missing == 0
            and self.duplicates == 0
        )


def _customers(log) -> list[tuple[int, str]]:
    from customers.models import Customer

    reachable = (
        Customer.objects.filter(marketing_consent=True, archived_at__isnull=True)
        .exclude(email="")
        .exclude(email_unsubscribe__isnull=False)
        .order_by("pk")
    )
    missing = COUNT - reachable.count()
    if missing > 0:
        log(f"Creating {missing:,} consenting customers for the outbox bench ...")
        languages = ["en", "de", "tr", "zh-hant"]
        Customer.objects.bulk_create(
            [
                Customer(
                    name=f"Bench Customer{i}",
                    email=f"bench{i}@example.org",
                    marketing_consent=True,
                    status=Customer.Status.ACTIVE,
                    plan="Growth",
                    preferred_language=languages[i % len(languages)],
                )
                for i in range(missing)
            ],
            batch_size=2000,
        )
    return list(reachable.values_list("pk", "email")[:COUNT])


def _template():
    from retention.models import EmailTemplate, EmailTemplateTranslation

    template, _created = EmailTemplate.objects.get_or_create(name="Bench: we miss you")
    for language, (subject, body) in VERSIONS.items():
        EmailTemplateTranslation.objects.update_or_create(
            template=template, language=language, defaults={"subject": subject, "body_text": body}
        )
    return template


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(log=print) -> Result:
    # Imported here: `python -m bench.outbox` sets Django up first (see main()).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from retention.models import OutgoingEmail
    from retention.outreach import outbox

    OutgoingEmail.objects.filter(idempotency_key__startswith=KEY_PREFIX).delete()
    customers = _customers(log)
    template = _template()
    OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                customer_id=pk,
                kind=OutgoingEmail.Kind.FOLLOW_UP,
                template=template,
                to_email=email,
                idempotency_key=f"{KEY_PREFIX}{pk}",
            )
            for pk, email in customers
        ],
        batch_size=2000,
    )
    expected = set(
        OutgoingEmail.objects.filter(idempotency_key__startswith=KEY_PREFIX).values_list(
            "message_id", flat=True
        )
    )
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        received_path = Path(folder) / "received.txt"
        sink = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.smtp_sink", str(port), str(received_path)],
            cwd=Path(__file__).resolve().parent.parent,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if sink.stdout.readline().strip() != "ready":
                raise RuntimeError("the SMTP sink did not start")
            log(f"Outbox: sending {len(customers):,} emails to aiosmtpd on 127.0.0.1:{port} ...")
            smtp = {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": port,
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
                "OUTBOX_BATCH_SIZE": BATCH_SIZE,
            }
            with override_settings(**smtp), CaptureQueriesContext(connection) as queries:
                load_before = os.getloadavg()[0]
                started, cpu_started = time.perf_counter(), time.process_time()
                outcome = outbox.deliver()
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
        finally:
            sink.terminate()
            sink.wait(timeout=30)
        received = Counter(received_path.read_text().split())
    result = Result(
        emails=len(customers),
        seconds=seconds,
        sent=outcome.sent,
        accepted=sum(received.values()),
        duplicates=sum(count - 1 for count in received.values() if count > 1),
        missing=len(expected - set(received)),
        queries=len(queries.captured_queries),
        cpu_seconds=cpu_seconds,
        load=load_before,
    )
    OutgoingEmail.objects.filter(idempotency_key__startswith=KEY_PREFIX).delete()
    return result


def table(result: Result) -> list[str]:
    return [
        "| emails | seconds | emails/s | target /s | worker CPU ms/email | load avg | "
        "accepted by the server | missing | sent twice | SQL queries | result |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {result.emails:,} | {result.seconds:.1f} | {result.per_second:.0f} | "
        f"{TARGET_PER_SECOND} | {1000 * result.cpu_seconds / max(result.emails, 1):.2f} | "
        f"{result.load:.1f} | {result.accepted:,} | {result.missing} | {result.duplicates} | "
        f"{result.queries:,} | {'PASS' if result.passed else 'FAIL'} |",
    ]


def section(result: Result) -> list[str]:
    return [
        "## Outbox",
        "",
        f"{result.emails:,} queued follow-ups (three language versions, six placeholders, "
        "text + HTML, unsubscribe headers, open pixel) claimed in batches of "
        f"{BATCH_SIZE}, rendered and handed to aiosmtpd on loopback over one SMTP connection "
        "per batch by one worker; target: at least "
        f"{TARGET_PER_SECOND} emails/s, each accepted exactly once.",
        "",
        *table(result),
    ]


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = run()
    print("\n".join(section(result)))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
