"""Helpers shared by the follow-up email tests: templates, rules, queued rows."""

import pytest
from django.utils import timezone

from retention.models import EmailTemplate, EmailTemplateTranslation, FollowUpRule, OutgoingEmail


def make_template(name: str = "We miss you", **languages: tuple[str, str]) -> EmailTemplate:
    """make_template(en=("Subject", "Body"), de=("Betreff", "Text"))."""
    template = EmailTemplate.objects.create(name=name)
    languages = languages or {"en": ("Hello {{ first_name }}", "Dear {{ first_name }}, hello.")}
    for language, (subject, body) in languages.items():
        EmailTemplateTranslation.objects.create(
            template=template, language=language, subject=subject, body_text=body
        )
    return template


def make_rule(template: EmailTemplate, **kwargs) -> FollowUpRule:
    kwargs.setdefault("name", f"Rule for {template.name}")
    kwargs.setdefault("trigger", FollowUpRule.Trigger.FLAG)
    kwargs.setdefault("flag_key", "inactivity")
    return FollowUpRule.objects.create(template=template, **kwargs)


def queue_email(customer, template, *, key: str | None = None, **kwargs) -> OutgoingEmail:
    return OutgoingEmail.objects.create(
        customer=customer,
        kind=kwargs.pop("kind", OutgoingEmail.Kind.MANUAL),
        template=template,
        to_email=customer.email,
        idempotency_key=key or f"test:{customer.pk}:{template.pk}:{timezone.now().timestamp()}",
        **kwargs,
    )


@pytest.fixture(autouse=True)
def without_starter_followups(db, settings):
    """The migration adds starter templates and (inactive) rules; tests start from none.
    Quiet hours are off too, so that tests on the real clock pass at night (the tests of
    quiet hours set them). Imported into a test module, this runs for each of its tests."""
    settings.FOLLOWUP_QUIET_HOURS_START = settings.FOLLOWUP_QUIET_HOURS_END = 0
    FollowUpRule.objects.all().delete()
    EmailTemplate.objects.all().delete()
