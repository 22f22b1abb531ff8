"""The audit log records each staff action once, with who, from where and on what, in
the action's own transaction; a refused action records nothing; entries are append-only.

The page, its filters and the retention purge: tests/test_audit_page.py.
"""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from audit.log import client_ip, record
from audit.models import AppendOnlyError, AuditEntry
from customers.models import Customer, ImportJob
from retention.loyalty import ledger, redemption
from retention.loyalty.card import card_url
from retention.models import RiskConfig, WeightSet

from .factories import CustomerFactory, RewardFactory
from .factories_surveys import nps_survey
from .test_api_permissions import api

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"
Action = AuditEntry.Action


def the_entry(action: str) -> AuditEntry:
    """The one entry in the log, which must be for `action`."""
    entries = list(AuditEntry.objects.all())
    assert [entry.action for entry in entries] == [action]
    return entries[0]


def assert_recorded(action: str, user, target=None, *, address: str | None = ADDRESS) -> dict:
    entry = the_entry(action)
    assert (entry.user, entry.username) == (user, user.username if user else "")
    assert entry.ip_address == address
    if target is None:
        assert entry.target_type is None and entry.target_id == ""
    else:
        assert entry.target_type == ContentType.objects.get_for_model(target)
        assert entry.target_id == str(target.pk)
    return entry.details


def client_for(user) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT="Firefox/140 " + "x" * 300)
    client.force_login(user)
    return client


def give(customer, points: int) -> None:
    ledger.points_earn(customer=customer, points=points, reason="Start", source_key="start")


CUSTOMER_FORM = {"preferred_language": "en", "status": "active", "monthly_value": "10"}


# --- Customers ----------------------------------------------------------------------------


def test_creating_a_customer_is_logged_without_their_name_or_email(manager):
    """Given a manager, when they create a customer on the page, then one entry says who
    created which customer from which address, and nothing in it names the customer."""
    form = {**CUSTOMER_FORM, "name": "Grace Hopper", "email": "grace@example.org"}
    response = client_for(manager).post(reverse("customers:create"), form)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert_recorded(Action.CUSTOMER_CREATED, manager, customer)
    entry = AuditEntry.objects.values().get()
    assert "grace" not in str(entry).lower() and "hopper" not in str(entry).lower()
    assert entry["user_agent"].startswith("Firefox/140") and len(entry["user_agent"]) == 200


def test_editing_a_customer_logs_the_changed_fields_not_their_values(manager, customer):
    form = {**CUSTOMER_FORM, "name": "Ada King", "email": customer.email, "owner": manager.pk}
    response = client_for(manager).post(reverse("customers:edit", args=[customer.pk]), form)
    assert response.status_code == 302
    details = assert_recorded(Action.CUSTOMER_CHANGED, manager, customer)
    assert "name" in details["fields"] and "Ada King" not in str(details)


def test_an_invalid_edit_or_another_managers_customer_logs_nothing(manager, others_customer):
    """Given a manager, when they post an invalid form or edit another manager's customer
    (refused), then the log stays empty."""
    client = client_for(manager)
    invalid = client.post(reverse("customers:create"), {**CUSTOMER_FORM, "name": ""})
    form = {**CUSTOMER_FORM, "name": "Taken over", "email": others_customer.email}
    refused = client.post(reverse("customers:edit", args=[others_customer.pk]), form)
    archive = client.post(reverse("customers:archive", args=[others_customer.pk]))
    assert (invalid.status_code, refused.status_code, archive.status_code) == (422, 403, 403)
    assert not AuditEntry.objects.exists()


def test_the_entry_is_written_in_the_changes_transaction(manager, customer, monkeypatch):
    """Given that writing the entry fails, when a manager edits a customer, then the edit
    is rolled back too: no change goes unlogged."""

    def broken(*args, **kwargs):
        raise RuntimeError("audit log down")

    monkeypatch.setattr("customers.views.record", broken)
    form = {**CUSTOMER_FORM, "name": "Ada King", "email": customer.email, "owner": manager.pk}
    client = client_for(manager)
    client.raise_request_exception = False
    assert client.post(reverse("customers:edit", args=[customer.pk]), form).status_code == 500
    customer.refresh_from_db()
    assert customer.name == "Ada Lovelace"


def test_archiving_and_unarchiving_are_logged(manager, customer):
    client = client_for(manager)
    client.post(reverse("customers:archive", args=[customer.pk]))
    assert_recorded(Action.CUSTOMER_ARCHIVED, manager, customer)
    AuditEntry._base_manager.all().delete()
    client.post(reverse("customers:unarchive", args=[customer.pk]))
    assert_recorded(Action.CUSTOMER_UNARCHIVED, manager, customer)


