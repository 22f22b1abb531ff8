"""Staff pages for follow-up emails and the public pages an email links to."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from customers.links import make_token
from retention.models import (
    CustomerRisk,
    EmailTemplate,
    EmailUnsubscribe,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)

from .factories import CustomerFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401

pytestmark = pytest.mark.django_db
OUTBOX = reverse("retention:outbox")


@pytest.fixture
def template():
    return make_template("We miss you", en=("Hello {{ first_name }}", "Dear {{ first_name }}"))


@pytest.fixture
def consenting(manager):
    return CustomerFactory(name="Ada Lovelace", owner=manager, marketing_consent=True)


# --- The outbox list and detail ------------------------------------------------------


def test_outbox_lists_filters_and_searches(admin_client, consenting, template):
    sent = queue_email(consenting, template, status="sent", subject="Hello Ada")
    failed = queue_email(
        CustomerFactory(name="Bob Builder"), template, status="failed", last_error="550 no"
    )
    page = admin_client.get(OUTBOX)
    assert list(page.context["page"].object_list) == [failed, sent]
    assert "550 no" in page.content.decode()
    assert list(admin_client.get(OUTBOX, {"status": "failed"}).context["page"]) == [failed]
    assert list(admin_client.get(OUTBOX, {"q": "ada"}).context["page"]) == [sent]
    assert list(admin_client.get(OUTBOX, {"q": "hello ada"}).context["page"]) == [sent]
    assert list(admin_client.get(OUTBOX, {"status": "nonsense"}).context["page"]) == []


def test_outbox_is_paginated_with_a_fixed_query_count(
    admin_client, template, django_assert_max_num_queries
):
    for _ in range(3):
        queue_email(CustomerFactory(), template)
    with django_assert_max_num_queries(12) as few:
        admin_client.get(OUTBOX)
    for _ in range(30):
        queue_email(CustomerFactory(), template)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(OUTBOX)
    assert len(response.context["page"].object_list) == 25
    assert admin_client.get(OUTBOX, {"page": 2}).context["page"].number == 2


def test_detail_shows_what_was_sent_and_a_failed_email_can_be_retried(
    manager_client, consenting, template, django_capture_on_commit_callbacks
):
    email = queue_email(
        consenting, template, status="failed", attempts=5, last_error="SMTPDataError: 554 spam"
    )
    url = reverse("retention:outbox_detail", args=[email.pk])
    page = manager_client.get(url).content.decode()
    assert "554 spam" in page
    assert "Hello Ada" in page  # a preview of what it would send now
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("retention:outbox_retry", args=[email.pk]))
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == "sent"  # queued again and delivered (eager)
    assert mail.outbox[0].subject == "Hello Ada"
    page = manager_client.get(url).content.decode()
    assert "As sent" in page


def test_detail_query_count_is_fixed(
    admin_client, consenting, template, django_assert_max_num_queries
):
    email = queue_email(consenting, template)
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("retention:outbox_detail", args=[email.pk]))


def test_staff_may_read_the_outbox_but_not_retry(staff_client, consenting, template):
    email = queue_email(consenting, template, status="failed")
    assert staff_client.get(OUTBOX).status_code == 200
    assert staff_client.get(reverse("retention:outbox_detail", args=[email.pk])).status_code == 200
    assert staff_client.post(reverse("retention:outbox_retry", args=[email.pk])).status_code == 403
    assert staff_client.get(reverse("retention:email_template_create")).status_code == 403
    assert staff_client.get(reverse("retention:rule_create")).status_code == 403
    url = reverse("retention:send_followup", args=[consenting.pk])
    assert staff_client.get(url).status_code == 403


def test_the_nav_links_the_outbox(staff_client):
    assert f'href="{OUTBOX}"' in staff_client.get(reverse("customers:list")).content.decode()


# --- Templates -------------------------------------------------------------------------


def _template_post(**overrides) -> dict:
    data = {
        "name": "Renewal reminder",
        "description": "",
        "translations-TOTAL_FORMS": "2",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
        "translations-0-language": "en",
        "translations-0-subject": "Your renewal on {{ renewal_date }}",
        "translations-0-body_text": "Hi {{ first_name }}",
        "translations-0-body_html": "",
        "translations-1-language": "de",
        "translations-1-subject": "Ihre Verlängerung",
        "translations-1-body_text": "Hallo {{ first_name }}",
        "translations-1-body_html": "",
    }
    data.update(overrides)
    return data


def test_a_manager_creates_a_template_in_two_languages(manager_client):
    url = reverse("retention:email_template_create")
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(url, _template_post())
    assert response.status_code == 302
    template = EmailTemplate.objects.get(name="Renewal reminder")
    assert sorted(template.translations.values_list("language", flat=True)) == ["de", "en"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"translations-0-body_text": "Hi {{ frist_name }}"}, "Unknown placeholder: frist_name"),
        ({"translations-0-subject": "Hi\r\nBcc: x@example.com"}, "A subject is one line"),
        ({"translations-0-language": "tr"}, "An English version is required"),
        ({"translations-1-language": "en"}, "Please correct the duplicate data for language"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_template_errors_are_shown_and_nothing_typed_is_lost(manager_client, overrides, error):
    data = _template_post(**overrides)
    response = manager_client.post(reverse("retention:email_template_create"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert error in html
    assert "Hallo {{ first_name }}" in html  # the other version is still there
    assert not EmailTemplate.objects.exists()


def test_live_preview_renders_unsaved_text_for_a_chosen_customer(manager_client, consenting):
    consenting.preferred_language = "de"
    consenting.save()
    data = _template_post(prefix="translations-1", preview_customer=consenting.email)
    response = manager_client.post(
        reverse("retention:email_template_preview"), data, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Hallo Ada" in html
    assert "Rendered for Ada Lovelace" in html
    assert "<iframe sandbox" in html  # the HTML part cannot run anything on our page
    missing = manager_client.post(
        reverse("retention:email_template_preview"),
        _template_post(prefix="translations-0", preview_customer="nobody@example.org"),
    )
    assert "No customer found" in missing.content.decode()


def test_templates_list_is_searchable(manager_client, template):
    make_template("Apology")
    page = manager_client.get(reverse("retention:email_templates"), {"q": "miss"})
    assert [t.name for t in page.context["page"]] == ["We miss you"]


# --- Rules ---------------------------------------------------------------------------------


def test_a_manager_creates_and_edits_a_rule(manager_client, template):
    data = {
        "name": "We miss you",
        "trigger": "flag",
        "flag_key": "silence",
        "min_level": "medium",
        "days_after_churn": "60",
        "repeat_after_days": "30",
        "template": str(template.pk),
        "position": "1",
        "active": "on",
    }
    assert manager_client.post(reverse("retention:rule_create"), data).status_code == 302
    rule = FollowUpRule.objects.get()
    assert (rule.flag_key, rule.active, rule.days_overdue) == ("silence", True, 7)
    data["flag_key"] = ""
    response = manager_client.post(reverse("retention:rule_edit", args=[rule.pk]), data)
    assert response.status_code == 422
    assert "Choose the risk flag" in response.content.decode()
    page = manager_client.get(reverse("retention:rules"), {"active": "1"})
    assert list(page.context["page"]) == [rule]
    assert list(manager_client.get(reverse("retention:rules"), {"q": "miss"}).context["page"]) == [
        rule
    ]
    assert (
        list(manager_client.get(reverse("retention:rules"), {"active": "0"}).context["page"]) == []
    )


def rule_data(template, **changes) -> dict:
    data = {
        "name": "Time to reorder?",
        "trigger": "purchase_overdue",
        "flag_key": "",
        "min_level": "medium",
        "days_after_churn": "60",
        "days_overdue": "10",
        "repeat_after_days": "30",
        "template": str(template.pk),
        "position": "2",
        "active": "on",
    }
    return {**data, **changes}


def test_a_purchase_overdue_rule_asks_for_its_days_and_says_what_it_means(manager_client, template):
    url = reverse("retention:rule_create")
    form = manager_client.get(url).content.decode()
    assert 'name="days_overdue"' in form and "Past their usual next purchase" in form
    response = manager_client.post(url, rule_data(template, days_overdue=""))
    assert response.status_code == 422
    assert "Enter the number of days for this trigger." in response.content.decode()
    assert manager_client.post(url, rule_data(template, days_overdue="366")).status_code == 422

    assert manager_client.post(url, rule_data(template)).status_code == 302
    rule = FollowUpRule.objects.get()
    assert (rule.trigger, rule.days_overdue, rule.flag_key) == ("purchase_overdue", 10, "")
    page = manager_client.get(reverse("retention:rules")).content.decode()
    assert "10 days past their usual next purchase" in page


def test_the_rule_list_says_each_trigger_in_words(manager_client, template):
    for trigger, extra in [
        ("purchase_overdue", {"days_overdue": 7}),
        ("purchase_overdue", {"days_overdue": 1}),
        ("flag", {"flag_key": "complaints"}),
        ("win_back", {"days_after_churn": 60}),
        ("level_rise", {"min_level": "high"}),
    ]:
        FollowUpRule.objects.create(name=trigger, trigger=trigger, template=template, **extra)
    page = manager_client.get(reverse("retention:rules")).content.decode()
    for words in (
        "7 days past their usual next purchase",
        "1 day past their usual next purchase",
        "Flagged: Complaints or negative feedback",
        "60 days after churning",
        "Risk rises to High or higher",
    ):
        assert words in page


def test_the_risk_flag_is_chosen_from_the_registered_signals(manager_client, template):
    url = reverse("retention:rule_create")
    form = manager_client.get(url).content.decode()
    assert '<option value="complaints">Complaints or negative feedback</option>' in form
    response = manager_client.post(url, rule_data(template, trigger="flag", flag_key="made_up"))
    assert response.status_code == 422
    assert not FollowUpRule.objects.exists()


def test_a_rule_whose_signal_is_gone_shows_it_and_asks_for_another(manager_client, template):
    """The starter rule "We miss you" was made for the old "inactivity" signal."""
    rule = FollowUpRule.objects.create(
        name="We miss you", trigger="flag", flag_key="inactivity", template=template
    )
    url = reverse("retention:rule_edit", args=[rule.pk])
    form = manager_client.get(url).content.decode()
    assert "inactivity (no longer a risk signal)" in form
    rules = manager_client.get(reverse("retention:rules")).content.decode()
    assert "no longer a risk signal, so it matches nobody" in rules
    response = manager_client.post(url, rule_data(template, trigger="flag", flag_key="inactivity"))
    assert response.status_code == 422
    assert "is no longer a risk signal: choose one from the list." in response.content.decode()
    data = rule_data(template, trigger="flag", flag_key="silence")
    assert manager_client.post(url, data).status_code == 302
    rule.refresh_from_db()
    assert rule.flag_key == "silence"


# --- Sending by hand: customer page and at-risk queue -----------------------------------


def test_send_follow_up_from_the_customer_page(
    manager_client, consenting, template, django_capture_on_commit_callbacks
):
    page = manager_client.get(consenting.get_absolute_url()).content.decode()
    assert "Send follow-up" in page
    url = reverse("retention:send_followup", args=[consenting.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            url, {"template": template.pk, "next": consenting.get_absolute_url()}
        )
    assert response.status_code == 302
    assert response["Location"] == consenting.get_absolute_url()
    email = OutgoingEmail.objects.get()
    assert (email.kind, email.status) == ("manual", "sent")
    assert mail.outbox[0].subject == "Hello Ada"
    page = manager_client.get(consenting.get_absolute_url()).content.decode()
    assert "Hello Ada" in page  # in the card and in the timeline


def test_send_follow_up_refuses_a_customer_without_consent(manager_client, manager, template):
    customer = CustomerFactory(owner=manager, marketing_consent=False)
    page = manager_client.get(customer.get_absolute_url()).content.decode()
    assert "has not given marketing consent" in page
    response = manager_client.post(
        reverse("retention:send_followup", args=[customer.pk]), {"template": template.pk}
    )
    assert response.status_code == 422
    assert "has not given marketing consent" in response.content.decode()
    assert not OutgoingEmail.objects.exists()


def test_another_managers_customer_cannot_get_a_follow_up(manager_client, others_customer):
    url = reverse("retention:send_followup", args=[others_customer.pk])
    assert manager_client.get(url).status_code == 403


def test_the_queue_row_offers_send_follow_up(manager_client, consenting):
    today = timezone.localdate()
    CustomerRisk.objects.create(
        customer=consenting,
        score=70,
        level="high",
        computed_for=today,
        level_since=today - timedelta(days=1),
    )
    # In the opened row (the queue's rows open one at a time).
    html = manager_client.get(reverse("retention:queue"), {"open": consenting.pk}).content.decode()
    assert reverse("retention:send_followup", args=[consenting.pk]) in html


def test_customer_page_query_count_with_emails_is_fixed(
    admin_client, consenting, template, django_assert_max_num_queries
):
    queue_email(consenting, template, status="sent", sent_at=timezone.now(), subject="s")
    with django_assert_max_num_queries(30) as few:
        admin_client.get(consenting.get_absolute_url())
    for _ in range(20):
        queue_email(consenting, template, status="sent", sent_at=timezone.now(), subject="s")
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(consenting.get_absolute_url())


def test_each_staff_member_edits_their_signature(manager_client, manager):
    url = reverse("retention:signature")
    assert manager_client.get(url).status_code == 200
    manager_client.post(url, {"signature": "Mike\nAccount manager"})
    assert StaffProfile.objects.get(user=manager).signature == "Mike\nAccount manager"


# --- Public: unsubscribe ------------------------------------------------------------------


def _unsubscribe_url(customer) -> str:
    return reverse("retention:unsubscribe", args=[make_token("unsubscribe", customer.pk)])


def test_unsubscribe_link_asks_first_then_unsubscribes_on_post(client, consenting, template):
    queued = queue_email(consenting, template)
    url = _unsubscribe_url(consenting)
    page = client.get(url)
    assert page.status_code == 200
    assert "Unsubscribe from our emails?" in page.content.decode()
    assert not EmailUnsubscribe.objects.exists()  # a mail scanner's GET changes nothing
    done = client.post(url)
    assert "You are unsubscribed" in done.content.decode()
    assert EmailUnsubscribe.objects.get().source == "link"
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    assert "already unsubscribed" in client.get(url).content.decode()


def test_unsubscribe_page_needs_a_csrf_token_but_one_click_does_not(consenting):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(_unsubscribe_url(consenting)).status_code == 403
    one_click = reverse(
        "retention:unsubscribe_one_click", args=[make_token("unsubscribe", consenting.pk)]
    )
    response = strict.post(one_click, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert EmailUnsubscribe.objects.get().source == "one_click"
    assert strict.get(one_click).status_code == 405  # only mail programs' POST


def test_unsubscribe_page_speaks_the_customers_language(client, consenting):
    consenting.preferred_language = "de"
    consenting.save()
    assert '<html lang="de">' in client.get(_unsubscribe_url(consenting)).content.decode()


@pytest.mark.parametrize("tamper", ["forged", "open"])
def test_bad_unsubscribe_links_get_the_friendly_page(client, consenting, tamper):
    token = "forged:token" if tamper == "forged" else make_token("open", consenting.pk)
    for url in (
        reverse("retention:unsubscribe", args=[token]),
        reverse("retention:unsubscribe_one_click", args=[token]),
    ):
        response = client.post(url) if "one-click" in url else client.get(url)
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    assert not EmailUnsubscribe.objects.exists()


def test_expired_unsubscribe_link_gets_the_friendly_page(client, settings, consenting):
    import time_machine

    url = _unsubscribe_url(consenting)
    later = timezone.now() + timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS + 1)
    with time_machine.travel(later):
        response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


@pytest.mark.parametrize("route", ["retention:email_templates", "retention:rules"])
def test_template_and_rule_lists_have_a_fixed_query_count(
    manager_client, route, django_assert_max_num_queries
):
    from .outbox_helpers import make_rule

    for i in range(2):
        make_rule(make_template(f"T{i}", en=("s", "b"), de=("s", "b")))
    with django_assert_max_num_queries(12) as few:
        manager_client.get(reverse(route))
    for i in range(2, 30):
        make_rule(make_template(f"T{i}", en=("s", "b"), de=("s", "b")))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager_client.get(reverse(route))
    assert len(response.context["page"].object_list) == 25


def test_a_manual_follow_up_in_quiet_hours_says_when_it_goes_out(
    manager_client, settings, consenting, template
):
    import time_machine

    settings.FOLLOWUP_QUIET_HOURS_START, settings.FOLLOWUP_QUIET_HOURS_END = 20, 8
    night = timezone.now().replace(hour=22, minute=0)
    with time_machine.travel(night, tick=False):
        response = manager_client.post(
            reverse("retention:send_followup", args=[consenting.pk]),
            {"template": template.pk},
            follow=True,
        )
    assert "it goes out at 08:00" in response.content.decode()
    email = OutgoingEmail.objects.get()
    assert (email.status, timezone.localtime(email.next_attempt_at).hour) == ("queued", 8)
