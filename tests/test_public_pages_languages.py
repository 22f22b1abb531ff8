"""The pages customers open from a link speak the customer's language through and
through: the survey (with its errors and thanks), the onboarding page, the loyalty card
and the unsubscribe page, rendered in a real browser for a German, a Turkish and a
Chinese customer, show none of the UI's own English phrases.

The phrases come from the catalogue: every msgid those pages' templates (and the
modules behind them) mark, cut at placeholders and tags. The content the business
writes (survey questions, step titles, reward names) is given in the customer's
language here, so that what is checked is the app's own text.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import polib
import pytest
from playwright.sync_api import expect

from retention.loyalty import card, ledger
from retention.onboarding import checklists
from retention.onboarding.models import ChecklistTemplate, ChecklistTemplateStep
from retention.outreach.placeholders import unsubscribe_url
from surveys.models import Question

from .factories import CustomerFactory, RewardFactory
from .factories_surveys import invitation_with_token, nps_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
# Templates of the pages under test: every phrase they mark is looked for.
PAGE_TEMPLATES = ("templates/public/", "templates/surveys/public/", "templates/_progress.html")
# Modules that word messages for those pages: their phrases of two words or more.
PAGE_MODULES = (
    "surveys/forms.py",
    "surveys/public_views.py",
    "retention/loyalty/views.py",
    "retention/loyalty/card.py",
    "retention/onboarding/views.py",
    "retention/outreach/public_views.py",
    "customers/links.py",
)
# Single words that German or Turkish spell as English does.
SHARED_WORDS = {"Name", "Status", "Team", "Code", "Online", "Feedback", "Link", "Start", "Details"}
PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}|%\(\w+\)[sd]|%[sd]|\{\w+\}|<[^>]+>")

BUSINESS = "Demir & Lin"
# What the business wrote in each language (not the app's text, so not checked).
CONTENT = {
    "de": {
        "title": "Würden Sie uns weiterempfehlen?",
        "question": "Wie wahrscheinlich ist eine Empfehlung?",
        "why": "Warum?",
        "step": "Begrüßungsgespräch",
        "reward": "Kostenloser Versand",
    },
    "tr": {
        "title": "Bizi tavsiye eder misiniz?",
        "question": "Bizi tavsiye etme olasılığınız nedir?",
        "why": "Neden?",
        "step": "Tanışma görüşmesi",
        "reward": "Ücretsiz kargo",
    },
    "zh-hant": {
        "title": "您會推薦我們嗎？",
        "question": "您有多大可能推薦我們？",
        "why": "為什麼？",
        "step": "歡迎通話",
        "reward": "免運費",
    },
}


def english_phrases() -> list[str]:
    """The UI's English phrases on the pages under test, longest first."""
    phrases: set[str] = set()
    for entry in polib.pofile(str(CATALOGUE)):
        places = [path for path, _line in entry.occurrences]
        in_page = any(path.startswith(PAGE_TEMPLATES) for path in places)
        in_module = any(path in PAGE_MODULES for path in places)
        if not (in_page or in_module):
            continue
        for text in filter(None, [entry.msgid, entry.msgid_plural]):
            for fragment in re.split(r"[.:;!?()“”\"„]|" + PLACEHOLDER.pattern, text):
                fragment = re.sub(r"\s+", " ", fragment).strip(" ,-–—·*=0123456789")
                words = re.findall(r"[A-Za-z]{2,}", fragment)
                if not re.fullmatch(r"[A-Za-z' ,-]+", fragment):
                    continue  # not plain English words (a symbol, a code)
                one_word = (
                    in_page
                    and len(words) == 1
                    and len(fragment) >= 4
                    and fragment not in SHARED_WORDS
                )
                if len(words) >= 2 or one_word:
                    phrases.add(fragment)
    return sorted(phrases, key=len, reverse=True)


