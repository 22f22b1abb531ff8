"""The Content-Security-Policy: strict, enforced by default, report-only by a setting, and
templates that need no exception (no inline script, event handler or style attribute).

The browser side (no violation on the main pages, the interactive bits still working)
is tests/test_csp_browser.py.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Email bodies: mail clients drop stylesheets, so their HTML carries style attributes.
# They are never served as a page (the previews show them in a sandboxed iframe: see
# customers/csp.py).
EMAIL_TEMPLATES = {
    "retention/outreach/follow_up.html",
    "retention/outreach/risk_notice.html",
}
EMAIL_FOLDERS = ("email/", "emails/", "registration/email/")

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def page_templates() -> list[str]:
    names = []
    for path in sorted(TEMPLATES.rglob("*")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not path.is_file() or path.suffix != ".html":
            continue
        if name in EMAIL_TEMPLATES or any(part in name for part in EMAIL_FOLDERS):
            continue
        names.append(name)
    return names


def test_the_scan_sees_the_templates():
    """A guard for the scan below: it finds the templates (a wrong folder passes all)."""
    names = page_templates()
    assert "base.html" in names
    assert "surveys/results.html" in names
    assert len(names) > 50


@pytest.mark.parametrize("name", page_templates())
def test_no_template_has_inline_script_handler_or_style(name):
    """Every page template: no <script> without src, no on<event>= attribute, no style=""
    (a strict policy refuses them; use static/js/*.js with data- attributes: ui.js)."""
    text = (TEMPLATES / name).read_text()
    found = [
        f"{kind}: {match.group(0).strip()!r} on line {text.count(chr(10), 0, match.start()) + 1}"
        for kind, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("event handler", EVENT_HANDLER),
            ("style attribute", STYLE_ATTRIBUTE),
        )
        for match in pattern.finditer(text)
    ]
    assert not found, (
        f"templates/{name}: {'; '.join(found)}. The Content-Security-Policy refuses these: "
        "move the script to static/js/, use data- attributes (static/js/ui.js) and classes in "
        "static/css/app.css. An email body belongs in an email/ folder."
    )


HANDLERS = "click|dblclick|change|submit|input|focus|blur|load|error|key[a-z]+|mouse[a-z]+"
WIDGET_ATTRIBUTE = re.compile(rf"""["'](style|on(?:{HANDLERS}))["']\s*:""")
PYTHON_ROOTS = ("accounts", "api", "audit", "backups", "crm", "customers", "dashboard")
PYTHON_ROOTS += ("privacy", "retention", "surveys")


def test_no_form_widget_sets_a_style_or_handler_attribute():
    """Forms render attributes too: no widget attrs={"style": ...} or {"onchange": ...}
    in the app's Python (a width is a class in static/css/app.css)."""
    found = []
    for root in PYTHON_ROOTS:
        for path in sorted((Path(settings.BASE_DIR) / root).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            for match in WIDGET_ATTRIBUTE.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(settings.BASE_DIR)}:{line} {match.group(0)}")
    assert not found, f"Refused by the Content-Security-Policy: {found}"


@pytest.mark.django_db
def test_the_policy_is_strict_and_enforced_by_default(admin_client):
    """Given the shipped settings, when a page is served, then it carries the strict policy
    as Content-Security-Policy (enforced), with no report-only header and no unsafe-*."""
    response = admin_client.get(reverse("customers:list"))

    header = response.headers["Content-Security-Policy"]
    assert {part.strip() for part in header.split(";")} == set(POLICY)
    assert "unsafe" not in header
    assert "Content-Security-Policy-Report-Only" not in response.headers


@pytest.mark.django_db
def test_the_login_page_and_the_admin_carry_it_too(client, admin_client):
    assert "script-src 'self'" in client.get(reverse("login")).headers["Content-Security-Policy"]
    admin_page = admin_client.get(reverse("admin:index"))
    assert admin_page.status_code == 200
    assert "script-src 'self'" in admin_page.headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_report_only_sends_the_same_policy_without_enforcing(admin_client, settings):
    """Given CSP_REPORT_ONLY (the settings it produces), then the same policy goes out as
    Content-Security-Policy-Report-Only, with the report-uri when one is set, and
    nothing is enforced."""
    policy = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}}
    policy["DIRECTIVES"]["report-uri"] = ["https://reports.example.com/csp"]
    settings.CONTENT_SECURITY_POLICY = None
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = policy

    response = admin_client.get(reverse("customers:list"))

    assert "Content-Security-Policy" not in response.headers
    header = response.headers["Content-Security-Policy-Report-Only"]
    assert set(POLICY) <= {part.strip() for part in header.split(";")}
    assert "report-uri https://reports.example.com/csp" in header


def settings_from_environment(**variables: str) -> dict:
    """The CSP settings crm/settings.py makes from these environment variables (read in a
    new interpreter: settings are read once, at start)."""
    code = (
        "import json, django.conf as c; s = c.settings; "
        "print(json.dumps([s.CONTENT_SECURITY_POLICY, s.CONTENT_SECURITY_POLICY_REPORT_ONLY]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings_test", **variables}
    out = subprocess.run(  # noqa: S603 (our interpreter, our code)
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    enforced, report_only = json.loads(out.stdout.strip().splitlines()[-1])
    return {"enforced": enforced, "report_only": report_only}


def test_the_environment_switches_between_enforced_and_report_only():
    """CSP_REPORT_ONLY unset: enforced. CSP_REPORT_ONLY=1 (with CSP_REPORT_URI): the same
    directives, report-only, with the report-uri."""
    default = settings_from_environment(CSP_REPORT_ONLY="0")
    assert default["report_only"] is None
    assert default["enforced"]["DIRECTIVES"]["script-src"] == ["'self'"]

    switched = settings_from_environment(
        CSP_REPORT_ONLY="1", CSP_REPORT_URI="https://reports.example.com/csp"
    )
    assert switched["enforced"] is None
    directives = switched["report_only"]["DIRECTIVES"]
    assert directives.pop("report-uri") == ["https://reports.example.com/csp"]
    assert directives == default["enforced"]["DIRECTIVES"]


@pytest.mark.django_db
def test_the_email_previews_allow_style_attributes_and_nothing_else(admin_client):
    """The outbox detail and the email template editor show an email's HTML (inline style
    attributes) in a sandboxed iframe that inherits the page's policy: those pages, and
    only those, add style-src-attr 'unsafe-inline'; scripts stay 'self' only."""
    from retention.models import EmailTemplate, OutgoingEmail

    from .factories import CustomerFactory

    template = EmailTemplate.objects.create(name="Hello")
    email = OutgoingEmail.objects.create(
        customer=CustomerFactory(), kind="manual", to_email="a@example.org", idempotency_key="k"
    )
    for url in (
        reverse("retention:outbox_detail", args=[email.pk]),
        reverse("retention:email_template_edit", args=[template.pk]),
        reverse("retention:email_template_create"),
    ):
        header = admin_client.get(url).headers["Content-Security-Policy"]
        assert "style-src-attr 'unsafe-inline'" in header, url
        assert "script-src 'self';" in header + ";", url
    elsewhere = admin_client.get(reverse("retention:outbox")).headers["Content-Security-Policy"]
    assert "unsafe" not in elsewhere


@pytest.mark.django_db
def test_the_api_docs_page_needs_no_exception(admin_client):
    """The Swagger UI page: its script is served from the page's URL (?script), its styles
    from static files; the strict policy applies unchanged."""
    page = admin_client.get(reverse("api:docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert not INLINE_SCRIPT.search(html) and "<style" not in html
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    script = admin_client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
