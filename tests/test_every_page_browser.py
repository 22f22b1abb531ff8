"""Every page a user can reach, in a real browser, as each role, on a desktop and a phone.

For the admin, an account manager and a staff member (the test personas), the pages are
found the way a person finds them: the links of the navigation in base.html, then the
first link to each kind of detail page on those pages (a customer, an import, a survey,
a checklist template, a reward, an email, ...). Customers' own pages (survey answer,
onboarding, loyalty card, unsubscribe) and the login page are visited without a login.
The data is the demo book (`seed_demo` and the other demo commands, a small one).

Each page, at 1280 and 390 px wide, must show no horizontal overflow, log no console
error, and have no serious or critical axe-core violation. axe-core is the npm package
pinned in tests/browser/ (`make test` installs it). Full-page screenshots go to
test-artifacts/screens/<role>-<width>-<page>.png (ignored by git) for a person to look
through, with report-<role>.txt listing what each page failed.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__tests__/axe.min.js"
SCREENS = ROOT / "test-artifacts" / "screens"
WIDTHS = (1280, 390)
HEIGHT = {1280: 900, 390: 844}

# Pages known to fail, with the reason; the test fails when one of them passes, so the
# entry is removed once its page is fixed. Keys: URL name, or "<URL name>@<width>".
EXPECTED_TO_FIX: dict[str, str] = {}

# Not checked: pages drawn by other projects' templates and scripts (Django's admin,
# the API docs' Swagger UI), downloads (CSV, JSON schema), URLs that only answer a POST.
NOT_PAGES = re.compile(r"^admin:|^api:docs$|csv|export|^api:schema$|^logout$|^set_language$")
# Pages each role must reach (the crawl found them: a role that lost a permission, or a
# menu the crawl no longer reads, shows here rather than as fewer pages checked).
MUST_REACH = {
    "admin": {"home", "customers:list", "customers:import", "retention:queue", "audit:log"},
    "manager": {"home", "customers:list", "retention:queue", "surveys:list", "customers:detail"},
    "staff": {"home", "customers:list", "retention:onboarding", "customers:detail"},
}
# axe impacts that fail the test (minor and moderate ones are left to judgement).
FAILING_IMPACTS = ("serious", "critical")

AXE_RUN = """async (impacts) => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      count: v.nodes.length,
      targets: v.nodes.slice(0, 6).map((n) => n.target.join(" ")),
      first: ((v.nodes[0].any[0] || v.nodes[0].all[0] || v.nodes[0].none[0]) || {}).message,
    }));
}"""


@pytest.fixture
def demo_book(admin_user, manager, staff_user):
    """The demo data, small: 80 customers with a year of history, onboarding checklists,
    loyalty points, survey answers and risk cases; the persona manager takes over the
    demo manager's book, so the pages they see are full."""
    from customers.models import Customer

    shipped_content()
    seed_demo(customers=80)
    Customer.objects.filter(owner__username="manager").update(owner=manager)
    _import_job(admin_user)
    return {"admin": admin_user, "manager": manager, "staff": staff_user}


