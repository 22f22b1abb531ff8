"""Complaints and service requests are open until resolved: who and when, from the timeline,
from an import file, and in the export."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from customers import importing, services
from customers.demo.interactions import InteractionMaker
from customers.models import ImportJob, Interaction

from .conftest import log_in
from .factories import CustomerFactory, InteractionFactory, import_job

pytestmark = pytest.mark.django_db

Kind = Interaction.Kind
HTMX = {"HX-Request": "true"}


def ticket(customer, **fields) -> Interaction:
    fields.setdefault("kind", Kind.COMPLAINT)
    fields.setdefault("subject", "Invoice charged twice")
    fields.setdefault("occurred_at", timezone.now() - timedelta(days=3))
    return InteractionFactory(customer=customer, **fields)


def resolve_url(interaction: Interaction) -> str:
    return reverse("customers:resolve_interaction", args=[interaction.customer_id, interaction.pk])


def reopen_url(interaction: Interaction) -> str:
    return reverse("customers:reopen_interaction", args=[interaction.customer_id, interaction.pk])


# --- The model --------------------------------------------------------------------------


class TestModel:
    def test_only_complaints_and_service_requests_have_a_state(self, customer):
        assert ticket(customer, kind=Kind.COMPLAINT).is_open
        assert ticket(customer, kind=Kind.SERVICE_REQUEST).is_open
        assert not ticket(customer, kind=Kind.CALL).is_open
        assert sorted(Interaction.KINDS_WITH_STATE) == [Kind.COMPLAINT, Kind.SERVICE_REQUEST]

    def test_a_resolved_ticket_is_not_open(self, customer):
        assert not ticket(customer, resolved_at=timezone.now()).is_open

    def test_a_resolution_time_is_refused_on_other_kinds(self, customer):
        interaction = Interaction(
            customer=customer, kind=Kind.CALL, subject="Call", resolved_at=timezone.now()
        )
        with pytest.raises(ValidationError) as error:
            interaction.full_clean()
        assert list(error.value.message_dict) == ["resolved_at"]

    def test_a_ticket_cannot_be_resolved_before_it_occurred(self, customer):
        occurred = timezone.now() - timedelta(days=1)
        interaction = Interaction(
            customer=customer,
            kind=Kind.SERVICE_REQUEST,
            subject="Cannot log in",
            occurred_at=occurred,
            resolved_at=occurred - timedelta(seconds=1),
        )
        with pytest.raises(ValidationError) as error:
            interaction.full_clean()
        assert error.value.message_dict == {
            "resolved_at": ["A ticket cannot be resolved before it occurred."]
        }

    def test_resolved_at_the_moment_it_occurred_is_fine(self, customer):
        occurred = timezone.now() - timedelta(hours=2)
        Interaction(
            customer=customer,
            kind=Kind.COMPLAINT,
            subject="Rude driver",
            occurred_at=occurred,
            resolved_at=occurred,
        ).full_clean()

    def test_a_resolution_in_the_future_is_refused(self, customer):
        interaction = Interaction(
            customer=customer,
            kind=Kind.COMPLAINT,
            subject="Outage",
            resolved_at=timezone.now() + timedelta(days=3),
        )
        with pytest.raises(ValidationError) as error:
            interaction.full_clean()
        assert "resolved_at" in error.value.message_dict


# --- The services -----------------------------------------------------------------------


class TestServices:
    def test_resolve_records_who_and_when(self, customer, manager):
        complaint = ticket(customer)
        with time_machine.travel(datetime(2030, 3, 4, 10, 0, tzinfo=UTC), tick=False):
            services.interaction_resolve(interaction=complaint, by=manager)
        complaint.refresh_from_db()
        assert complaint.resolved_at == datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
        assert complaint.resolved_by == manager
        assert not complaint.is_open

    def test_resolve_at_a_given_moment(self, customer, manager):
        complaint = ticket(customer)
        moment = timezone.now() - timedelta(days=1)
        services.interaction_resolve(interaction=complaint, by=manager, at=moment)
        complaint.refresh_from_db()
        assert complaint.resolved_at == moment

    def test_resolving_a_resolved_ticket_changes_nothing(self, customer, manager, admin_user):
        first = timezone.now() - timedelta(days=1)
        complaint = ticket(customer, resolved_at=first, resolved_by=manager)
        services.interaction_resolve(interaction=complaint, by=admin_user)
        complaint.refresh_from_db()
        assert (complaint.resolved_at, complaint.resolved_by) == (first, manager)

    def test_resolving_before_it_occurred_is_refused_and_nothing_changes(self, customer, manager):
        complaint = ticket(customer)
        with pytest.raises(ValidationError):
            services.interaction_resolve(
                interaction=complaint, by=manager, at=complaint.occurred_at - timedelta(days=1)
            )
        complaint.refresh_from_db()
        assert complaint.is_open and complaint.resolved_by is None

    def test_reopen_clears_the_resolution(self, customer, manager):
        complaint = ticket(customer, resolved_at=timezone.now(), resolved_by=manager)
        services.interaction_reopen(interaction=complaint, by=manager)
        complaint.refresh_from_db()
        assert complaint.is_open
        assert complaint.resolved_by is None

    @pytest.mark.parametrize("action", ["resolve", "reopen"])
    def test_kinds_without_a_state_are_refused(self, customer, manager, action):
        call = InteractionFactory(customer=customer, kind=Kind.CALL)
        service = getattr(services, f"interaction_{action}")
        with pytest.raises(ValidationError):
            service(interaction=call, by=manager)
        call.refresh_from_db()
        assert call.resolved_at is None and call.resolved_by is None


# --- From the customer page -------------------------------------------------------------


class TestCustomerPage:
    def test_an_open_ticket_shows_since_when_and_a_resolve_button(self, manager_client, customer):
        complaint = ticket(customer, occurred_at=timezone.now() - timedelta(days=12))
        html = manager_client.get(customer.get_absolute_url()).content.decode()
        assert 'data-state="open"' in html
        assert "Open since" in html
        assert "(12 days)" in html
        assert f'action="{resolve_url(complaint)}"' in html

    def test_one_day_is_singular(self, manager_client, customer):
        ticket(customer, occurred_at=timezone.now() - timedelta(days=1, hours=1))
        assert "(1 day)" in manager_client.get(customer.get_absolute_url()).content.decode()

    def test_other_kinds_have_no_state_and_no_button(self, manager_client, customer):
        call = InteractionFactory(customer=customer, kind=Kind.CALL)
        html = manager_client.get(customer.get_absolute_url()).content.decode()
        assert "data-state" not in html
        assert resolve_url(call) not in html

    def test_resolve_with_htmx_returns_the_entry(self, manager_client, manager, customer):
        complaint = ticket(customer)
        manager.first_name, manager.last_name = "Mike", "Manager"
        manager.save()

        response = manager_client.post(resolve_url(complaint), headers=HTMX)

        assert response.status_code == 200
        html = response.content.decode()
        assert html.strip().startswith("<li")
        assert f'id="timeline-interaction-{complaint.pk}"' in html
        assert 'data-state="resolved"' in html
        assert "by Mike Manager" in html
        assert f'action="{reopen_url(complaint)}"' in html
        complaint.refresh_from_db()
        assert complaint.resolved_by == manager
        assert abs(complaint.resolved_at - timezone.now()) < timedelta(minutes=1)

    def test_resolve_without_javascript_redirects_with_a_message(self, manager_client, customer):
        complaint = ticket(customer)

        response = manager_client.post(resolve_url(complaint), follow=True)

        assert response.redirect_chain[-1][0] == (
            f"{customer.get_absolute_url()}#timeline-interaction-{complaint.pk}"
        )
        html = response.content.decode()
        assert "Resolved: Complaint: Invoice charged twice" in html
        assert 'data-state="resolved"' in html
        complaint.refresh_from_db()
        assert not complaint.is_open

    def test_reopen_with_htmx_and_without(self, manager_client, manager, customer):
        complaint = ticket(customer, resolved_at=timezone.now(), resolved_by=manager)
        response = manager_client.post(reopen_url(complaint), headers=HTMX)
        assert response.status_code == 200
        assert 'data-state="open"' in response.content.decode()
        complaint.refresh_from_db()
        assert complaint.is_open

        services.interaction_resolve(interaction=complaint, by=manager)
        response = manager_client.post(reopen_url(complaint))
        assert response.status_code == 302
        complaint.refresh_from_db()
        assert complaint.is_open and complaint.resolved_by is None

    def test_admin_resolves_any_customers_ticket(self, admin_client, admin_user, others_customer):
        complaint = ticket(others_customer)
        assert admin_client.post(resolve_url(complaint)).status_code == 302
        complaint.refresh_from_db()
        assert complaint.resolved_by == admin_user

    def test_another_managers_customer_is_refused_and_nothing_changes(
        self, manager_client, others_customer
    ):
        """As every other change to someone else's customer: 403 (see customers/access.py)."""
        complaint = ticket(others_customer)
        assert manager_client.post(resolve_url(complaint)).status_code == 403
        assert manager_client.post(resolve_url(complaint), headers=HTMX).status_code == 403
        complaint.refresh_from_db()
        assert complaint.is_open

    def test_an_interaction_of_another_customer_is_404(self, manager_client, customer):
        """The ticket must belong to the customer in the URL (which the manager may change)."""
        elsewhere = ticket(CustomerFactory(owner=None))
        url = reverse("customers:resolve_interaction", args=[customer.pk, elsewhere.pk])
        assert manager_client.post(url).status_code == 404
        elsewhere.refresh_from_db()
        assert elsewhere.is_open

    def test_staff_sees_the_state_but_has_no_button_and_cannot_resolve(
        self, staff_client, customer
    ):
        complaint = ticket(customer)
        html = staff_client.get(customer.get_absolute_url()).content.decode()
        assert "Open since" in html
        assert resolve_url(complaint) not in html
        assert staff_client.post(resolve_url(complaint)).status_code == 403
        complaint.refresh_from_db()
        assert complaint.is_open

    def test_get_is_not_allowed(self, manager_client, customer):
        assert manager_client.get(resolve_url(ticket(customer))).status_code == 405

    def test_a_kind_without_state_is_refused_and_nothing_changes(self, manager_client, customer):
        call = InteractionFactory(customer=customer, kind=Kind.PURCHASE, amount=10)

        response = manager_client.post(resolve_url(call), headers=HTMX)
        assert response.status_code == 422
        assert "Only complaints and service requests can be resolved." in (
            response.content.decode()
        )

        response = manager_client.post(resolve_url(call), follow=True)
        assert "Only complaints and service requests can be resolved." in (
            response.content.decode()
        )
        call.refresh_from_db()
        assert call.resolved_at is None and call.resolved_by is None

    def test_older_timeline_pages_offer_the_button_too(self, manager_client, customer, settings):
        settings.TIMELINE_PAGE_SIZE = 1
        old = ticket(customer, occurred_at=timezone.now() - timedelta(days=30))
        InteractionFactory(customer=customer)
        page = manager_client.get(customer.get_absolute_url()).context["timeline"]
        url = reverse("customers:timeline", args=[customer.pk])
        params = page.next_cursor.as_params()
        html = manager_client.get(url, params, headers=HTMX).content.decode()
        assert f'action="{resolve_url(old)}"' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_resolve_and_reopen_in_place_in_a_browser(page, manager, customer):
    complaint = ticket(customer, occurred_at=timezone.now() - timedelta(days=4))
    log_in(page, manager.username)
    page.goto(customer.get_absolute_url())
    entry = page.locator(f"#timeline-interaction-{complaint.pk}")
    expect(entry).to_contain_text("Open since")
    expect(entry).to_contain_text("(4 days)")

    entry.get_by_role("button", name="Resolve").click()
    expect(entry).to_have_attribute("data-state", "resolved")
    expect(entry).to_contain_text(f"by {manager.get_full_name()}")
    complaint.refresh_from_db()
    assert complaint.resolved_by == manager

    entry.get_by_role("button", name="Reopen").click()
    expect(entry).to_have_attribute("data-state", "open")
    expect(page.locator(".alert-success")).to_have_count(0)  # swapped in place, no reload
    complaint.refresh_from_db()
    assert complaint.is_open


