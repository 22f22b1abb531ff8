"""Rules turn risk into queued follow-ups: triggers, idempotency, caps, consent, quiet hours."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer
from retention.models import (
    CustomerRisk,
    EmailUnsubscribe,
    FollowUpRule,
    Notification,
    OutgoingEmail,
    RiskEvent,
)
from retention.outreach import cadence, followups
from retention.outreach.tasks import queue_followups, sweep_outbox
from retention.risk import scoring
from retention.risk.runs import start_run

from .factories import CustomerFactory, InteractionFactory
from .outbox_helpers import make_rule, make_template, without_starter_followups  # noqa: F401

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
# 10:00 UTC on a weekday: outside the default quiet hours (20:00-08:00).
DAYTIME = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)


def reason(key: str = "silence", *, strength: float = 0.8, contribution: int = 20) -> dict:
    """A stored reason as the nightly job writes it: flagged when strong and adding risk."""
    return {
        "key": key,
        "strength": strength,
        "contribution": contribution,
        "flagged": strength >= 0.5 and contribution > 0,
        "evidence": {},
    }


def flagged(flag: str = "silence", *, reasons: list[dict] | None = None, **kwargs) -> Customer:
    kwargs.setdefault("marketing_consent", True)
    customer = CustomerFactory(**kwargs)
    CustomerRisk.objects.create(
        customer=customer,
        score=50,
        level="medium",
        flags=[reason(flag)] if reasons is None else reasons,
        computed_for=DAYTIME.date(),
        level_since=DAYTIME.date(),
    )
    return customer


def queued_for(customer) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(customer=customer))


@pytest.fixture
def rule():
    return make_rule(make_template("We miss you"), flag_key="silence")


def run(now=DAYTIME) -> int:
    return followups.queue_rule_followups(now=now)


def test_a_flag_rule_queues_one_email_to_each_flagged_customer(rule):
    ada, bob = flagged(), flagged()
    other = flagged("complaints")
    assert run() == 2
    emails = OutgoingEmail.objects.order_by("customer_id")
    assert [e.customer_id for e in emails] == [ada.pk, bob.pk]
    assert {e.kind for e in emails} == {"follow_up"}
    assert emails[0].rule == rule and emails[0].template == rule.template
    assert emails[0].to_email == ada.email
    assert emails[0].message_id.startswith("<") and emails[0].message_id.endswith(">")
    assert not queued_for(other)


def test_running_the_queuing_job_twice_queues_one_email_per_customer(rule):
    customers = [flagged() for _ in range(3)]
    assert run() == 3
    assert run() == 0
    assert run(DAYTIME + timedelta(hours=3)) == 0
    for customer in customers:
        assert len(queued_for(customer)) == 1


def test_the_unique_key_stops_a_duplicate_even_when_the_checks_are_bypassed(rule):
    customer = flagged()
    run()
    key = OutgoingEmail.objects.get().idempotency_key
    OutgoingEmail.objects.bulk_create(
        [OutgoingEmail(customer=customer, kind="follow_up", to_email="x@y.z", idempotency_key=key)],
        ignore_conflicts=True,
    )
    assert OutgoingEmail.objects.count() == 1


def test_no_email_without_consent_an_address_or_after_unsubscribing(rule):
    flagged(marketing_consent=False)
    flagged(email="")
    flagged(archived_at=DAYTIME)
    unsubscribed = flagged()
    EmailUnsubscribe.objects.create(customer=unsubscribed, source="link")
    assert run() == 0


def test_one_follow_up_per_customer_per_run_the_first_rule_wins():
    apology = make_rule(make_template("Apology"), flag_key="complaints", position=1)
    make_rule(make_template("We miss you"), flag_key="silence", position=2)
    customer = flagged(reasons=[reason("silence"), reason("complaints")])
    assert run() == 1
    assert queued_for(customer)[0].rule == apology


def test_cadence_at_most_one_follow_up_every_n_days(settings, rule):
    settings.FOLLOWUP_MIN_DAYS_BETWEEN = 7
    customer = flagged()
    assert run() == 1
    rule.repeat_after_days = 1  # the rule itself would repeat daily
    rule.save()
    assert run(DAYTIME + timedelta(days=3)) == 0  # 3 days later: capped
    assert run(DAYTIME + timedelta(days=8)) == 1  # 8 days later: allowed
    assert len(queued_for(customer)) == 2


def test_cadence_at_most_m_follow_ups_per_month(settings):
    settings.FOLLOWUP_MIN_DAYS_BETWEEN = 1
    settings.FOLLOWUP_MAX_PER_MONTH = 2
    make_rule(make_template("T"), flag_key="silence", repeat_after_days=1)
    customer = flagged()
    queued = [run(DAYTIME + timedelta(days=day)) for day in (0, 2, 4, 6, 31)]
    assert queued == [1, 1, 0, 0, 1]
    assert len(queued_for(customer)) == 3


def test_a_rule_repeats_only_after_its_period(rule):
    rule.repeat_after_days = 30
    rule.save()
    flagged()
    assert [run(DAYTIME + timedelta(days=d)) for d in (0, 10, 29, 31)] == [1, 0, 0, 1]


def test_failed_and_cancelled_emails_do_not_count_against_the_caps(rule):
    customer = flagged()
    run()
    OutgoingEmail.objects.update(status=OutgoingEmail.Status.CANCELLED)
    assert run(DAYTIME + timedelta(days=1)) == 1
    assert len(queued_for(customer)) == 2


def test_emails_due_in_quiet_hours_wait_until_they_end(settings, rule):
    settings.FOLLOWUP_QUIET_HOURS_START, settings.FOLLOWUP_QUIET_HOURS_END = 20, 8
    customer = flagged()
    night = datetime(2026, 5, 12, 2, 15, tzinfo=UTC)  # the nightly run
    run(night)
    assert queued_for(customer)[0].next_attempt_at == datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (19, datetime(2026, 5, 12, 19, 0, tzinfo=UTC)),
        (20, datetime(2026, 5, 13, 8, 0, tzinfo=UTC)),
        (23, datetime(2026, 5, 13, 8, 0, tzinfo=UTC)),
        (7, datetime(2026, 5, 12, 8, 0, tzinfo=UTC)),
        (8, datetime(2026, 5, 12, 8, 0, tzinfo=UTC)),
    ],
)
def test_next_allowed_time_skips_quiet_hours_across_midnight(settings, hour, expected):
    settings.FOLLOWUP_QUIET_HOURS_START, settings.FOLLOWUP_QUIET_HOURS_END = 20, 8
    assert cadence.next_allowed_time(datetime(2026, 5, 12, hour, 0, tzinfo=UTC)) == expected


def test_a_level_rise_rule_writes_to_customers_whose_risk_rose_today():
    rule = make_rule(make_template("Sorry"), trigger="level_rise", min_level="high")
    high, medium, yesterday = (CustomerFactory(marketing_consent=True) for _ in range(3))
    for customer, level, when in (
        (high, "high", DAYTIME),
        (medium, "medium", DAYTIME),
        (yesterday, "high", DAYTIME - timedelta(days=1)),
    ):
        RiskEvent.objects.create(
            customer=customer, kind="level_up", to_level=level, occurred_at=when
        )
    run()
    assert list(OutgoingEmail.objects.values_list("customer_id", "rule_id")) == [(high.pk, rule.pk)]


def test_win_back_writes_n_days_after_churn_once():
    make_rule(make_template("Come back"), trigger="win_back", days_after_churn=60)
    churned = CustomerFactory(
        status="churned", churned_on=DAYTIME.date() - timedelta(days=60), marketing_consent=True
    )
    CustomerFactory(
        status="churned", churned_on=DAYTIME.date() - timedelta(days=30), marketing_consent=True
    )
    assert run() == 1
    assert queued_for(churned)[0].kind == "follow_up"
    # The next nights (still inside the grace window) queue nothing new for this churn.
    assert run(DAYTIME + timedelta(days=1)) == 0


def test_inactive_rules_queue_nothing(rule):
    rule.active = False
    rule.save()
    flagged()
    assert run() == 0


def test_manual_follow_up_respects_consent_but_not_the_caps(manager):
    template = make_template("Check-in")
    customer = CustomerFactory(marketing_consent=True, owner=manager)
    for day in range(3):  # three in three days: above the caps, but a person decided
        email = followups.followup_send_manual(
            customer=customer, template=template, user=manager, now=DAYTIME + timedelta(days=day)
        )
        assert email.created_by == manager and email.kind == "manual"
    with pytest.raises(ValidationError, match="already queued today"):
        followups.followup_send_manual(
            customer=customer, template=template, user=manager, now=DAYTIME
        )
    customer.marketing_consent = False
    customer.save()
    with pytest.raises(ValidationError, match="consent"):
        followups.followup_send_manual(
            customer=customer, template=template, user=manager, now=DAYTIME + timedelta(days=9)
        )


def test_unsubscribing_cancels_queued_follow_ups(rule):
    customer = flagged()
    run()
    assert followups.customer_unsubscribe(customer=customer, source="link") is True
    assert followups.customer_unsubscribe(customer=customer, source="link") is False
    assert queued_for(customer)[0].status == "cancelled"


def test_a_risk_rise_emails_the_account_manager_too(manager, django_capture_on_commit_callbacks):
    customer = CustomerFactory(owner=manager)
    InteractionFactory(customer=customer, kind="cancellation", subject="We are leaving")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scoring.compute_all(timezone.localdate())
    assert callbacks == []  # not sent chunk by chunk: after the run, or by the sweeper
    assert Notification.objects.filter(recipient=manager, customer=customer).exists()
    assert OutgoingEmail.objects.get(kind="staff_notice").status == "queued"
    sweep_outbox()
    notice = OutgoingEmail.objects.get(kind="staff_notice")
    assert (notice.customer, notice.recipient_user, notice.to_email) == (
        customer,
        manager,
        manager.email,
    )
    assert notice.status == "sent"
    assert mail.outbox[0].to == [f"{manager.get_full_name()} <{manager.email}>"]
    assert mail.outbox[0].subject == f"{customer.name} is now at high risk"
    # Re-running the day notifies nobody twice.
    scoring.compute_all(timezone.localdate())
    assert OutgoingEmail.objects.filter(kind="staff_notice").count() == 1


def test_the_nightly_run_queues_and_sends_follow_ups_after_it_finishes(
    django_capture_on_commit_callbacks,
):
    template = make_template("Sorry", en=("We are sorry, {{ first_name }}", "Apologies."))
    make_rule(template, flag_key="complaints")
    with time_machine.travel(DAYTIME, tick=False):
        customer = CustomerFactory(name="Ada Lovelace", marketing_consent=True)
        InteractionFactory(customer=customer, kind="complaint", subject="Late delivery")
        with django_capture_on_commit_callbacks(execute=True):
            start_run()
    email = OutgoingEmail.objects.get(kind="follow_up")
    assert email.status == "sent"
    assert mail.outbox[-1].subject == "We are sorry, Ada"
    # The queuing task is safe to run again.
    with time_machine.travel(DAYTIME, tick=False):
        assert queue_followups(DAYTIME.date().isoformat()) == 0


def test_flag_rules_ignore_churned_customers(rule):
    customer = flagged()
    customer.status = "churned"
    customer.churned_on = date(2026, 1, 1)
    customer.save()
    assert run() == 0


def test_a_flag_rule_ignores_reasons_that_are_not_flagged(rule):
    """Only a strong reason that adds risk is a flag; a weak one, or one that lowers the
    risk, is listed in the reasons but does not trigger the rule."""
    strong = flagged()
    flagged(reasons=[reason("silence", strength=0.3, contribution=4)])  # weak
    flagged(reasons=[reason("silence", strength=0.9, contribution=-3)])  # lowers risk
    flagged(reasons=[reason("complaints"), reason("silence", strength=0.2, contribution=2)])
    assert run() == 1
    assert [email.customer for email in OutgoingEmail.objects.all()] == [strong]


# --- Past their usual next purchase ---------------------------------------------------

PURCHASE_DUE = DAYTIME.date() - timedelta(days=7)  # 7 days overdue on DAYTIME


def buyer(expected_purchase_on=PURCHASE_DUE, **kwargs) -> Customer:
    kwargs.setdefault("marketing_consent", True)
    customer = CustomerFactory(**kwargs)
    CustomerRisk.objects.create(
        customer=customer,
        score=40,
        level="medium",
        expected_purchase_on=expected_purchase_on,
        computed_for=DAYTIME.date(),
        level_since=DAYTIME.date(),
    )
    return customer


@pytest.fixture
def overdue_rule(settings):
    settings.FOLLOWUP_MIN_DAYS_BETWEEN = 1  # only the rule's own key limits it here
    return make_rule(
        make_template("Time to reorder?"),
        trigger=FollowUpRule.Trigger.PURCHASE_OVERDUE,
        flag_key="",
        days_overdue=7,
        repeat_after_days=1,
    )


def test_purchase_overdue_fires_n_days_after_the_expected_purchase_not_the_day_before(
    overdue_rule,
):
    customer = buyer()
    assert run(DAYTIME - timedelta(days=1)) == 0  # 6 days overdue
    assert run() == 1  # 7 days overdue
    email = queued_for(customer)[0]
    assert email.rule == overdue_rule
    assert email.idempotency_key.endswith(f":purchase_due:{PURCHASE_DUE.isoformat()}")


def test_purchase_overdue_writes_once_per_missed_purchase(overdue_rule):
    customer = buyer()
    nights = [run(DAYTIME + timedelta(days=day)) for day in range(10)]
    assert nights == [1] + [0] * 9
    # They bought again, and then missed the next purchase too: a new episode.
    CustomerRisk.objects.filter(customer=customer).update(
        expected_purchase_on=PURCHASE_DUE + timedelta(days=30)
    )
    assert run(DAYTIME + timedelta(days=29)) == 0
    assert run(DAYTIME + timedelta(days=30)) == 1
    assert len(queued_for(customer)) == 2


def test_purchase_overdue_still_finds_customers_after_a_missed_night(overdue_rule):
    buyer()
    assert run(DAYTIME + timedelta(days=3)) == 1


def test_purchase_overdue_leaves_out_churned_archived_and_rhythmless_customers(overdue_rule):
    buyer(status="churned", churned_on=DAYTIME.date() - timedelta(days=2))
    buyer(archived_at=DAYTIME)
    buyer(expected_purchase_on=None)
    CustomerFactory(marketing_consent=True)  # never scored
    assert run() == 0


def test_rule_form_requires_a_flag_for_flag_rules():
    from retention.outreach.forms import FollowUpRuleForm

    template = make_template("T")
    form = FollowUpRuleForm(
        {
            "name": "x",
            "trigger": FollowUpRule.Trigger.FLAG,
            "flag_key": "",
            "min_level": "medium",
            "days_after_churn": 60,
            "repeat_after_days": 30,
            "template": template.pk,
            "position": 1,
            "active": "on",
        }
    )
    assert not form.is_valid()
    assert "flag_key" in form.errors


def test_the_starter_rules_exist_but_send_nothing_until_switched_on():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("retention.migrations.0004_outbox")
    migration.add_starter_templates(apps, None)  # what `migrate` did (this module cleared it)
    flagged()
    assert run() == 0
    rules = FollowUpRule.objects.select_related("template")
    assert {rule.flag_key for rule in rules} >= {"inactivity", "complaints", "renewal_no_contact"}
    assert not any(rule.active for rule in rules)
    assert all(rule.template.translations.filter(language="en").exists() for rule in rules)