def shipped_content() -> None:
    """The surveys, email templates and follow-up rules a fresh install ships, made by
    data migrations: an earlier transactional test's flush removed them."""
    import importlib

    from django.apps import apps

    from surveys.models import Survey

    if Survey.objects.exists():
        return
    for module, function in [
        ("surveys.migrations.0002_default_exit_survey", "create_default_surveys"),
        ("surveys.migrations.0006_drop_fr_es_nl_translations", "drop_translations"),
        ("surveys.migrations.0007_default_surveys_de_tr_zh_hant", "add_translations"),
        ("retention.migrations.0004_outbox", "add_starter_templates"),
        ("retention.migrations.0013_languages_en_de_tr_zh_hant", "drop_versions"),
        ("retention.migrations.0014_starter_followups_four_languages", "add_versions"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)


def seed_demo(customers: int) -> None:
    """What `make run` loads on a first start (scripts/run-dev.sh), for fewer customers."""
    call_command("seed_demo", customers=customers, verbosity=0)
    call_command("seed_onboarding", verbosity=0)
    call_command("seed_loyalty", verbosity=0)
    call_command("seed_surveys", verbosity=0)
    call_command("compute_risk", verbosity=0)
    call_command("seed_risk_history", months=3, verbosity=0)
    call_command("rebuild_risk_days", verbosity=0)
    call_command("rebuild_membership", verbosity=0)


def _import_job(user) -> None:
    """Two uploads on the Import page: one imported, one waiting for its column mapping."""
    from django.utils import timezone

    from customers.models import ImportJob

    from .factories import import_job

    content = "name,email\nAda Lovelace,ada@example.org\nGrace Hopper,grace@example.org\n"
    import_job(
        content=content,
        target=ImportJob.Target.CUSTOMERS,
        status=ImportJob.Status.DONE,
        filename="customers-march.csv",
        created_by=user,
        total_rows=2,
        valid_rows=2,
        created_count=2,
        finished_at=timezone.now(),
    )
    import_job(
        content=content,
        target=ImportJob.Target.CUSTOMERS,
        status=ImportJob.Status.MAPPING,
        filename="customers-april.csv",
        created_by=user,
    )


def public_links() -> dict[str, str]:
    """The pages customers open from a link, one of each kind."""
    from customers.models import Customer
    from retention.loyalty import card
    from retention.onboarding import checklists
    from retention.onboarding.models import Checklist
    from retention.outreach.placeholders import unsubscribe_url
    from surveys.models import Survey

    from .factories_surveys import invitation_with_token

    customer = Customer.objects.filter(email__contains="@").order_by("pk").first()
    onboarding = Checklist.objects.select_related("customer").order_by("pk").first()
    survey = Survey.objects.filter(kind=Survey.Kind.NPS).order_by("pk").first()
    _invitation, token = invitation_with_token(survey, customer)
    return {
        "survey-answer": f"/surveys/answer/{token}/",
        "onboarding": urlsplit(checklists.public_link(onboarding.customer)).path,
        "loyalty-card": urlsplit(card.card_url(customer)).path,
        "unsubscribe": urlsplit(unsubscribe_url(customer)).path,
        "login": "/accounts/login/",
        "password-reset": "/accounts/password/reset/",
    }


def url_name(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class Visit:
    """One browser tab of a role at a width: visits pages and says what each one fails."""

    def __init__(self, context, role: str, width: int):
        self.page = context.new_page()
        # axe-core from disk, as a script of the site's own origin: an inline script
        # (add_script_tag(path=...)) is refused by the Content-Security-Policy, which
        # stays on so that a page breaking it logs a console error here.
        self.page.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE))
        self.page.set_default_timeout(15_000)
        self.role, self.width = role, width
        self.errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Requests in flight: the page is checked once the cards and charts htmx loads
        # after it have arrived (quicker than Playwright's "networkidle", 500 ms quiet).
        self.loading: set = set()
        self.page.on("request", lambda request: self.loading.add(request))
        self.page.on("requestfinished", lambda request: self.loading.discard(request))
        self.page.on("requestfailed", lambda request: self.loading.discard(request))

    def settle(self, timeout_ms: int = 5_000) -> None:
        waited = 0
        quiet = 0
        while quiet < 2 and waited < timeout_ms:  # two quiet polls: a swap may fetch again
            self.page.wait_for_timeout(50)
            waited += 50
            quiet = quiet + 1 if not self.loading else 0

    def check(self, name: str, path: str) -> list[str]:
        page = self.page
        self.errors.clear()
        response = page.goto(path)
        problems = []
        if response is None or response.status >= 400:
            problems.append(f"HTTP {response.status if response else '?'}")
        self.settle()
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > self.width:
            problems.append(f"horizontal overflow: {scroll_width} px wide in {self.width} px")
        page.add_script_tag(url=AXE_URL)
        for violation in page.evaluate(AXE_RUN, list(FAILING_IMPACTS)):
            problems.append(
                f"axe {violation['id']} ({violation['impact']}, {violation['count']} nodes: "
                f"{violation['help']}): "
                + " | ".join(violation["targets"])
                + (f" [first: {violation['first']}]" if violation["first"] else "")
            )
        problems += [f"console error: {error}" for error in self.errors]
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENS / f"{self.role}-{self.width}-{slug(name)}.png", full_page=True)
        return problems

    def links(self, selector: str) -> list[str]:
        return self.page.eval_on_selector_all(
            selector, "els => els.map((a) => a.getAttribute('href'))"
        )


def local_pages(hrefs: list[str], known: dict[str, str]) -> dict[str, str]:
    """The first link to each page not in `known`, by URL name (one customer, not all)."""
    found: dict[str, str] = {}
    for href in hrefs:
        if not href or not href.startswith("/") or href.startswith("//"):
            continue
        name = url_name(href)
        if name and name not in known and name not in found and not NOT_PAGES.search(name):
            found[name] = href.split("#")[0]
    return found