# --- Import and export ------------------------------------------------------------------

HEADER = "customer_email,kind,subject,occurred_at,resolved_at"


def validated(user, content: str) -> ImportJob:
    job = import_job(
        target=ImportJob.Target.INTERACTIONS, filename="t.csv", content=content, created_by=user
    )
    return importing.validate_import(job)


def errors_of(job: ImportJob) -> list[tuple]:
    return [(error["row"], error["field"], error["message"]) for error in job.errors]


class TestImport:
    def test_tickets_carry_their_state(self, manager, customer):
        content = (
            f"{HEADER}\n"
            "ada@example.org,complaint,Charged twice,2024-05-01T10:00:00+00:00,"
            "2024-05-03T09:00:00+00:00\n"
            "ada@example.org,service_request,Cannot log in,2024-05-02T10:00:00+00:00,\n"
            "ada@example.org,call,Check-in,2024-05-02T11:00:00+00:00,\n"
        )
        job = validated(manager, content)
        assert job.status == ImportJob.Status.VALIDATED, job.errors
        importing.apply_import(job)

        complaint = customer.interactions.get(kind=Kind.COMPLAINT)
        assert complaint.resolved_at == datetime(2024, 5, 3, 9, 0, tzinfo=UTC)
        assert complaint.resolved_by is None
        assert customer.interactions.get(kind=Kind.SERVICE_REQUEST).is_open
        assert customer.interactions.get(kind=Kind.CALL).resolved_at is None

    def test_a_naive_resolution_time_is_in_the_crm_time_zone(self, manager, customer, settings):
        settings.TIME_ZONE = "Europe/Berlin"
        content = f"{HEADER}\nada@example.org,complaint,Late,2024-01-15 09:00,2024-01-15 12:00\n"
        importing.apply_import(validated(manager, content))
        resolved = Interaction.objects.get().resolved_at
        assert resolved == datetime(2024, 1, 15, 11, 0, tzinfo=UTC)

    def test_bad_resolution_times_are_row_errors(self, manager, customer):
        future = (timezone.now() + timedelta(days=3)).isoformat()
        content = (
            "customer_email,kind,subject,amount,occurred_at,resolved_at\n"
            "ada@example.org,purchase,Bought,9.00,2024-05-01T10:00:00Z,2024-05-02T10:00:00Z\n"
            "ada@example.org,complaint,Early,,2024-05-01T10:00:00Z,2024-04-30T10:00:00Z\n"
            f"ada@example.org,complaint,Later,,2024-05-01T10:00:00Z,{future}\n"
            "ada@example.org,complaint,Garbled,,2024-05-01T10:00:00Z,last week\n"
            "ada@example.org,complaint,Fine,,2024-05-01T10:00:00Z,2024-05-01T12:00:00Z\n"
        )
        job = validated(manager, content)
        errors = errors_of(job)
        assert (2, "resolved_at", "Only complaints and service requests can be resolved.") in (
            errors
        )
        assert (3, "resolved_at", "A ticket cannot be resolved before it occurred.") in errors
        assert (4, "resolved_at", "A resolution cannot be in the future.") in errors
        garbled = [error for error in errors if error[0] == 5]
        assert [error[1] for error in garbled] == ["resolved_at"]
        assert "“last week” is not a date" in garbled[0][2]
        assert (job.valid_rows, job.error_rows) == (1, 4)

    def test_the_upload_page_describes_the_column(self, manager_client):
        html = manager_client.get(reverse("customers:import")).content.decode()
        assert "resolved_at" in html


