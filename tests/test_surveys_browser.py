"""A customer answers an NPS survey on a phone, in a real browser."""

import pytest
from playwright.sync_api import expect

from surveys.models import SurveyResponse

from .factories import CustomerFactory
from .factories_surveys import invitation_with_token, nps_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_answer_an_nps_survey_on_a_phone(phone, settings):
    settings.BUSINESS_NAME = "Corner Bakery"
    customer = CustomerFactory(name="Ada Lovelace")
    invitation, token = invitation_with_token(nps_survey(), customer)

    phone.goto(f"/surveys/answer/{token}/")
    expect(phone.get_by_text("Corner Bakery")).to_be_visible()
    question = phone.get_by_role("group", name="How likely are you to recommend us?")
    expect(question).to_be_visible()

    # The page fits the phone: no sideways scrolling, and every score is a big tap target.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for score in ("0", "5", "10"):
        box = question.locator("label", has_text=score).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44

    # Sending without a score shows the error next to the question.
    phone.get_by_role("button", name="Send my answers").click()
    expect(question).to_contain_text("Please choose a number from 0 to 10.")

    # Keyboard: focus the first score, move with the arrow keys, pick 8.
    question = phone.get_by_role("group", name="How likely are you to recommend us?")
    question.get_by_label("0", exact=True).focus()
    for _ in range(8):
        phone.keyboard.press("ArrowRight")
    expect(question.get_by_label("8", exact=True)).to_be_checked()
    phone.get_by_label("Why?").fill("Good bread, long queue")
    phone.get_by_role("button", name="Send my answers").click()

    expect(phone.get_by_test_id("thanks")).to_have_text("Thank you!")
    response = SurveyResponse.objects.get()
    assert (response.customer, response.nps_score) == (customer, 8)
    assert response.answers.filter(text="Good bread, long queue").exists()

    phone.goto(f"/surveys/answer/{token}/")
    expect(phone.get_by_test_id("thanks")).to_contain_text("already answered")
