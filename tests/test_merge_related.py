"""Merging two customers who both have every kind of related row (issue 17, item 3).

Every unique constraint that includes the customer (one risk snapshot per day, one
points account, one running checklist, one unsubscribe, one usage row per day and
event, one badge of a kind per account) collides here; the merge keeps one row by the
rule written next to each (customers/merging.py, retention/*/merging.py).
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import UniqueConstraint
from django.http import Http404
from django.urls import reverse

from customers import merging, services
from customers.models import Customer, UsageDay
from retention.models import (
    Checklist,
    CustomerBadge,
    CustomerRisk,
    EmailUnsubscribe,
    PointsAccount,
    RiskSnapshot,
)

from .customer_rows import (
    BUILDERS,
    CHILDREN,
    DAY,
    Given,
    build_all,
    models_hanging_off,
    models_pointing_at_customer,
    rows_of,
)
from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Rows a merge drops or adds on purpose, by its rules: one of each colliding pair is
# kept (the rest all add up); the merge writes one note of its own.
DROPPED = {
    "customers.UsageDay": 1,  # same day and event: one row, counts added
    "retention.PointsAccount": 1,  # one account, the entries moved to it
    "retention.CustomerRisk": 1,  # the survivor's current risk
    "retention.RiskSnapshot": 1,  # the survivor's snapshot of the shared night
    "retention.EmailUnsubscribe": 1,  # one unsubscribe, the earlier
    "retention.CustomerBadge": 1,  # the badge both had, once
    "customers.Interaction": -1,  # the note "Merged duplicate record ..."
}
# Derived rows, rebuilt for the survivor from the joined history by the merge.
REBUILT = {"customers.MembershipSpell"}


@pytest.fixture
def pair(admin_user):
    given = Given.make()
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    build_all(survivor, given)
    build_all(duplicate, given)
    return survivor, duplicate


def test_every_model_pointing_at_a_customer_has_a_builder_here():
    """Given the models of every app, then each one with a foreign key or one-to-one to
    Customer is built by this test (a model added later fails until it is), and each
    model hanging off those is counted as a child."""
    assert models_pointing_at_customer() == set(BUILDERS)
    assert models_hanging_off(models_pointing_at_customer()) <= set(CHILDREN)


def test_every_unique_constraint_with_the_customer_has_a_merge_rule():
    """Given the unique constraints that include the customer, then each model holding
    one has a rule saying which row a merge keeps."""
    needing = {model._meta.label for model in merging.models_needing_rules()}
    assert needing == {
        "customers.UsageDay",
        "retention.PointsAccount",
        "retention.CustomerRisk",
        "retention.RiskSnapshot",
        "retention.Checklist",
        "retention.EmailUnsubscribe",
    }
    assert needing <= {model._meta.label for model in merging.registered_rules()}


# Unique columns of those tables that do not include the customer: a moved row keeps its
# value, which was unique before the merge, so none can collide. A new one is added here
# on purpose (and if its value is derived from the customer, it needs a rule instead).
UNIQUE_WITHOUT_THE_CUSTOMER = {
    ("customers.Interaction", ("external_id",)),  # the shop's order number
    ("retention.PointsEntry", ("source_key",)),  # names the customer's own purchase etc.
    ("retention.Coupon", ("code",)),
    ("retention.Coupon", ("entry",)),  # its redemption entry, moved along
    ("retention.OutgoingEmail", ("idempotency_key",)),
    ("retention.OutgoingEmail", ("message_id",)),
    ("surveys.SurveyInvitation", ("token_hash",)),
    ("surveys.SurveyInvitation", ("reminder_token_hash",)),
    ("surveys.SurveyInvitation", ("earlier_token_hash",)),
    ("surveys.SurveyResponse", ("invitation",)),  # its invitation, moved along
}


def test_every_other_unique_column_of_those_tables_is_known_to_keep_its_value():
    """Given the tables pointing at Customer, then each unique column set without the
    customer is one listed above (reviewed: moving rows cannot make it collide)."""
    found = set()
    for field in merging.customer_fields():
        model = field.model
        meta = model._meta
        sets = [(f.name,) for f in meta.concrete_fields if f.unique and not f.primary_key]
        sets += [tuple(names) for names in meta.unique_together]
        sets += [
            tuple(c.fields)
            for c in meta.constraints
            if isinstance(c, UniqueConstraint) and c.fields
        ]
        with_customer = set(merging.customer_unique_sets(model))
        found |= {(meta.label, names) for names in sets if names not in with_customer}
    assert found == UNIQUE_WITHOUT_THE_CUSTOMER


def test_merging_two_customers_with_every_kind_of_row_keeps_one_row_by_each_rule(
    pair, admin_user, django_capture_on_commit_callbacks
):
    """Given two records of one person, both scored the same night, with points, a
    running checklist, an unsubscribe, usage on the same day and every other kind of
    row, when merged, then there is no error, every row is on the survivor (counts
    adding up but for the one row each rule keeps of a pair) and the duplicate is gone."""
    survivor, duplicate = pair
    before_s, before_d = rows_of(survivor.pk), rows_of(duplicate.pk)
    points = {
        pk: PointsAccount.objects.get(customer_id=pk).balance for pk in (survivor.pk, duplicate.pk)
    }
    survivor_risk = CustomerRisk.objects.get(customer=survivor).score
    survivor_snapshot = RiskSnapshot.objects.get(customer=survivor, as_of=DAY).pk
    survivor_checklist = Checklist.objects.get(customer=survivor, status="in_progress").pk
    earlier_unsubscribe = EmailUnsubscribe.objects.get(customer=survivor).unsubscribed_at

    # On-commit work (the ledger reconciliation after an account is deleted) is not run:
    # the merge's own rules must leave every figure right.
    with django_capture_on_commit_callbacks(execute=False):
        services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)

    after = rows_of(survivor.pk)
    for label in before_s:
        if label in REBUILT:
            assert after[label] >= 1, label
            continue
        expected = before_s[label] + before_d[label] - DROPPED.get(label, 0)
        assert after[label] == expected, label
    assert not any(rows_of(duplicate.pk).values())
    assert not Customer.objects.filter(pk=duplicate.pk).exists()

    # The rules, one by one.
    assert UsageDay.objects.get(customer=survivor, day=DAY, event="logged in").count == 6
    account = PointsAccount.objects.get(customer=survivor)
    assert account.balance == points[survivor.pk] + points[duplicate.pk]
    assert CustomerBadge.objects.filter(account=account).count() == 1
    assert CustomerRisk.objects.get(customer=survivor).score == survivor_risk
    assert RiskSnapshot.objects.get(customer=survivor, as_of=DAY).pk == survivor_snapshot
    running = Checklist.objects.filter(customer=survivor, status="in_progress")
    assert list(running.values_list("pk", flat=True)) == [survivor_checklist]
    assert Checklist.objects.filter(customer=survivor, status="cancelled").count() == 1
    assert EmailUnsubscribe.objects.get(customer=survivor).unsubscribed_at == earlier_unsubscribe


def test_the_earlier_unsubscribe_and_the_duplicates_badges_are_kept(pair, admin_user):
    """Given the duplicate unsubscribed first and earned a badge the survivor has not,
    when merged, then the survivor is unsubscribed since then and holds that badge."""
    survivor, duplicate = pair
    EmailUnsubscribe.objects.filter(customer=survivor).update(source="staff")
    first = EmailUnsubscribe.objects.get(customer=duplicate).unsubscribed_at
    EmailUnsubscribe.objects.filter(customer=survivor).update(
        unsubscribed_at=first.replace(year=first.year + 1)
    )
    CustomerBadge.objects.create(
        account=PointsAccount.objects.get(customer=duplicate), kind="one_year"
    )

    services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)

    unsubscribe = EmailUnsubscribe.objects.get(customer=survivor)
    assert (unsubscribe.unsubscribed_at, unsubscribe.source) == (first, "link")
    kinds = CustomerBadge.objects.filter(account__customer=survivor).values_list("kind", flat=True)
    assert sorted(kinds) == ["first_purchase", "one_year"]


def test_a_survivor_without_rows_takes_the_duplicates(admin_user):
    """Given a survivor with nothing and a duplicate with everything, when merged, then
    each of the duplicate's rows is the survivor's (nothing dropped, no collision)."""
    given = Given.make()
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    build_all(duplicate, given)
    before_s, before_d = rows_of(survivor.pk), rows_of(duplicate.pk)

    services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)

    after = rows_of(survivor.pk)
    for label, count in before_d.items():
        if label not in REBUILT:
            note = 1 if label == "customers.Interaction" else 0
            assert after[label] == before_s[label] + count + note, label
    survivor.refresh_from_db()
    assert survivor.onboarding_percent == 0  # the moved running checklist's progress


def test_the_merge_page_merges_two_customers_scored_the_same_night(pair, admin_client):
    """Given two duplicates both scored the same night, when an admin merges them on the
    page, then it redirects to the survivor (no 500) and archiving the removed record
    afterwards is a 404."""
    survivor, duplicate = pair
    response = admin_client.post(
        reverse("customers:merge", args=[survivor.pk, duplicate.pk]), {"survivor": survivor.pk}
    )
    assert response.status_code == 302
    assert response.url == survivor.get_absolute_url()
    archive = admin_client.post(reverse("customers:archive", args=[duplicate.pk]))
    assert archive.status_code == 404


def test_archiving_a_record_a_merge_removed_meanwhile_is_a_404(admin_user):
    """Given a page that loaded a customer, then a merge removed it, when archived, then
    a 404 (not the 500 of saving a row that is gone)."""
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    stale = Customer.objects.get(pk=duplicate.pk)
    services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)
    with pytest.raises(Http404):
        services.customer_archive(customer=stale)


def test_a_merge_failing_in_the_middle_changes_nothing(pair, admin_user, monkeypatch):
    """Given a merge whose last step fails (after every row was moved), then both
    records and all their rows are as they were."""
    survivor, duplicate = pair
    before = rows_of(survivor.pk), rows_of(duplicate.pk)
    balance = PointsAccount.objects.get(customer=survivor).balance

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.membership, "rebuild", fail)
    with pytest.raises(RuntimeError):
        services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)

    assert (rows_of(survivor.pk), rows_of(duplicate.pk)) == before
    assert PointsAccount.objects.get(customer=survivor).balance == balance
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_a_model_needing_a_rule_without_one_stops_the_merge_before_it_writes(
    pair, admin_user, monkeypatch
):
    """Given a related model with a unique constraint on the customer and no rule (one
    added later, say), when merging, then the merge refuses, naming it, and nothing moved."""
    survivor, duplicate = pair
    before = rows_of(duplicate.pk)
    rules = merging.registered_rules()
    rules.pop(RiskSnapshot)
    monkeypatch.setattr(merging, "_rules", rules)
    with pytest.raises(ImproperlyConfigured, match="retention.RiskSnapshot"):
        services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)
    assert rows_of(duplicate.pk) == before
