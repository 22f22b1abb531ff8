"""Onboarding checklists: copies of templates, progress, stalls, links, screens."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers import links
from customers.models import Customer
from retention.models import (
    Actor,
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ChecklistTemplateStep,
    CustomerRisk,
    SignalSetting,
)
from retention.onboarding import checklists
from retention.onboarding.events import onboarding_completed
from retention.risk import planning, scoring

from .factories import ChecklistTemplateFactory, CustomerFactory, import_job

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def start(customer=None, template=None, **kwargs) -> Checklist:
    customer = customer or CustomerFactory(status=Customer.Status.ONBOARDING)
    return checklists.checklist_start(
        customer=customer, template=template or ChecklistTemplateFactory(), **kwargs
    )


def step(checklist: Checklist, title: str) -> ChecklistStep:
    return checklist.steps.get(title=title)


class TestTemplatesAndCopies:
    def test_a_running_checklist_keeps_its_own_copy_when_the_template_changes(self):
        template = ChecklistTemplateFactory()
        checklist = start(template=template)
        template.steps.filter(title="Welcome call").update(title="Kick-off call", required=False)
        template.steps.filter(title="Invite the team").delete()
        ChecklistTemplateStep.objects.create(template=template, title="New step", position=9)
        template.delete()

        checklist.refresh_from_db()
        titles = list(checklist.steps.values_list("title", "required"))
        assert titles == [
            ("Welcome call", True),
            ("Upload your logo", True),
            ("Invite the team", False),
        ]
        assert checklist.template is None
        assert checklist.name.startswith("Onboarding")

    def test_due_dates_count_from_the_start_day(self):
        checklist = start(start_on=today() - timedelta(days=3))
        assert step(checklist, "Welcome call").due_on == today() - timedelta(days=1)
        assert checklist.next_due_on == today() - timedelta(days=1)

    def test_only_one_running_checklist_per_customer(self):
        checklist = start()
        with pytest.raises(ValidationError):
            start(customer=checklist.customer)


class TestProgress:
    def test_optional_and_skipped_steps(self):
        checklist = start(
            template=ChecklistTemplateFactory(
                steps=[
                    ("One", Actor.STAFF, 1, True),
                    ("Two", Actor.STAFF, 2, True),
                    ("Three", Actor.CUSTOMER, 3, True),
                    ("Extra", Actor.CUSTOMER, 4, False),
                ]
            )
        )
        assert (checklist.required_total, checklist.optional_total, checklist.percent) == (3, 1, 0)

        checklists.step_complete(step=step(checklist, "One"))
        checklist.refresh_from_db()
        assert checklist.percent == 33

        checklists.step_complete(step=step(checklist, "Extra"))
        checklist.refresh_from_db()
        assert (checklist.percent, checklist.optional_done) == (33, 1)  # optional: no progress

        checklists.step_skip(step=step(checklist, "Two"), user=None, reason="Not needed")
        checklist.refresh_from_db()
        assert checklist.percent == 67  # skipped with a reason counts as resolved
        assert checklist.customer.onboarding_percent == 67

    def test_skipping_needs_a_reason(self):
        checklist = start()
        with pytest.raises(ValidationError):
            checklists.step_skip(step=step(checklist, "Welcome call"), user=None, reason="  ")
        assert step(checklist, "Welcome call").status == ChecklistStep.Status.OPEN

    def test_all_required_steps_done_moves_the_customer_to_active(self):
        received = []

        def receiver(**kwargs):
            received.append(kwargs["customer"].pk)

        onboarding_completed.connect(receiver)
        checklist = start()
        customer = checklist.customer
        checklists.step_complete(step=step(checklist, "Welcome call"))
        customer.refresh_from_db()
        assert customer.status == Customer.Status.ONBOARDING

        checklists.step_complete(step=step(checklist, "Upload your logo"), by_customer=True)
        checklist.refresh_from_db()
        customer.refresh_from_db()
        assert checklist.status == Checklist.Status.COMPLETED  # the optional step is still open
        assert customer.status == Customer.Status.ACTIVE
        assert customer.onboarding_percent is None
        assert received == [customer.pk]
        onboarding_completed.disconnect(receiver)

    def test_reopening_a_step_of_a_completed_checklist_runs_it_again(self):
        checklist = start()
        for title in ("Welcome call", "Upload your logo"):
            checklists.step_complete(step=step(checklist, title))
        checklists.step_reopen(step=step(checklist, "Welcome call"), user=None)
        checklist.refresh_from_db()
        assert (checklist.status, checklist.percent) == (Checklist.Status.IN_PROGRESS, 50)

    def test_ticking_twice_changes_nothing(self, manager):
        checklist = start()
        first = checklists.step_complete(step=step(checklist, "Welcome call"), user=manager)
        again = checklists.step_complete(step=step(checklist, "Welcome call"), user=None)
        assert again.completed_by == manager
        assert again.completed_at == first.completed_at


class TestStalled:
    """Stalled: a required step overdue for MORE than the signal's window (7 days)."""

    @pytest.mark.parametrize(("days_late", "stalled"), [(7, False), (8, True)])
    def test_boundary(self, days_late, stalled):
        # "Welcome call" is due 2 days after the start.
        checklist = start(start_on=today() - timedelta(days=2 + days_late))
        assert checklists.is_stalled(checklist, today(), checklists.stall_days()) is stalled

        scoring.compute_all(today())
        flags = CustomerRisk.objects.get(customer=checklist.customer).flags
        assert ("stalled_onboarding" in [flag["key"] for flag in flags]) is stalled

    def test_the_window_is_the_signal_setting(self):
        planning.ensure_signal_settings()
        SignalSetting.objects.filter(key="stalled_onboarding").update(window_days=3)
        checklist = start(start_on=today() - timedelta(days=2 + 4))
        assert checklists.stall_days() == 3
        assert checklists.is_stalled(checklist, today(), checklists.stall_days())

    def test_a_done_step_never_stalls(self):
        checklist = start(start_on=today() - timedelta(days=40))
        for title in ("Welcome call", "Upload your logo"):
            checklists.step_complete(step=step(checklist, title))
        scoring.compute_all(today())
        flags = CustomerRisk.objects.get(customer=checklist.customer).flags
        assert "stalled_onboarding" not in [flag["key"] for flag in flags]


