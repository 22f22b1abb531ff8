"""The audit log page (admins only, filters, links to the records that still exist, a
fixed number of queries), the read-only Django admin, and the retention purge."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from audit import tasks
from audit.log import record
from audit.models import AuditEntry
from audit.retention import audit_purge_expired
from retention.models import WeightSet

from .factories import CustomerFactory, UserFactory
from .factories_surveys import nps_survey

pytestmark = pytest.mark.django_db

URL = reverse("audit:log")
Action = AuditEntry.Action


def shown(response) -> list[AuditEntry]:
    assert response.status_code == 200
    return list(response.context["entries"])


# --- Who gets in ------------------------------------------------------------------------


def test_only_admins_open_the_audit_log(admin_client, manager_client, staff_client, client):
    """Admins get the page; managers and staff a 403, as the other admin-only pages
    answer; anonymous visitors the login page."""
    assert admin_client.get(URL).status_code == 200
    assert manager_client.get(URL).status_code == 403
    assert staff_client.get(URL).status_code == 403
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_admin_menu_links_to_the_log_for_admins_only(admin_client, manager_client):
    assert URL in admin_client.get(reverse("customers:list")).content.decode()
    assert URL not in manager_client.get(reverse("customers:list")).content.decode()


# --- The list ---------------------------------------------------------------------------------


def test_entries_link_to_their_record_while_it_exists(admin_client, admin_user):
    """Given entries on a customer that exists and one that was deleted, then the first
    links to the customer page and the second says it no longer exists."""
    kept, gone = CustomerFactory(), CustomerFactory()
    record(Action.CUSTOMER_CHANGED, user=admin_user, target=kept, details={"fields": ["plan"]})
    record(Action.CUSTOMER_ARCHIVED, user=admin_user, target=gone)
    gone_id = gone.pk
    gone.delete()

    response = admin_client.get(URL)
    html = response.content.decode()
    rows = {entry.target_id: entry for entry in shown(response)}
    assert rows[str(kept.pk)].target_url == kept.get_absolute_url()
    assert f'<a href="{kept.get_absolute_url()}">Customer #{kept.pk}</a>' in html
    assert rows[str(gone_id)].target is None and rows[str(gone_id)].target_url == ""
    assert f"Customer #{gone_id} <span" in html and "no longer exists" in html
    assert "fields: plan" in html
    assert 'class="table-responsive"' in html  # readable on a phone: the table scrolls


def entries_of_every_kind(user, count: int) -> None:
    """`count` entries on customers, surveys and weight sets, some without a target."""
    survey = nps_survey()
    weight_set = WeightSet.objects.create()
    for number in range(count):
        customer = CustomerFactory()
        record(Action.CUSTOMER_CHANGED, user=user, target=customer)
        record(Action.CUSTOMERS_EXPORTED, user=user, target=survey, details={"n": number})
        record(Action.RISK_WEIGHTS_CHANGED, user=user, target=weight_set)
        record(Action.CUSTOMERS_EXPORTED, user=user, details={"export": "customers"})


def test_the_page_costs_the_same_queries_for_few_entries_as_for_a_full_page(
    admin_client, admin_user, django_assert_max_num_queries
):
    """The targets are looked up in bulk, one query per record type, not per row."""
    entries_of_every_kind(admin_user, 2)
    admin_client.get(URL)  # warm the content-type cache, as a running server has it
    with django_assert_max_num_queries(50) as few:
        admin_client.get(URL)
    entries_of_every_kind(admin_user, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(URL)
    assert len(shown(response)) == 50
    assert response.context["page"].paginator.count == 88
    second = admin_client.get(URL, {"page": 2})
    assert len(shown(second)) == 38


# --- Filters -----------------------------------------------------------------------------


@pytest.fixture
def log(admin_user, manager):
    """Four entries: the manager changed Ada on 1 March, exported on 10 March; the admin
    merged into Ada on 20 March and applied weights on 25 March."""
    ada = CustomerFactory(name="Ada")
    weight_set = WeightSet.objects.create()
    for day, user, action, target, details in [
        (1, manager, Action.CUSTOMER_CHANGED, ada, {"fields": ["plan"]}),
        (10, manager, Action.CUSTOMERS_EXPORTED, None, {"export": "customers"}),
        (20, admin_user, Action.CUSTOMER_MERGED, ada, {"survivor": ada.pk, "merged": 777}),
        (25, admin_user, Action.RISK_WEIGHTS_CHANGED, weight_set, {}),
    ]:
        with time_machine.travel(datetime(2026, 3, day, 12, tzinfo=UTC)):
            record(action, user=user, target=target, details=details)
    return {"ada": ada, "weight_set": weight_set}


def actions(response) -> list[str]:
    return [entry.action for entry in shown(response)]


def test_filter_by_user_action_and_dates(admin_client, manager, log):
    assert actions(admin_client.get(URL, {"user": manager.pk})) == [
        Action.CUSTOMERS_EXPORTED,
        Action.CUSTOMER_CHANGED,
    ]
    assert actions(admin_client.get(URL, {"action": Action.CUSTOMER_MERGED})) == [
        Action.CUSTOMER_MERGED
    ]
    # Both ends included: the 10th and the 20th.
    dates = {"since": "2026-03-10", "until": "2026-03-20"}
    assert actions(admin_client.get(URL, dates)) == [
        Action.CUSTOMER_MERGED,
        Action.CUSTOMERS_EXPORTED,
    ]


def test_filter_by_record_and_search(admin_client, log):
    ada = log["ada"]
    customer_type = admin_client.get(URL).context["filter"].form.fields["target_type"]
    type_id = next(ct.pk for ct in customer_type.queryset if ct.model == "customer")
    by_record = admin_client.get(URL, {"target_type": type_id, "target_id": str(ada.pk)})
    assert actions(by_record) == [Action.CUSTOMER_MERGED, Action.CUSTOMER_CHANGED]
    # The search finds a username, or an id in the details (the merged-away customer).
    assert actions(admin_client.get(URL, {"q": "alice"})) == [
        Action.RISK_WEIGHTS_CHANGED,
        Action.CUSTOMER_MERGED,
    ]
    assert actions(admin_client.get(URL, {"q": "777"})) == [Action.CUSTOMER_MERGED]


def test_a_bad_filter_shows_nothing_and_says_why(admin_client, log):
    response = admin_client.get(URL, {"since": "yesterday", "user": "²"})
    assert shown(response) == []
    assert "Enter a valid date." in response.content.decode()


# --- The Django admin ---------------------------------------------------------------------


def test_the_django_admin_shows_entries_read_only(admin_client, admin_user, customer):
    record(Action.CUSTOMER_CHANGED, user=admin_user, target=customer)
    entry = AuditEntry.objects.get()
    changelist = reverse("admin:audit_auditentry_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    assert admin_client.get(change).status_code == 200  # the view page, no form
    assert admin_client.post(change, {"username": "x"}).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get().username == admin_user.username


# --- Retention ------------------------------------------------------------------------------


def test_the_purge_removes_exactly_the_entries_past_the_retention(admin_user):
    """Given entries 729 days old, exactly 730, and 731 days old (retention 730 days),
    then the purge deletes only the 731-day one, and a second run deletes nothing."""
    now = timezone.now()
    for age in (729, 730, 731):
        with time_machine.travel(now - timedelta(days=age), tick=False):
            record(Action.CUSTOMERS_EXPORTED, user=admin_user, details={"age": age})

    assert audit_purge_expired(now=now) == 1
    assert sorted(AuditEntry.objects.values_list("details__age", flat=True)) == [729, 730]
    assert audit_purge_expired(now=now) == 0


def test_the_nightly_task_purges_in_batches_with_the_configured_retention(admin_user):
    old = timezone.now() - timedelta(days=11)
    with time_machine.travel(old, tick=False):
        for _number in range(5):
            record(Action.CUSTOMERS_EXPORTED, user=admin_user)
    record(Action.CUSTOMERS_EXPORTED, user=admin_user)
    assert audit_purge_expired(batch_size=2) == 0  # the default 730 days keep them
    with override_settings(AUDIT_RETENTION_DAYS=10):
        assert audit_purge_expired(batch_size=2) == 5
        assert tasks.purge_old_entries() == 0  # safe to run twice
    assert AuditEntry.objects.count() == 1
    schedule = settings.CELERY_BEAT_SCHEDULE["purge-audit-log"]
    assert schedule["task"] == "audit.tasks.purge_old_entries"


def test_a_deleted_staff_account_still_shows_by_name(admin_client, customer):
    leaver = UserFactory(username="lee_leaver")
    record(Action.CUSTOMER_CHANGED, user=leaver, target=customer)
    AuditEntry._base_manager.update(user=None)  # what deleting the account does
    html = admin_client.get(URL).content.decode()
    assert "lee_leaver" in html