def test_a_merge_logs_the_survivor_and_the_merged_away_id(admin_user):
    keep, drop = CustomerFactory(), CustomerFactory()
    url = reverse("customers:merge", args=[keep.pk, drop.pk])
    assert client_for(admin_user).post(url, {"survivor": keep.pk}).status_code == 302
    details = assert_recorded(Action.CUSTOMER_MERGED, admin_user, keep)
    assert details == {"survivor": keep.pk, "merged": drop.pk}


def test_the_api_writes_are_logged_as_the_pages_are(manager, customer):
    client = api(manager)
    response = client.patch(
        f"/api/v1/customers/{customer.pk}/", {"plan": "Scale"}, format="json", REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 200
    assert assert_recorded(Action.CUSTOMER_CHANGED, manager, customer) == {"fields": ["plan"]}
    refused = client.patch(f"/api/v1/customers/{customer.pk}/", {"email": "x"}, format="json")
    assert refused.status_code == 400
    assert AuditEntry.objects.count() == 1


# --- Exports and imports -----------------------------------------------------------------


def test_each_csv_export_is_logged_with_its_filter_names_and_size(manager, customer):
    client = client_for(manager)
    response = client.get(reverse("customers:export_customers"), {"q": "Ada"})
    assert b"".join(response.streaming_content).count(b"\n") == 2  # header + Ada
    details = assert_recorded(Action.CUSTOMERS_EXPORTED, manager)
    # The filter's name, not its value: a search may be a customer's name.
    assert details == {"export": "customers", "customers": 1, "filters": ["q"]}


def test_the_interactions_survey_and_dashboard_exports_are_logged(admin_user, customer):
    survey = nps_survey()
    client = client_for(admin_user)
    client.get(reverse("customers:export_interactions"))
    client.get(reverse("surveys:export", args=[survey.pk]))
    client.get(reverse("dashboard:table_csv", args=["churn"]))
    entries = list(AuditEntry.objects.order_by("id"))
    assert [entry.details["export"] for entry in entries] == [
        "interactions",
        "survey_answers",
        "dashboard.churn",
    ]
    assert {(entry.action, entry.user, entry.ip_address) for entry in entries} == {
        (Action.CUSTOMERS_EXPORTED, admin_user, ADDRESS)
    }
    assert entries[1].target_id == str(survey.pk)


def test_an_export_with_bad_filters_or_without_the_permission_logs_nothing(manager, staff_user):
    bad = client_for(manager).get(reverse("customers:export_customers"), {"status": "nope"})
    refused = client_for(staff_user).get(reverse("customers:export_customers"))
    assert (bad.status_code, refused.status_code) == (400, 403)
    assert not AuditEntry.objects.exists()


def test_applying_an_import_is_logged_once_with_its_counts(
    manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    upload = SimpleUploadedFile("people.csv", b"name,email\nAda,ada@example.org\n", "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("customers:import"),
            {"target": "customers", "mode": "all_or_nothing", "file": upload},
        )
    job = ImportJob.objects.get()
    assert not AuditEntry.objects.exists()  # uploading and checking are not the import
    apply = reverse("customers:import_apply", args=[job.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(apply)
    client.post(apply)  # a second click: the job is done, nothing asked again
    details = assert_recorded(Action.IMPORT_APPLIED, manager, job)
    assert details == {"job": job.pk, "mode": "all_or_nothing", "rows": 1, "valid": 1, "invalid": 0}


# --- Loyalty ----------------------------------------------------------------------------------


def test_a_points_adjustment_is_logged_without_its_reason(manager, customer):
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    client_for(manager).post(url, {"points": "25", "reason": "Sorry about Ada's parcel"})
    details = assert_recorded(Action.LOYALTY_ADJUSTED, manager, customer)
    assert details["points"] == 25 and "Ada" not in str(details)


def test_a_refused_adjustment_logs_nothing(manager, staff_user, customer):
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    below_zero = client_for(manager).post(url, {"points": "-5", "reason": "Too much"})
    refused = client_for(staff_user).post(url, {"points": "5", "reason": "Mine"})
    assert (below_zero.status_code, refused.status_code) == (422, 403)
    assert not AuditEntry.objects.exists()


def test_the_api_adjustment_and_redemption_are_logged(manager, customer):
    client = api(manager)
    reward = RewardFactory(points_price=30)
    url = f"/api/v1/loyalty/accounts/{customer.pk}/"
    client.post(url + "adjust/", {"points": 40, "reason": "Goodwill"}, format="json")
    client.post(url + "redeem/", {"reward": reward.pk}, format="json", REMOTE_ADDR=ADDRESS)
    client.post(url + "redeem/", {"reward": reward.pk}, format="json")  # 10 left: refused
    adjusted, redeemed = AuditEntry.objects.order_by("id")
    assert (adjusted.action, adjusted.user, adjusted.details["points"]) == (
        Action.LOYALTY_ADJUSTED,
        manager,
        40,
    )
    coupon = customer.coupons.get()
    assert (redeemed.action, redeemed.user, redeemed.ip_address) == (
        Action.LOYALTY_REDEEMED,
        manager,
        ADDRESS,
    )
    assert redeemed.details == {"coupon": coupon.pk, "reward": reward.pk, "step": "reward_redeemed"}


def test_marking_a_coupon_used_is_logged_once(staff_user, customer):
    give(customer, 100)
    coupon = redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=10))
    url = reverse("retention:loyalty_coupon_use", args=[coupon.pk])
    client = client_for(staff_user)
    client.post(url)
    client.post(url)  # already used: refused
    details = assert_recorded(Action.LOYALTY_REDEEMED, staff_user, customer)
    assert details["step"] == "coupon_used" and details["coupon"] == coupon.pk


def test_a_redemption_on_the_customers_card_keeps_no_address(customer):
    """The customer's own action: logged with no staff user and no IP address (theirs
    would be personal data the log must not keep)."""
    give(customer, 100)
    reward = RewardFactory(points_price=10)
    Client(REMOTE_ADDR=ADDRESS).post(card_url(customer), {"reward": reward.pk})
    assert_recorded(Action.LOYALTY_REDEEMED, None, customer, address=None)


# --- Risk and surveys ---------------------------------------------------------------------


def test_applying_risk_weights_is_logged_and_a_manager_cannot(admin_user, manager):
    weight_set = WeightSet.objects.create(
        status=WeightSet.Status.SUGGESTED, intercept=-1.0, weights={"silence": 1.0}
    )
    url = reverse("retention:risk_weights_apply", args=[weight_set.pk])
    assert client_for(manager).post(url).status_code == 403
    assert not AuditEntry.objects.exists()
    client = client_for(admin_user)
    client.post(url)
    client.post(url)  # applied already: refused
    assert_recorded(Action.RISK_WEIGHTS_CHANGED, admin_user, weight_set)


def test_changing_the_risk_thresholds_in_the_django_admin_is_logged(admin_user):
    config = RiskConfig.load()
    url = reverse("admin:retention_riskconfig_change", args=[config.pk])
    form = {"medium_from": 25, "high_from": config.high_from, "horizon_days": config.horizon_days}
    assert client_for(admin_user).post(url, form).status_code == 302
    details = assert_recorded(Action.RISK_WEIGHTS_CHANGED, admin_user, config)
    assert details == {"fields": ["medium_from"]}


def test_sending_a_survey_to_a_segment_is_logged_with_the_count(
    admin_user, manager, django_capture_on_commit_callbacks
):
    survey = nps_survey()
    CustomerFactory.create_batch(2, status="at_risk")
    url = reverse("surveys:send_segment", args=[survey.pk])
    assert client_for(manager).post(url, {"status": "at_risk"}).status_code == 403
    unconfirmed = client_for(admin_user).post(url, {})  # everyone, not confirmed: asks first
    assert unconfirmed.status_code == 200 and not AuditEntry.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin_user).post(url, {"status": "at_risk", "confirm": "1"})
    details = assert_recorded(Action.SURVEY_SENT_TO_SEGMENT, admin_user, survey)
    assert details == {"invitations": 2, "filters": ["status"]}


# --- record() and the entry ---------------------------------------------------------------


def test_the_address_comes_from_the_proxy_only_when_behind_one():
    """X-Forwarded-For is the client's to write: trusted only with BEHIND_TLS_PROXY, and
    then only its last entry (the one our proxy appended)."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4"
    )
    with override_settings(BEHIND_TLS_PROXY=False):
        assert client_ip(request) == "10.0.0.2"
    with override_settings(BEHIND_TLS_PROXY=True):
        assert client_ip(request) == "198.51.100.4"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="not an address")) is None


def test_an_unknown_action_is_refused(admin_user):
    with pytest.raises(ValueError, match="Unknown audit action"):
        record("customer.viewed", user=admin_user)
    assert not AuditEntry.objects.exists()


def test_entries_are_append_only(admin_user, customer):
    """Given an entry, then saving it again, deleting it, or updating or deleting entries
    in bulk all raise, and the entry is unchanged."""
    record(Action.CUSTOMER_CHANGED, user=admin_user, target=customer)
    entry = AuditEntry.objects.get()
    entry.username = "someone_else"
    for attempt in (
        entry.save,
        entry.delete,
        lambda: AuditEntry.objects.update(username="x"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        lambda: AuditEntry.objects.all().delete(),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()
    assert AuditEntry.objects.values_list("username", flat=True).get() == admin_user.username


def test_deleting_a_staff_account_keeps_its_entries_and_name(manager, customer):
    record(Action.CUSTOMER_CHANGED, user=manager, target=customer)
    manager.delete()
    entry = AuditEntry.objects.get()
    assert (entry.user, entry.username) == (None, "mike_manager")


def test_an_entry_is_stamped_now(admin_user):
    record(Action.CUSTOMERS_EXPORTED, user=admin_user)
    assert timezone.now() - AuditEntry.objects.get().at < timedelta(seconds=5)
