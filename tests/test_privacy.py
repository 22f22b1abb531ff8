"""GDPR: a customer's data as a zip, and erasing a customer (privacy/)."""

import csv
import io
import json
import zipfile
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.urls import reverse
from django.utils import timezone

from api.models import WebhookEndpoint, WebhookMessage
from audit.models import AuditEntry
from customers import membership
from customers.importing import storage
from customers.models import Customer, ImportJob, Interaction
from dashboard import figures
from dashboard.periods import period_containing
from dashboard.scope import EVERYONE
from privacy import export, graph
from privacy.erasure import customer_erase, erased_name
from retention.models import OutgoingEmail
from surveys.models import Answer, SurveyInvitation

from .customer_rows import (
    BUILDERS,
    CHILDREN,
    Given,
    build_all,
    models_pointing_at_customer,
    rows_of,
)
from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

NAME, EMAIL, PHONE = "Zebulon Quixote", "zebulon.quixote@example.net", "+44 20 7946 9911"


@pytest.fixture
def person(admin_user):
    """A customer with every kind of row, their details quoted in free text elsewhere too
    (an import file, an outgoing webhook, the admin's log)."""
    customer = CustomerFactory(
        name=NAME, email=EMAIL, phone=PHONE, address="1 Long Lane", notes=f"Call {PHONE}"
    )
    build_all(customer, Given.make())
    job = ImportJob.objects.create(
        target="customers",
        filename="crm.csv",
        preview=[{"name": NAME, "email": EMAIL}, {"name": "Other Person"}],
        created_by=admin_user,
    )
    storage.store_text(
        job, f"name,email,phone\n{NAME},{EMAIL},{PHONE}\nOther Person,other@example.net,1\n"
    )
    endpoint = WebhookEndpoint.objects.create(name="Shop", url="https://shop.example/hook")
    WebhookMessage.objects.create(
        endpoint=endpoint,
        event="customer.churned",
        payload={"data": {"id": customer.pk, "name": NAME, "email": EMAIL}},
        next_attempt_at=timezone.now(),
    )
    LogEntry.objects.log_actions(
        user_id=admin_user.pk, queryset=[customer], action_flag=CHANGE, change_message="[]"
    )
    return customer


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _export_url(customer) -> str:
    return reverse("privacy:customer_export", args=[customer.pk])


def _erase_url(customer) -> str:
    return reverse("privacy:customer_erase", args=[customer.pk])


# --- Export ---------------------------------------------------------------------------


def test_the_graph_finds_every_table_with_rows_of_a_customer():
    """Given the models of every app, then the export and erasure walk each one that
    points at Customer, and each one hanging off those (a model added later is in)."""
    assert {table.label for table in graph.customer_tables()} == set(BUILDERS) | set(CHILDREN)
    assert models_pointing_at_customer() <= {table.label for table in graph.customer_tables()}


def test_the_export_holds_each_row_of_every_table_that_references_the_customer(
    person, admin_client
):
    """Given a customer with every kind of row, when an admin downloads their data, then
    the zip has a JSON and a CSV file per table, holding exactly that customer's rows."""
    other = CustomerFactory()
    InteractionFactory(customer=other)
    response = admin_client.post(_export_url(person))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"customer-{person.pk}-data.zip" in response["Content-Disposition"]
    archive = _zip(response)
    counts = rows_of(person.pk)
    for table in graph.customer_tables():
        stem = export.file_stem(table)
        rows = json.loads(archive.read(f"{stem}.json"))
        ids = sorted(row[table.model._meta.pk.attname] for row in rows)
        assert ids == sorted(table.rows(person.pk).values_list("pk", flat=True)), stem
        assert len(rows) == counts[table.label] > 0, stem
        lines = list(csv.reader(io.StringIO(archive.read(f"{stem}.csv").decode())))
        assert len(lines) == len(rows) + 1, stem
    profile = json.loads(archive.read("customers/customer.json"))
    assert profile[0]["email"] == EMAIL
    assert "token_hash" not in archive.read("surveys/surveyinvitation.json").decode()


def test_export_cells_that_a_spreadsheet_would_run_are_neutralised(admin_client):
    """Given a customer whose name and an interaction start like formulas, then the
    CSV cells start with a quote (the JSON keeps the text as it is)."""
    customer = CustomerFactory(name='=HYPERLINK("https://evil.example")')
    InteractionFactory(customer=customer, subject="+1 upsell", body="@SUM(A1)")
    archive = _zip(admin_client.post(_export_url(customer)))
    profile = list(csv.DictReader(io.StringIO(archive.read("customers/customer.csv").decode())))
    assert profile[0]["name"].startswith("'=HYPERLINK")
    rows = list(csv.DictReader(io.StringIO(archive.read("customers/interaction.csv").decode())))
    assert (rows[0]["subject"], rows[0]["body"]) == ("'+1 upsell", "'@SUM(A1)")
    assert json.loads(archive.read("customers/customer.json"))[0]["name"].startswith("=")


