"""`python -m bench.survey_load`: concurrent respondents against a real server on loopback.

Starts gunicorn (gthread workers) on 127.0.0.1 with the bench settings and the
PostgreSQL of DATABASE_URL, makes one survey link per respondent, then runs
CONCURRENCY threads at once; each respondent opens the survey page (GET), sends
the answers with the page's CSRF token (POST) and follows the redirect to the
thank-you page (GET), on its own keep-alive connection with its own cookies.
Afterwards every answer is checked in the database. Prints a markdown table.

    scripts/with-services.sh .venv/bin/python -m bench.survey_load [--rounds 4]

With --rounds N each thread answers N surveys one after the other (N x CONCURRENCY
respondents). One address sending that many requests is exactly what the per-IP
rate limit stops, so for N > 1 the server runs with SURVEY_RATE_LIMIT_PER_IP=0
(the per-link limit stays on); one round runs with the default limits.
"""

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 50
WORKERS = 2
THREADS = 16
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WHY = "Load test answer {n}"


@dataclass
class Respondent:
    token: str
    score: int
    number: int


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"GET": [], "POST": []})
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds * 1000)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(count: int) -> tuple[list[Respondent], int, int]:
    """Customers, an NPS survey and one fresh link per respondent."""
    from customers.models import Customer
    from surveys.invitations import new_token, token_hash
    from surveys.models import Question, Survey, SurveyInvitation

    existing = Customer.objects.count()
    if existing < count:
        Customer.objects.bulk_create(
            Customer(
                name=f"Load respondent {n}",
                email=f"load{n}@bench.example",
                status=Customer.Status.ACTIVE,
                search_text=f"load respondent {n}",
            )
            for n in range(existing, count)
        )
    survey, _created = Survey.objects.get_or_create(
        name="Load test NPS", defaults={"kind": Survey.Kind.NPS, "title": "Would you recommend us?"}
    )
    if not survey.questions.exists():
        Question.objects.create(
            survey=survey, position=1, kind=Question.Kind.SCALE_0_10, text="Recommend us?"
        )
        Question.objects.create(
            survey=survey, position=2, kind=Question.Kind.TEXT, text="Why?", required=False
        )
    score_q = survey.questions.get(kind=Question.Kind.SCALE_0_10)
    why_q = survey.questions.get(kind=Question.Kind.TEXT)
    from django.utils import timezone

    respondents = []
    for number, customer_id in enumerate(
        Customer.objects.order_by("pk").values_list("pk", flat=True)[:count]
    ):
        token = new_token()
        SurveyInvitation.objects.create(
            survey=survey,
            customer_id=customer_id,
            trigger=SurveyInvitation.Trigger.MANUAL,
            status=SurveyInvitation.Status.SENT,
            token_hash=token_hash(token),
            sent_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=30),
        )
        respondents.append(Respondent(token, number % 11, number))
    return respondents, score_q.pk, why_q.pk


def start_server(port: int, rate_limit_per_ip: int | None) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    if rate_limit_per_ip is not None:
        env["SURVEY_RATE_LIMIT_PER_IP"] = str(rate_limit_per_ip)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz/")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not answer /healthz/ within 60 s")


def answer(port: int, respondent: Respondent, fields: tuple[int, int], results: Results) -> None:
    """One respondent: open the page, answer, see the thank-you page."""
    score_field, why_field = fields
    path = f"/surveys/answer/{respondent.token}/"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        results.record("GET", time.perf_counter() - started)
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        match = CSRF_INPUT.search(body)
        if response.status != 200 or not match or not cookie:
            results.fail(f"GET {respondent.number}: {response.status}")
            return
        form = urlencode(
            {
                "csrfmiddlewaretoken": match.group(1),
                f"q{score_field}": respondent.score,
                f"q{why_field}": WHY.format(n=respondent.number),
            }
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        started = time.perf_counter()
        connection.request("POST", path, body=form, headers=headers)
        response = connection.getresponse()
        response.read()
        results.record("POST", time.perf_counter() - started)
        if response.status != 302:
            results.fail(f"POST {respondent.number}: {response.status}")
            return
        started = time.perf_counter()
        connection.request("GET", response.getheader("Location"), headers={"Cookie": cookie})
        thanks = connection.getresponse()
        text = thanks.read().decode()
        results.record("GET", time.perf_counter() - started)
        if thanks.status != 200 or 'data-testid="thanks"' not in text:
            results.fail(f"thank-you page {respondent.number}: {thanks.status}")
    except OSError as error:
        results.fail(f"{respondent.number}: {error!r}")
    finally:
        connection.close()


def check_stored(respondents: list[Respondent]) -> list[str]:
    from surveys.invitations import token_hash
    from surveys.models import SurveyResponse

    by_hash = {token_hash(r.token): r for r in respondents}
    stored = SurveyResponse.objects.filter(invitation__token_hash__in=by_hash).values_list(
        "invitation__token_hash", "nps_score", "answers__text"
    )
    problems, seen = [], {}
    for digest, score, text in stored:
        seen.setdefault(digest, set()).add(text)
        expected = by_hash[digest]
        if score != expected.score:
            problems.append(f"respondent {expected.number}: score {score} != {expected.score}")
    for digest, respondent in by_hash.items():
        if digest not in seen:
            problems.append(f"respondent {respondent.number}: no answer stored")
        elif WHY.format(n=respondent.number) not in seen[digest]:
            problems.append(f"respondent {respondent.number}: written answer missing")
    return problems


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="surveys answered per thread")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("Needs DATABASE_URL=postgres://... (with-services.sh sets it)", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    total = args.concurrency * args.rounds
    respondents, *fields = prepare(total)
    connection.close()  # the server gets the database to itself
    port = free_port()
    server = start_server(port, None if args.rounds == 1 else 0)
    results = Results()
    barrier = threading.Barrier(args.concurrency)

    def worker(index: int) -> None:
        barrier.wait()  # everyone starts at once
        for round_number in range(args.rounds):
            answer(port, respondents[round_number * args.concurrency + index], fields, results)

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    problems = check_stored(respondents)
    requests = sum(len(values) for values in results.latencies.values())
    lines = [
        f"## Survey load: {args.concurrency} concurrent respondents x {args.rounds} round(s)",
        "",
        f"gunicorn {WORKERS} workers x {THREADS} threads on 127.0.0.1, PostgreSQL; "
        f"{total} respondents, each GET page + POST answers + GET thank-you page; "
        f"per-IP rate limit {'default' if args.rounds == 1 else 'off'}, per-link limit on.",
        "",
        "| requests | errors | wall s | requests/s | respondents/s | answers stored |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {requests} | {len(results.errors)} | {elapsed:.1f} | {requests / elapsed:.0f} | "
        f"{total / elapsed:.1f} | {total - len([p for p in problems if 'no answer' in p])}"
        f"/{total}{' (all checked)' if not problems else ''} |",
        "",
        "| request | count | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, values in results.latencies.items():
        if values:
            lines.append(
                f"| {kind} | {len(values)} | {statistics.median(values):.0f} | "
                f"{percentile(values, 0.95):.0f} | {max(values):.0f} |"
            )
    print("\n".join(lines))
    for message in (results.errors + problems)[:20]:
        print(f"- {message}")
    return 0 if not results.errors and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