class TestExport:
    def test_the_interactions_export_has_the_resolution_time(self, manager_client, customer):
        resolved = datetime(2024, 5, 3, 9, 0, tzinfo=UTC)
        ticket(customer, occurred_at=resolved - timedelta(days=2), resolved_at=resolved)
        InteractionFactory(customer=customer, occurred_at=resolved)

        response = manager_client.get(reverse("customers:export_interactions"))
        text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text)))

        assert list(rows[0])[-2:] == ["occurred_at", "resolved_at"]
        assert rows[0]["resolved_at"] == timezone.localtime(resolved).isoformat()
        assert rows[1]["resolved_at"] == ""


# --- Demo data --------------------------------------------------------------------------


def test_demo_tickets_are_mostly_resolved_days_later_and_deterministic(manager):
    until = datetime(2030, 6, 1, tzinfo=UTC)
    customer = CustomerFactory(owner=manager, created_at=until - timedelta(days=400))
    customer.customer_since = None

    def made(seed: int) -> list[Interaction]:
        maker = InteractionMaker(
            rng=random.Random(seed),  # noqa: S311 (demo data, as in customers/demo)
            until=until,
            recorders=[manager],
            resolution_rng=random.Random(f"{seed}:resolutions"),  # noqa: S311
        )
        rows = maker.make_interactions(customer, 3000)
        return [row for row in rows if row.kind in Interaction.KINDS_WITH_STATE]

    tickets = made(7)
    resolved = [row for row in tickets if row.resolved_at]
    still_open = [row for row in tickets if row.is_open]
    assert len(tickets) > 100
    assert 0.03 < len(still_open) / len(tickets) < 0.25
    assert all(row.occurred_at < row.resolved_at <= until for row in resolved)
    assert max(row.resolved_at - row.occurred_at for row in resolved) <= timedelta(days=21, hours=1)
    assert any(until - row.occurred_at > timedelta(weeks=3) for row in still_open)
    assert {row.resolved_by_id for row in resolved} <= {manager.pk, None}
    again = made(7)
    assert [(r.occurred_at, r.resolved_at) for r in again] == [
        (r.occurred_at, r.resolved_at) for r in tickets
    ]