def english_on(page, phrases: list[str]) -> list[str]:
    text = page.locator("body").inner_text()
    title = page.title()
    return [
        phrase
        for phrase in phrases
        if re.search(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", f"{title}\n{text}")
    ]


def assert_no_english(page, phrases: list[str]) -> None:
    found = english_on(page, phrases)
    assert not found, f"English on {page.url}: {found}"


def test_the_phrase_list_holds_the_pages_strings():
    """The list is built from the catalogue, so it grows with the pages; it holds the
    phrases a reader would notice first."""
    phrases = english_phrases()
    for phrase in ["Send my answers", "Unsubscribe", "not at all likely", "Redeem"]:
        assert phrase in phrases


@pytest.fixture
def visit(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)

    def go(url: str):
        page.goto(urlsplit(url).path)
        return page

    yield go
    context.close()


@pytest.fixture
def customer_in(settings):
    settings.BUSINESS_NAME = BUSINESS

    def make(language: str):
        return CustomerFactory(name="Ada Yılmaz", preferred_language=language)

    return make


@pytest.mark.parametrize("language", list(CONTENT))
def test_the_public_survey_speaks_the_customers_language(visit, customer_in, language):
    """Given a customer who reads `language`, when they open their survey link, send it
    half answered (errors shown) and then complete it (thanks shown), then no page
    shows an English phrase of the UI."""
    texts = CONTENT[language]
    customer = customer_in(language)
    survey = nps_survey(translations={language: {"title": texts["title"]}})
    for question in survey.questions.all():
        key = "question" if question.kind == Question.Kind.SCALE_0_10 else "why"
        question.translations = {language: {"text": texts[key]}}
        question.save(update_fields=["translations"])
    _invitation, token = invitation_with_token(survey, customer)
    phrases = english_phrases()

    page = visit(f"/surveys/answer/{token}/")
    expect(page.get_by_role("heading", name=texts["title"])).to_be_visible()
    assert_no_english(page, phrases)

    page.locator("button[type=submit]").click()
    expect(page.locator("#form-errors")).to_be_visible()
    assert_no_english(page, phrases)

    page.locator(".scale-options label").nth(9).click()
    page.locator("button[type=submit]").click()
    expect(page.locator("form.survey-form")).to_have_count(0)
    assert_no_english(page, phrases)


@pytest.mark.parametrize("language", list(CONTENT))
def test_the_onboarding_page_speaks_the_customers_language(visit, customer_in, language):
    customer = customer_in(language)
    template = ChecklistTemplate.objects.create(name="Start", is_default=True)
    for position, (actor, required) in enumerate([("staff", True), ("customer", False)]):
        ChecklistTemplateStep.objects.create(
            template=template,
            position=position,
            title=f"{CONTENT[language]['step']} {position + 1}",
            actor=actor,
            due_offset_days=3,
            required=required,
        )
    checklists.checklist_start(customer=customer, template=template)

    page = visit(checklists.public_link(customer))
    expect(page.get_by_text(f"{CONTENT[language]['step']} 1")).to_be_visible()
    assert_no_english(page, english_phrases())


@pytest.mark.parametrize("language", list(CONTENT))
def test_the_loyalty_card_speaks_the_customers_language(visit, customer_in, language):
    customer = customer_in(language)
    ledger.points_earn(customer=customer, points=650, reason="—", source_key="welcome")
    RewardFactory(
        name=CONTENT[language]["reward"], kind="free_shipping", value=None, points_price=500
    )
    RewardFactory(
        name=f"{CONTENT[language]['reward']} +", kind="free_month", value=None, points_price=1
    )
    phrases = english_phrases()

    page = visit(card.card_url(customer))
    expect(page.get_by_test_id("card-balance")).to_have_text("650")
    assert_no_english(page, phrases)

    page.locator("form button").first.click()
    expect(page.get_by_test_id("coupon-code")).to_be_visible()
    assert_no_english(page, phrases)


@pytest.mark.parametrize("language", list(CONTENT))
def test_the_unsubscribe_page_speaks_the_customers_language(visit, customer_in, language):
    customer = customer_in(language)
    phrases = english_phrases()

    page = visit(unsubscribe_url(customer))
    expect(page.get_by_test_id("confirm-unsubscribe")).to_be_visible()
    assert_no_english(page, phrases)

    page.get_by_test_id("confirm-unsubscribe").click()
    expect(page.get_by_test_id("unsubscribed")).to_be_visible()
    assert_no_english(page, phrases)