def test_the_exports_queries_do_not_grow_with_the_rows(admin_client, django_assert_max_num_queries):
    """Given a customer with 5 or with 60 interactions, then the export runs the same
    small number of queries (one per table, rows streamed)."""
    customer = CustomerFactory()
    InteractionFactory.create_batch(5, customer=customer)
    with django_assert_max_num_queries(40) as few:
        _zip(admin_client.post(_export_url(customer)))
    InteractionFactory.create_batch(55, customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        archive = _zip(admin_client.post(_export_url(customer)))
    assert len(json.loads(archive.read("customers/interaction.json"))) == 60


def test_exporting_is_in_the_audit_log(admin_client, admin_user):
    customer = CustomerFactory()
    admin_client.post(_export_url(customer))
    entry = AuditEntry.objects.get(action="customer.data_exported")
    assert (entry.user, entry.target_id) == (admin_user, str(customer.pk))


# --- Erasure --------------------------------------------------------------------------


def _text_values(model) -> list[tuple[str, str]]:
    """Every text, char and JSON value of every row of `model`, as text."""
    fields = [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]
    if not fields:
        return []
    found = []
    for row in model._default_manager.values_list(*[f.attname for f in fields]):
        for field, value in zip(fields, row, strict=True):
            if value:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                found.append((f"{model._meta.label}.{field.name}", text))
    return found


def _places_holding(*needles: str) -> set[str]:
    """Every column of every table in the database (auth, admin log, sessions included)
    holding one of `needles`, case-insensitively."""
    wanted = [needle.lower() for needle in needles]
    return {
        place
        for model in apps.get_models(include_auto_created=True)
        for place, text in _text_values(model)
        if any(needle in text.lower() for needle in wanted)
    }


def test_after_erasure_no_column_of_any_table_holds_their_email_name_or_phone(person, admin_client):
    """Given a customer whose name, email and phone are in their profile, interactions,
    emails, survey answers, risk events, notices, an import file, an outgoing webhook
    and the admin's log, when an admin erases them, then no text, char or JSON column of
    any table holds any of the three (the scan finds them all before)."""
    before = _places_holding(NAME, EMAIL, PHONE)
    assert {
        "customers.Customer.name",
        "customers.Interaction.body",
        "retention.OutgoingEmail.to_email",
        "surveys.Answer.text",
        "customers.ImportJob.preview",
        "customers.ImportFileChunk.text",
        "api.WebhookMessage.payload",
        "admin.LogEntry.object_repr",
    } <= before

    response = admin_client.post(_erase_url(person), {"name": NAME, "understood": "on"})

    assert response.status_code == 302
    assert _places_holding(NAME, EMAIL, PHONE) == set()
    assert _places_holding(PHONE.replace(" ", "")) == set()
    person.refresh_from_db()
    assert person.name == erased_name(person.pk)
    assert (person.email, person.phone, person.address, person.notes) == ("", "", "", "")
    # What others wrote stays, but for their details.
    assert "Other Person,other@example.net" in "".join(storage.iter_chunks(ImportJob.objects.get()))


def test_erasure_keeps_the_figures_and_stops_everything_going_out(person, admin_user):
    """Given an erased customer, then their status, amounts, scores and counts stay,
    their survey links open nothing, and nothing waiting is sent to them."""
    OutgoingEmail.objects.filter(customer=person).update(status="queued")
    SurveyInvitation.objects.filter(customer=person).update(status="pending")
    counts = rows_of(person.pk)
    status = person.status

    customer_erase(customer=person)

    assert rows_of(person.pk) == counts
    person.refresh_from_db()
    assert person.status == status
    purchase = Interaction.objects.get(customer=person, kind="purchase")
    assert purchase.amount == Decimal("120.00")
    assert not SurveyInvitation.objects.filter(customer=person, token_hash__isnull=False)
    invitations = SurveyInvitation.objects.filter(customer=person)
    assert set(invitations.values_list("status", flat=True)) == {"cancelled"}
    emails = OutgoingEmail.objects.filter(customer=person)
    assert set(emails.values_list("status", flat=True)) == {"cancelled"}
    assert Answer.objects.filter(response__customer=person, number=9).exists()


def test_the_dashboard_figures_are_the_same_before_and_after_an_erasure(person):
    """Given a dashboard with a churned customer among others, when one of them is
    erased, then every figure of the dashboard's selectors (gained, lost, churn rates,
    value lost, retention effect, risk, NPS, onboarding, loyalty) is unchanged."""
    today = timezone.localdate()
    lost = CustomerFactory(name="Lost Customer", email="lost@example.net")
    lost.status = Customer.Status.CHURNED
    lost.churned_on = today - timedelta(days=3)
    lost.save()
    InteractionFactory(customer=lost, kind="purchase", amount=Decimal("80"))
    membership.rebuild()
    membership.rebuild_days()
    period = period_containing("quarter", today)

    def figures_now() -> dict:
        collected = asdict(figures.collect(EVERYONE, period, today))
        collected.pop("computed_at")
        collected.pop("membership_built_at")  # when the spells were rebuilt: a time
        return collected

    before = figures_now()
    customer_erase(customer=person)
    customer_erase(customer=lost)
    membership.rebuild()
    membership.rebuild_days()
    assert figures_now() == before
    latest = before["churn"][-1]
    assert latest["lost"] >= 1 and latest["spend_lost"] > 0


def test_the_confirmation_needs_their_name_and_the_tick(person, admin_client):
    """Given the erase page, when the name typed is wrong or the box is not ticked,
    then nothing is erased (422)."""
    page = admin_client.get(_erase_url(person))
    assert page.status_code == 200
    assert b"cannot be undone" in page.content
    wrong = admin_client.post(_erase_url(person), {"name": "Zebulon", "understood": "on"})
    unticked = admin_client.post(_erase_url(person), {"name": NAME})
    assert (wrong.status_code, unticked.status_code) == (422, 422)
    person.refresh_from_db()
    assert person.email == EMAIL
    assert not AuditEntry.objects.filter(action="customer.erased").exists()


def test_erasing_is_in_the_audit_log_with_no_name(person, admin_client, admin_user):
    admin_client.post(_erase_url(person), {"name": NAME, "understood": "on"})
    entry = AuditEntry.objects.get(action="customer.erased")
    assert (entry.user, entry.target_id) == (admin_user, str(person.pk))
    assert NAME not in json.dumps(entry.details)


@pytest.mark.parametrize("persona", ["manager_client", "staff_client"])
def test_managers_and_staff_can_neither_export_nor_erase(request, persona, person):
    """Given an account manager (even the customer's own) or staff, then the privacy
    card is not on the customer page, and the export and erase URLs answer 403 and
    change nothing."""
    client = request.getfixturevalue(persona)
    Customer.objects.filter(pk=person.pk).update(owner=request.getfixturevalue("manager"))
    page = client.get(person.get_absolute_url() + "?cards=all")
    assert page.status_code == 200
    assert b"privacy-card" not in page.content
    assert client.post(_export_url(person)).status_code == 403
    assert client.get(_erase_url(person)).status_code == 403
    erase = client.post(_erase_url(person), {"name": NAME, "understood": "on"})
    assert erase.status_code == 403
    person.refresh_from_db()
    assert person.email == EMAIL
    assert not AuditEntry.objects.filter(action__startswith="customer.").exists()


def test_anonymous_visitors_are_sent_to_the_login(client, person):
    for response in (client.post(_export_url(person)), client.get(_erase_url(person))):
        assert response.status_code == 302
        assert reverse("login") in response.url


def test_admins_see_the_privacy_card_on_the_customer_page(admin_client, person):
    page = admin_client.get(person.get_absolute_url() + "?cards=all")
    assert b"privacy-card" in page.content
    assert _erase_url(person).encode() in page.content


def test_an_unknown_customer_is_a_404(admin_client):
    assert admin_client.post(reverse("privacy:customer_export", args=[999999])).status_code == 404
    assert admin_client.get(reverse("privacy:customer_erase", args=[999999])).status_code == 404


@pytest.mark.parametrize("persona", ["manager_client", "staff_client"])
def test_the_lazy_customer_page_has_no_privacy_placeholder_for_other_roles(
    request, persona, person, settings
):
    """Given the cards loaded after the page (the default), then managers and staff get
    no placeholder for the privacy card, and its card URL is a 404 for them."""
    settings.CUSTOMER_CARDS_LAZY = True
    client = request.getfixturevalue(persona)
    page = client.get(person.get_absolute_url())
    assert b'data-card="privacy"' not in page.content
    assert b'data-card="risk"' in page.content
    card = client.get(reverse("customers:panel", args=[person.pk, "privacy"]))
    assert card.status_code == 404
    admin_page = request.getfixturevalue("admin_client").get(person.get_absolute_url())
    assert b'data-card="privacy"' in admin_page.content


def test_a_name_with_accents_is_swept_from_json_columns_too(admin_user):
    """Given a customer named with accents in an outgoing webhook's payload (which SQLite
    stores with \\u escapes), when erased, then the payload no longer holds the name."""
    customer = CustomerFactory(name="José Núñez", email="jose@example.net")
    endpoint = WebhookEndpoint.objects.create(name="Shop", url="https://shop.example/hook")
    WebhookMessage.objects.create(
        endpoint=endpoint,
        event="customer.churned",
        payload={"data": {"id": customer.pk, "name": "José Núñez"}},
        next_attempt_at=timezone.now(),
    )
    customer_erase(customer=customer)
    assert WebhookMessage.objects.get().payload == {"data": {"id": customer.pk, "name": "[erased]"}}
