"""What a new user meets first (issue 19): links on the port `make run` listens on, every
demo login in the banner, one meaning of "at risk", long names that wrap, the loyalty
link's Copy button, one date style, punctuation, the favicon and the business name."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import formats, timezone

from customers.demo.vocabulary import DEMO_USERS
from customers.importing.columns import choice_lookup
from customers.models import Customer
from retention.models import CustomerRisk
from retention.risk.planning import level_for, load_configuration
from surveys.timeline import question_and_answer

from .factories import CustomerFactory, InteractionFactory

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(*names: str, **environment: str) -> subprocess.CompletedProcess:
    """Load crm.settings in a fresh interpreter with exactly this environment (plus PATH)
    and print the named settings, one a line: what `make run`'s processes would see."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm.settings'; "
        "from django.conf import settings; "
        + "; ".join(f"print(settings.{name})" for name in names)
    )
    env = {"PATH": os.environ.get("PATH", ""), "VAR_DIR": os.environ.get("VAR_DIR", "")}
    env = {key: value for key, value in env.items() if value} | environment
    return subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


# --- 1. Links follow HOST and PORT -------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", "8101", "http://127.0.0.1:8101"),
        ("0.0.0.0", "8101", "http://localhost:8101"),  # noqa: S104 (a bind address)
        ("::1", "9000", "http://[::1]:9000"),
    ],
)
def test_site_url_follows_host_and_port(host, port, expected):
    """Given `PORT=8101 make run` (HOST/PORT exported, no SITE_URL), when the settings load,
    then links in emails and copied links point where the server listens."""
    result = settings_in_subprocess("SITE_URL", DEBUG="1", HOST=host, PORT=port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_site_url_set_explicitly_wins_over_host_and_port():
    """Given SITE_URL set (production behind a proxy), then HOST and PORT do not change it."""
    result = settings_in_subprocess(
        "SITE_URL", DEBUG="1", HOST="127.0.0.1", PORT="8101", SITE_URL="https://crm.example.com"
    )
    assert result.stdout.strip() == "https://crm.example.com", result.stderr


def test_site_url_default_is_port_8000():
    """Given nothing set, then links point to the default of `make run`, :8000."""
    result = settings_in_subprocess("SITE_URL", DEBUG="1")
    assert result.stdout.strip() == "http://127.0.0.1:8000", result.stderr


def test_run_dev_exports_host_and_port_before_starting_anything():
    """Given scripts/run-dev.sh, then HOST and PORT are exported (so runserver *and* the
    Celery worker that sends the emails build the same SITE_URL), with their defaults."""
    script = (ROOT / "scripts" / "run-dev.sh").read_text()
    assert re.search(r'^export HOST="\$\{HOST:-127\.0\.0\.1\}"$', script, re.M)
    assert re.search(r'^export PORT="\$\{PORT:-8000\}"$', script, re.M)
    assert script.index("export PORT") < script.index("celery -A crm worker")
    assert re.search(r'^export BUSINESS_NAME="\$\{BUSINESS_NAME:-.+\}"$', script, re.M)


# --- 2. The banner lists every demo login ----------------------------------------------
@pytest.mark.django_db
def test_banner_lists_every_demo_login_including_staff(capsys):
    """Given the demo users, when `make run` prints its banner (manage.py demo_logins),
    then every login is there, the staff one the README promises too."""
    for demo in DEMO_USERS:
        get_user_model().objects.create_user(demo.username, password=demo.username)
    call_command("demo_logins")
    out = capsys.readouterr().out
    for demo in DEMO_USERS:
        assert re.search(rf"\b{demo.username}\s+/ {demo.username}\s+\({demo.role.lower()}\)", out)
    assert "staff" in out and "(staff)" in out
    assert out.count("Log in as:") == 1


@pytest.mark.django_db
def test_banner_without_demo_data_says_how_to_log_in(capsys):
    """Given SKIP_SEED=1 on an empty database, then the banner lists no login that would
    fail and says how to make one."""
    call_command("demo_logins")
    out = capsys.readouterr().out
    assert "createsuperuser" in out and "/ admin" not in out


# --- 4. "At risk" means one thing ------------------------------------------------------
def test_status_is_called_needs_attention_and_old_files_still_import():
    """Given the lifecycle status set by people and imports, then it is labelled "Needs
    attention" (not "At risk", which is the risk level), and a file written with the old
    label "At risk" still imports into it."""
    assert Customer.Status.AT_RISK.label == "Needs attention"
    assert "At risk" not in dict(Customer.Status.choices).values()
    lookup = choice_lookup(Customer.Status.choices)
    assert lookup["at risk"] == lookup["needs attention"] == lookup["at_risk"] == "at_risk"


def risk_for(customer, score, level):
    today = timezone.localdate()
    return CustomerRisk.objects.create(
        customer=customer,
        score=score,
        level=level,
        base=10,
        value=customer.monthly_value,
        expected_loss=0,
        flags=[],
        computed_for=today,
        level_since=today - timedelta(days=2),
    )


@pytest.mark.django_db
def test_at_risk_starts_exactly_at_the_medium_threshold():
    """Given the risk configuration, then a score one point under "medium from" is Low (not
    at risk) and exactly on it Medium (at risk, in the queue)."""
    config = load_configuration()
    assert level_for(config.medium_from - 1, config) == "low"
    assert level_for(config.medium_from, config) == "medium"


@pytest.mark.django_db
def test_every_page_agrees_on_the_meaning(admin_client):
    """Given a customer marked "needs attention" by a person but scored Low, and one
    marked active but scored Medium (exactly on the threshold), then the list and the
    detail page call the first "Needs attention" and never "At risk", and the at-risk
    queue lists the Medium one, not the Low one."""
    config = load_configuration()
    worried = CustomerFactory(name="Worried Low", status=Customer.Status.AT_RISK)
    risk_for(worried, config.medium_from - 1, "low")
    scored = CustomerFactory(name="Scored Medium", status=Customer.Status.ACTIVE)
    risk_for(scored, config.medium_from, "medium")

    listing = admin_client.get(reverse("customers:list")).content.decode()
    detail = admin_client.get(worried.get_absolute_url()).content.decode()
    for html in (listing, detail):
        assert "Needs attention" in html
        assert ">At risk<" not in html
    assert '<option value="at_risk">Needs attention</option>' in listing  # the filter
    queue = admin_client.get(reverse("retention:queue")).content.decode()
    assert "Scored Medium" in queue and "Worried Low" not in queue


# --- 3./6. Customer page: wrapping, Copy button, one date style ------------------------
@pytest.mark.django_db
def test_customer_page_wraps_long_names_and_has_the_loyalty_copy_button(admin_client):
    """Given a customer, then the loyalty card link has a Copy button (ui.js copies the
    input named by data-copy-target) and long words wrap (app.css overflow-wrap)."""
    customer = CustomerFactory(name="X" * 200)
    html = admin_client.get(customer.get_absolute_url()).content.decode()
    assert f'data-copy-target="loyalty-card-link-{customer.pk}"' in html
    assert f'id="loyalty-card-link-{customer.pk}"' in html
    css = (ROOT / "static" / "css" / "app.css").read_text()
    assert "overflow-wrap: anywhere" in css


@pytest.mark.django_db
def test_customer_page_shows_dates_in_one_style(admin_client):
    """Given a customer contacted three days ago, then "Last contact" shows the date in
    the page's short date format (not "3 days ago" beside "01/12/2026")."""
    when = timezone.now() - timedelta(days=3)
    customer = CustomerFactory()
    InteractionFactory(customer=customer, occurred_at=when)
    Customer.objects.filter(pk=customer.pk).update(last_interaction_at=when)
    html = admin_client.get(customer.get_absolute_url()).content.decode()
    expected = formats.date_format(timezone.localtime(when), "SHORT_DATE_FORMAT")
    assert re.search(rf"Last contact</dt><dd[^>]*>{re.escape(expected)}</dd>", html)
    assert "ago" not in html.split('id="timeline"')[0]


# --- 6. Punctuation, favicon, business name --------------------------------------------
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How likely are you to recommend us to a friend or colleague?", "colleague? 9"),
        ("Your plan", "Your plan: 9"),
        ("您會推薦我們嗎？", "嗎？ 9"),
    ],
)
def test_a_question_and_its_answer_without_doubled_punctuation(question, expected):
    """Given a question that ends in "?", then its answer follows without a colon."""
    assert question_and_answer(question, "9").endswith(expected)
    assert "?:" not in question_and_answer(question, "9")


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg_icon(client):
    """Given a browser asking for /favicon.ico, then it is sent to the SVG icon, not a 404."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_business_name_is_required_in_production():
    """Given DEBUG off and no BUSINESS_NAME, then the app refuses to start (no customer
    reads "Our company"); with a name set it starts and uses it."""
    base = {"DEBUG": "0", "SECRET_KEY": "k" * 50}
    refused = settings_in_subprocess("BUSINESS_NAME", **base)
    assert refused.returncode != 0
    assert "BUSINESS_NAME must be set" in refused.stderr
    named = settings_in_subprocess("BUSINESS_NAME", **base, BUSINESS_NAME="Harbour Lane Coffee")
    assert named.returncode == 0, named.stderr
    assert named.stdout.strip() == "Harbour Lane Coffee"