def crawl_and_check(visit: Visit) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The navigation's pages, the pages they link to (a sub-list such as the rewards, or
    the first customer), and the first detail page linked from each sub-list."""
    visit.page.goto("/")
    pages = local_pages(visit.links("#main-nav a[href]"), {})
    queue = [(name, path, 0) for name, path in pages.items()]
    results: dict[str, list[str]] = {}
    while queue:
        name, path, depth = queue.pop(0)
        results[name] = visit.check(name, path)
        is_list = not re.search(r"/\d+/", path)
        if depth == 0 or (depth == 1 and is_list):
            hrefs = visit.links("main a[href]")
            if depth == 1:  # from a sub-list, only its detail pages
                hrefs = [href for href in hrefs if re.search(r"/\d+/", href or "")]
            found = local_pages(hrefs, pages)
            pages.update(found)
            queue += [(other, other_path, depth + 1) for other, other_path in found.items()]
    return pages, results


def report(role: str, results: dict[int, dict[str, list[str]]]) -> list[str]:
    """Failures not expected, and expected ones that now pass; report.txt gets them all."""
    lines, unexpected = [], []
    for width, pages in results.items():
        for name, problems in pages.items():
            expected = EXPECTED_TO_FIX.get(f"{name}@{width}") or EXPECTED_TO_FIX.get(name)
            where = f"{role} {width}px {name}"
            if problems:
                lines += [f"{where}: {p}" for p in problems]
                if not expected:
                    unexpected += [f"{where}: {p}" for p in problems]
            elif expected:
                unexpected.append(f"{where}: passes now, remove it from EXPECTED_TO_FIX")
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / f"report-{role}.txt").write_text("\n".join(lines) + "\n")
    return unexpected


@pytest.fixture
def contexts(browser, live_server, settings):
    settings.CUSTOMER_CARDS_LAZY = True  # as shipped: the cards load after the page
    opened = []

    def new(width: int, storage_state=None):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": HEIGHT[width]},
            locale="en-GB",  # date inputs as dd/mm/yyyy, like the pages' dates
            storage_state=storage_state,
        )
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


def test_axe_core_is_installed():
    """make test installs axe-core (npm ci in tests/browser/) before the browser tests."""
    assert AXE.exists(), "axe-core missing: run `npm ci --prefix tests/browser` (make test does)"


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_every_page_of_a_role_works_on_desktop_and_phone(contexts, demo_book, role):
    """Given the demo book, when a `role` user opens every page of the navigation and the
    first detail page of each kind linked there, at 1280 and at 390 px wide, then no
    page scrolls sideways, logs a console error or has a serious or critical axe
    violation."""
    desktop = contexts(1280)
    visit = Visit(desktop, role, 1280)
    log_in(visit.page, demo_book[role].username)
    visit.page.wait_for_url(lambda url: "/accounts/login/" not in url)
    pages, desktop_results = crawl_and_check(visit)
    assert MUST_REACH[role] <= set(pages), f"{role} reached only {sorted(pages)}"

    phone = Visit(contexts(390, storage_state=desktop.storage_state()), role, 390)
    phone_results = {name: phone.check(name, path) for name, path in pages.items()}

    unexpected = report(role, {1280: desktop_results, 390: phone_results})
    assert not unexpected, f"{len(unexpected)} problems:\n" + "\n".join(unexpected)


def test_customers_pages_work_on_desktop_and_phone(contexts, demo_book):
    """Given the demo book, when a customer opens their survey, onboarding, loyalty card
    and unsubscribe links (and anyone the login page), at 1280 and 390 px wide, then no
    page scrolls sideways, logs a console error or has a serious or critical axe
    violation."""
    links = public_links()
    results = {}
    for width in WIDTHS:
        visit = Visit(contexts(width), "public", width)
        results[width] = {name: visit.check(name, path) for name, path in links.items()}
    unexpected = report("public", results)
    assert not unexpected, f"{len(unexpected)} problems:\n" + "\n".join(unexpected)


README_SHOTS = ROOT / "docs" / "screenshots"


@pytest.mark.skipif(
    not __import__("os").environ.get("README_SCREENSHOTS"),
    reason="README_SCREENSHOTS=1 retakes docs/screenshots/ (the README's pictures)",
)
def test_readme_screenshots(contexts):
    """The README's three pictures, as the demo's account manager sees `make run`'s data
    at 1280 px: the dashboard, the at-risk queue and their busiest customer's page."""
    from django.db.models import Count

    from customers.models import Customer

    seed_demo(customers=300)
    customer = (
        Customer.objects.filter(owner__username="manager", status="active")
        .annotate(n=Count("interactions"))
        .order_by("-n")
        .first()
    )
    visit = Visit(contexts(1280), "manager", 1280)
    log_in(visit.page, "manager", "manager")  # the demo login (username = password)
    visit.page.wait_for_url(lambda url: "/accounts/login/" not in url)
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in [
        ("dashboard", "/"),
        ("queue", "/retention/queue/"),
        ("customer", customer.get_absolute_url()),
    ]:
        visit.page.goto(path)
        visit.settle()
        visit.page.screenshot(path=README_SHOTS / f"{name}.png", animations="disabled")
