"""The content the app ships with reads in each of its languages: the exit and NPS
surveys, the starter follow-up emails, and the demo onboarding checklists and rewards."""

import re

import pytest
from django.conf import settings
from django.core.management import call_command

from retention.loyalty.models import Reward
from retention.onboarding.models import ChecklistTemplate, ChecklistTemplateStep
from retention.outreach.models import EmailTemplate
from surveys.models import Survey

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"\{\{ ?\w+ ?\}\}")


def _shipped_surveys():
    return [Survey.objects.get(kind="exit", name="Exit survey"), Survey.objects.get(kind="nps")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_surveys_have_every_text_in_every_language(language):
    """Given a fresh install, when a customer who reads German, Turkish or Chinese opens
    the exit or NPS survey, then title, intro, thanks, every question and every choice
    are in their language (none left empty, none the English text copied)."""
    for survey in _shipped_surveys():
        for field in ("title", "intro", "thank_you"):
            text = survey.translated(field, language)
            assert text and text != getattr(survey, field), (survey.name, field)
        for question in survey.questions.all():
            assert question.translated("text", language) not in ("", question.text)
            for choice in question.choices.all():
                assert choice.translated("label", language) not in ("", choice.label)


def test_no_survey_keeps_a_dropped_language():
    for survey in _shipped_surveys():
        assert not {"fr", "es", "nl"} & set(survey.translations)


def test_every_starter_follow_up_is_written_in_the_four_languages():
    """Each starter template has an English, German, Turkish and Chinese version with the
    same placeholders as the English one (a renamed {{ first_name }} would print blank)."""
    starters = EmailTemplate.objects.prefetch_related("translations")
    assert starters.count() == 5
    for template in starters:
        versions = {version.language: version for version in template.translations.all()}
        assert set(versions) == {"en", *LANGUAGES}, template.name
        english = versions["en"]
        for language in LANGUAGES:
            version = versions[language]
            for part in ("subject", "body_text"):
                assert sorted(PLACEHOLDER.findall(getattr(version, part))) == sorted(
                    PLACEHOLDER.findall(getattr(english, part))
                ), (template.name, language, part)
            assert version.subject != english.subject


@pytest.mark.parametrize(
    ("language", "template_name", "first_step", "first_reward"),
    [
        ("en", "Standard onboarding", "Welcome call", "10 % off your next order"),
        (
            "de",
            "Standard-Onboarding",
            "Begrüßungsgespräch",
            "10 % Rabatt auf Ihre nächste Bestellung",
        ),
        ("tr", "Standart başlangıç", "Tanışma görüşmesi", "Bir sonraki siparişinizde %10 indirim"),
        ("zh-hant", "標準導入流程", "歡迎通話", "下次訂購享九折"),
    ],
)
def test_the_demo_checklists_and_rewards_are_in_the_business_language(
    settings, language, template_name, first_step, first_reward
):
    """Given BUSINESS_LANGUAGE, when the demo is seeded, then the onboarding checklists
    and the reward catalogue (texts customers read) are written in that language."""
    settings.BUSINESS_LANGUAGE = language
    call_command("seed_onboarding", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_loyalty", stdout=open("/dev/null", "w"))  # noqa: SIM115

    standard = ChecklistTemplate.objects.get(is_default=True)
    assert standard.name == template_name
    steps = ChecklistTemplateStep.objects.filter(template__plan="Enterprise").order_by("position")
    assert steps.count() == 8 and steps.first().title == first_step
    assert all(step.title and step.description for step in steps)
    assert Reward.objects.order_by("points_price").values_list("name", flat=True)[1] == first_reward