class TestAutoStart:
    def test_a_new_customer_in_onboarding_gets_the_default_template(
        self, django_capture_on_commit_callbacks
    ):
        ChecklistTemplateFactory(name="Standard", is_default=True)
        with django_capture_on_commit_callbacks(execute=True):
            customer = CustomerFactory(status=Customer.Status.ONBOARDING, plan="Starter")
        checklist = Checklist.objects.get(customer=customer)
        assert checklist.name == "Standard"
        assert checklist.steps.count() == 3

    def test_the_plan_template_wins_and_a_move_into_onboarding_starts_it(
        self, django_capture_on_commit_callbacks
    ):
        ChecklistTemplateFactory(name="Standard", is_default=True)
        ChecklistTemplateFactory(name="Enterprise", plan="enterprise")
        customer = CustomerFactory(status=Customer.Status.LEAD, plan="Enterprise")
        assert not Checklist.objects.filter(customer=customer).exists()
        customer = Customer.objects.get(pk=customer.pk)
        customer.status = Customer.Status.ONBOARDING
        with django_capture_on_commit_callbacks(execute=True):
            customer.save()
        assert Checklist.objects.get(customer=customer).name == "Enterprise"

    def test_no_default_template_starts_nothing(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            customer = CustomerFactory(status=Customer.Status.ONBOARDING)
        assert not Checklist.objects.filter(customer=customer).exists()


class TestImportedCustomers:
    """A CSV import writes customers in bulk (no post_save): they get checklists too."""

    def import_customers(self, user, rows: list[str]):
        from customers import importing
        from customers.models import ImportJob

        job = import_job(
            target="customers",
            filename="upload.csv",
            content="name,email,status,plan\n" + "\n".join(rows) + "\n",
            created_by=user,
        )
        job = importing.apply_import(importing.validate_import(job))
        assert job.status == ImportJob.Status.DONE, (job.failure, job.errors)

    def test_imported_customers_in_onboarding_get_the_matching_checklist(self, manager):
        ChecklistTemplateFactory(name="Standard", is_default=True)
        ChecklistTemplateFactory(name="Enterprise", plan="enterprise")
        self.import_customers(
            manager,
            [
                "Ada,ada@example.org,onboarding,Starter",
                "Grace,grace@example.org,onboarding,Enterprise",
                "Linus,linus@example.org,active,Starter",
            ],
        )
        ada = Checklist.objects.get(customer__email="ada@example.org")
        grace = Checklist.objects.get(customer__email="grace@example.org")
        assert (ada.name, grace.name) == ("Standard", "Enterprise")
        assert not Checklist.objects.filter(customer__email="linus@example.org").exists()
        # The same checklist a customer created in the form gets: steps, due dates, bar.
        assert [s.title for s in ada.steps.order_by("position")] == [
            "Welcome call",
            "Upload your logo",
            "Invite the team",
        ]
        assert (ada.required_total, ada.optional_total, ada.percent) == (2, 1, 0)
        assert ada.next_due_on == today() + timedelta(days=2)
        assert ada.customer.onboarding_percent == 0
        assert ada.status == Checklist.Status.IN_PROGRESS

    def test_a_customer_who_had_a_checklist_gets_no_second_one(self, manager):
        ChecklistTemplateFactory(name="Standard", is_default=True)
        customer = CustomerFactory(email="ada@example.org", status=Customer.Status.ONBOARDING)
        checklists.checklist_cancel(checklist=start(customer=customer))
        self.import_customers(manager, ["Ada Lovelace,ada@example.org,onboarding,Starter"])
        assert Checklist.objects.filter(customer=customer).count() == 1

    def test_starting_many_takes_a_few_queries_not_a_few_per_customer(
        self, django_assert_max_num_queries
    ):
        ChecklistTemplateFactory(name="Standard", is_default=True)
        customers = Customer.objects.bulk_create(
            Customer(name=f"C{n}", status=Customer.Status.ONBOARDING) for n in range(200)
        )
        # One by one it takes about ten per customer (2,000). Bulk: 6 on PostgreSQL; SQLite
        # splits the inserts into batches of its parameter limit.
        with django_assert_max_num_queries(20):
            started = checklists.start_many([c.pk for c in customers])
        assert started == 200
        assert ChecklistStep.objects.count() == 600


class TestCompletionFigures:
    def test_share_median_days_and_where_customers_are_stuck(self):
        for days in (5, 9):
            checklist = start(start_on=today() - timedelta(days=days))
            for title in ("Welcome call", "Upload your logo"):
                checklists.step_complete(step=step(checklist, title))
        stuck = start()
        checklists.step_complete(step=step(stuck, "Welcome call"))
        start()  # stuck at the first step
        cancelled = start()
        checklists.checklist_cancel(checklist=cancelled)

        figures = checklists.completion_figures()
        assert figures["started"] == 4  # cancelled ones do not count
        assert figures["completed"] == 2
        assert figures["completion_rate"] == 50.0
        assert figures["median_days"] == 7
        assert figures["stuck_steps"] == [("Upload your logo", 1), ("Welcome call", 1)]

    def test_the_overview_shows_them_and_keeps_them_ten_minutes(self, manager_client):
        checklist = start()
        for title in ("Welcome call", "Upload your logo"):
            checklists.step_complete(step=step(checklist, title))
        url = reverse("retention:onboarding")
        assert manager_client.get(url).context["figures"]["completed"] == 1
        start()
        assert manager_client.get(url).context["figures"]["started"] == 1  # cached
        with time_machine.travel(timezone.now() + timedelta(minutes=11)):
            assert manager_client.get(url).context["figures"]["started"] == 2

    def test_nothing_started(self):
        figures = checklists.completion_figures()
        assert figures["completion_rate"] is None
        assert figures["median_days"] is None


class TestCustomerLink:
    def test_the_customer_sees_their_steps_in_their_language_and_ticks_their_own(self, client):
        checklist = start(customer=CustomerFactory(name="Greta Berg", preferred_language="de"))
        url = checklists.public_link(checklist.customer)

        response = client.get(url)
        assert response.status_code == 200
        assert b'<html lang="de">' in response.content
        assert b"Upload your logo" in response.content

        logo = step(checklist, "Upload your logo")
        response = client.post(url, {"step": logo.pk})
        assert response.status_code == 302
        logo.refresh_from_db()
        assert (logo.status, logo.completed_by_customer) == (ChecklistStep.Status.DONE, True)
        page = client.get(response["Location"])
        assert b"Upload your logo" in page.content
        assert page.context["just_done"] == logo

    def test_a_staff_step_cannot_be_ticked_by_the_customer(self, client):
        checklist = start()
        call = step(checklist, "Welcome call")
        response = client.post(checklists.public_link(checklist.customer), {"step": call.pk})
        assert response.status_code == 404
        call.refresh_from_db()
        assert call.status == ChecklistStep.Status.OPEN

    def test_expired_link(self, client):
        checklist = start()
        url = checklists.public_link(checklist.customer)
        with time_machine.travel(timezone.now() + timedelta(days=31)):
            response = client.get(url)
        assert response.status_code == 410
        assert b"This link has expired" in response.content

    def test_tampered_link(self, client):
        checklist = start()
        token = links.make_token("onboarding", checklist.customer.pk)
        other = CustomerFactory()
        forged = f"{other.pk}{token[token.index(':') :]}"
        for bad in (forged, token[:-2] + "xx", "nonsense"):
            response = client.get(reverse("onboarding_public", args=[bad]))
            assert response.status_code == 404
            assert b"This link does not work" in response.content

    def test_a_link_for_another_purpose_does_not_open_the_page(self, client):
        checklist = start()
        token = links.make_token("loyalty", checklist.customer.pk)
        response = client.get(reverse("onboarding_public", args=[token]))
        assert response.status_code == 404

    def test_another_customers_step_cannot_be_ticked_with_my_link(self, client):
        mine, theirs = start(), start()
        their_step = step(theirs, "Upload your logo")
        response = client.post(checklists.public_link(mine.customer), {"step": their_step.pk})
        assert response.status_code == 404
        their_step.refresh_from_db()
        assert their_step.status == ChecklistStep.Status.OPEN


class TestStaffScreens:
    def test_the_customer_page_shows_the_checklist_and_the_list_shows_progress(
        self, manager_client, customer
    ):
        checklist = start(customer=customer)
        checklists.step_complete(step=step(checklist, "Welcome call"))
        page = manager_client.get(customer.get_absolute_url())
        assert b'data-testid="onboarding-card"' in page.content
        assert b"1 of 2 required steps done" in page.content
        assert b"/o/" in page.content  # the copyable customer link

        listing = manager_client.get(reverse("customers:list"))
        assert b'aria-valuenow="50"' in listing.content

    def test_ticking_a_step_with_htmx_returns_the_updated_card(self, manager_client, customer):
        checklist = start(customer=customer)
        url = reverse("retention:step_action", args=[step(checklist, "Welcome call").pk, "done"])
        response = manager_client.post(url, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert b'aria-valuenow="50"' in response.content
        # ... and the step is in the timeline.
        timeline = manager_client.get(customer.get_absolute_url())
        assert b"Done: Welcome call" in timeline.content

    def test_skipping_without_a_reason_shows_an_error_in_the_card(self, manager_client, customer):
        checklist = start(customer=customer)
        url = reverse("retention:step_action", args=[step(checklist, "Welcome call").pk, "skip"])
        response = manager_client.post(url, {"reason": ""}, headers={"HX-Request": "true"})
        assert response.status_code == 422
        assert b"Say why the step is skipped." in response.content

    def test_without_htmx_the_action_returns_to_the_customer_page(self, manager_client, customer):
        checklist = start(customer=customer)
        url = reverse("retention:step_action", args=[step(checklist, "Welcome call").pk, "done"])
        response = manager_client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(customer.get_absolute_url())

    def test_another_managers_customer_and_staff_cannot_tick(
        self, manager_client, staff_client, others_customer
    ):
        checklist = start(customer=others_customer)
        url = reverse("retention:step_action", args=[step(checklist, "Welcome call").pk, "done"])
        assert manager_client.post(url).status_code == 403
        assert staff_client.post(url).status_code == 403
        assert step(checklist, "Welcome call").status == ChecklistStep.Status.OPEN

    def test_start_and_cancel_from_the_customer_page(self, manager_client, customer):
        template = ChecklistTemplateFactory(name="Quick start")
        response = manager_client.post(
            reverse("retention:checklist_start", args=[customer.pk]),
            {"template": template.pk},
            headers={"HX-Request": "true"},
        )
        assert b"Quick start" in response.content
        checklist = Checklist.objects.get(customer=customer)
        manager_client.post(reverse("retention:checklist_cancel", args=[checklist.pk]))
        checklist.refresh_from_db()
        assert checklist.status == Checklist.Status.CANCELLED
        customer.refresh_from_db()
        assert customer.onboarding_percent is None

    def test_overview_filters_and_highlights(self, manager_client, manager, other_manager):
        late = start(
            customer=CustomerFactory(name="Late Larry", owner=manager),
            start_on=today() - timedelta(days=20),
        )
        start(customer=CustomerFactory(name="Fresh Fiona", owner=manager))
        start(customer=CustomerFactory(name="Other Otto", owner=other_manager))
        url = reverse("retention:onboarding")

        everyone = manager_client.get(url)
        assert everyone.context["page"].paginator.count == 3
        assert [c.customer.name for c in everyone.context["rows"]][0] == "Late Larry"
        assert b"Stalled" in everyone.content

        mine = manager_client.get(url, {"owner": "me"})
        assert {c.customer.name for c in mine.context["rows"]} == {"Late Larry", "Fresh Fiona"}
        stalled = manager_client.get(url, {"state": "stalled"})
        assert [c.pk for c in stalled.context["rows"]] == [late.pk]
        assert stalled.context["rows"][0].overdue_steps[0].title == "Welcome call"
        found = manager_client.get(url, {"q": "fiona"})
        assert [c.customer.name for c in found.context["rows"]] == ["Fresh Fiona"]

    def test_overview_query_count_does_not_grow(
        self, manager_client, django_assert_max_num_queries
    ):
        template = ChecklistTemplateFactory()
        for _ in range(3):
            start(template=template, start_on=today() - timedelta(days=20))
        with django_assert_max_num_queries(16):
            manager_client.get(reverse("retention:onboarding"))
        for _ in range(30):
            start(template=template, start_on=today() - timedelta(days=20))
        with django_assert_max_num_queries(16):
            response = manager_client.get(reverse("retention:onboarding"))
        assert len(response.context["rows"]) == 25

    def test_customer_page_query_count_does_not_grow_with_steps(
        self, manager_client, manager, django_assert_max_num_queries
    ):
        short = CustomerFactory(owner=manager)
        start(customer=short)
        with django_assert_max_num_queries(25) as few:
            manager_client.get(short.get_absolute_url())
        long = CustomerFactory(owner=manager)
        steps = [(f"Step {n}", Actor.STAFF, n, True) for n in range(12)]
        checklist = start(customer=long, template=ChecklistTemplateFactory(steps=steps))
        for done in checklist.steps.all()[:6]:
            checklists.step_complete(step=done)
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = manager_client.get(long.get_absolute_url())
        assert b"6 of 12 required steps done" in response.content


class TestTemplateEditing:
    def form_data(self, steps, **fields):
        data = {
            "name": "Premium",
            "description": "",
            "plan": "",
            "steps-TOTAL_FORMS": str(len(steps)),
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            **fields,
        }
        for index, (title, required) in enumerate(steps):
            data.update(
                {
                    f"steps-{index}-position": str(index),
                    f"steps-{index}-title": title,
                    f"steps-{index}-actor": "staff",
                    f"steps-{index}-due_offset_days": "3",
                }
            )
            if required:
                data[f"steps-{index}-required"] = "on"
        return data

    def test_create_a_template_with_steps(self, manager_client):
        response = manager_client.post(
            reverse("retention:template_create"),
            self.form_data([("Call", True), ("Docs", False)], is_default="on"),
        )
        assert response.status_code == 302
        template = ChecklistTemplate.objects.get(name="Premium")
        assert template.is_default
        assert list(template.steps.values_list("title", "required")) == [
            ("Call", True),
            ("Docs", False),
        ]

    def test_a_template_needs_a_required_step(self, manager_client):
        response = manager_client.post(
            reverse("retention:template_create"), self.form_data([("Docs", False)])
        )
        assert response.status_code == 422
        assert "Mark at least one step as required" in response.content.decode()
        assert not ChecklistTemplate.objects.exists()

    def test_one_template_per_plan_and_one_default(self, manager_client):
        ChecklistTemplateFactory(name="Old default", is_default=True)
        ChecklistTemplateFactory(name="Pro plan", plan="Pro")
        clash = manager_client.post(
            reverse("retention:template_create"), self.form_data([("Call", True)], plan="pro")
        )
        assert clash.status_code == 422
        assert "already the one for this plan" in clash.content.decode()
        manager_client.post(
            reverse("retention:template_create"), self.form_data([("Call", True)], is_default="on")
        )
        assert list(
            ChecklistTemplate.objects.filter(is_default=True).values_list("name", flat=True)
        ) == ["Premium"]

    def test_staff_can_read_templates_but_not_edit(self, staff_client):
        template = ChecklistTemplateFactory()
        assert staff_client.get(reverse("retention:template_list")).status_code == 200
        assert staff_client.get(template.get_absolute_url()).status_code == 403
        assert staff_client.get(reverse("retention:onboarding")).status_code == 200
