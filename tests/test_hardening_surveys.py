"""Review findings (issue 17, item 8): a segment send without a filter asks first, the
rate limit's Retry-After is the real wait, filemail:///absolute/path stays absolute."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from surveys import ratelimit
from surveys.models import SurveyInvitation

from .factories import CustomerFactory
from .factories_surveys import invitation_with_token, nps_survey

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


# --- Sending to a segment ------------------------------------------------------------


@pytest.fixture
def survey():
    return nps_survey()


def send_url(survey) -> str:
    return reverse("surveys:send_segment", args=[survey.pk])


def invited() -> int:
    return SurveyInvitation.objects.filter(trigger=SurveyInvitation.Trigger.SEGMENT).count()


def test_sending_without_a_filter_asks_to_confirm_the_number_first(admin_client, survey):
    """Given three customers and no filter chosen, when Send is posted, then nothing is
    sent and the page asks "Yes, invite 3 customers" (every customer, said so)."""
    CustomerFactory.create_batch(3)
    response = admin_client.post(send_url(survey), {})
    assert response.status_code == 200
    assert invited() == 0
    assert 'data-testid="segment-confirm"' in response.text
    assert "Yes, invite 3 customers" in response.text
    assert "No filter is chosen" in response.text


def test_confirming_the_number_sends(admin_client, survey, django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(send_url(survey), {"confirm": "3"})
    assert response.status_code == 302
    assert invited() == 3


@pytest.mark.parametrize("confirm", ["2", "4", "", "³", "99999999999999999999999"])
def test_a_confirmation_for_another_number_sends_nothing(admin_client, survey, confirm):
    """Given a confirmation for 2 customers while 3 would now be invited (one was added
    since the page was shown), then nothing is sent and the page asks again."""
    CustomerFactory.create_batch(3)
    response = admin_client.post(send_url(survey), {"confirm": confirm})
    assert response.status_code == 200
    assert invited() == 0
    assert "Yes, invite 3 customers" in response.text


def test_a_filtered_segment_exactly_at_the_threshold_sends_without_asking(
    admin_client, survey, settings
):
    settings.SURVEY_SEGMENT_CONFIRM_ABOVE = 2
    CustomerFactory.create_batch(2, status="at_risk")
    CustomerFactory(status="active")
    response = admin_client.post(send_url(survey), {"status": "at_risk"})
    assert response.status_code == 302
    assert invited() == 2


def test_a_filtered_segment_above_the_threshold_asks_first(admin_client, survey, settings):
    settings.SURVEY_SEGMENT_CONFIRM_ABOVE = 2
    CustomerFactory.create_batch(3, status="at_risk")
    response = admin_client.post(send_url(survey), {"status": "at_risk"})
    assert invited() == 0
    assert "Yes, invite 3 customers" in response.text
    assert "No filter is chosen" not in response.text
    assert admin_client.post(send_url(survey), {"status": "at_risk", "confirm": "3"})
    assert invited() == 3


def test_the_preview_shows_the_confirmation_box_when_it_will_be_needed(admin_client, survey):
    CustomerFactory.create_batch(2)
    page = admin_client.get(send_url(survey), {"preview": "1"})
    assert 'name="confirm" value="2"' in page.text


# --- Retry-After --------------------------------------------------------------------------


def test_seconds_left_is_the_rest_of_the_fixed_window():
    assert ratelimit.seconds_left(600, now=6000.0) == 600  # a window just began
    assert ratelimit.seconds_left(600, now=6000.5) == 600
    assert ratelimit.seconds_left(600, now=6599.2) == 1
    assert ratelimit.seconds_left(60, now=6030.0) == 30


def test_a_link_over_its_limit_is_told_the_real_wait(client, settings):
    """Given a link refused by its 10-minute window 4 minutes in, then Retry-After says
    the 6 minutes left (it said 60 seconds, and the retry was refused again)."""
    settings.SURVEY_RATE_LIMIT_PER_TOKEN = 1
    _invitation, token = invitation_with_token()
    url = reverse("surveys:answer", args=[token])
    window_start = (int(timezone.now().timestamp()) // 600 + 1) * 600
    with time_machine.travel(window_start + 240, tick=False):
        assert client.get(url).status_code == 200
        response = client.get(url)
    assert response.status_code == 429
    assert response["Retry-After"] == "360"


def test_an_address_over_its_limit_is_told_the_rest_of_its_minute(client, settings):
    settings.SURVEY_RATE_LIMIT_PER_IP = 1
    window_start = (int(timezone.now().timestamp()) // 600 + 1) * 600
    with time_machine.travel(window_start + 45, tick=False):
        client.get(reverse("surveys:answer", args=["guess1"]))
        response = client.get(reverse("surveys:answer", args=["guess2"]))
    assert response.status_code == 429
    assert response["Retry-After"] == "15"


# --- EMAIL_URL=filemail:// ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("filemail:///srv/crm/mail", "/srv/crm/mail"),
        ("filemail://var/outbox", str(ROOT / "var" / "outbox")),
        ("filemail://", "VAR_DIR/mail"),
    ],
)
def test_filemail_keeps_an_absolute_folder_absolute(url, expected, tmp_path):
    """Given EMAIL_URL=filemail:///srv/crm/mail, then emails go to /srv/crm/mail (not to
    srv/crm/mail under whatever folder the process started in)."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DEBUG": "1",
        "EMAIL_URL": url,
        "VAR_DIR": str(tmp_path),
    }
    code = "from django.conf import settings; print(settings.EMAIL_FILE_PATH)"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.replace("VAR_DIR", str(tmp_path))
