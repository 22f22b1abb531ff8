from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Interaction

from .factories import CompanyFactory, CustomerFactory, InteractionFactory, TagFactory

pytestmark = pytest.mark.django_db
LIST = reverse("customers:list")


def names(response) -> list[str]:
    return [c.name for c in response.context["customers"]]


class TestCustomerList:
    def test_search_matches_name_email_and_company(self, admin_client):
        CustomerFactory(name="Grace Hopper", email="grace@navy.example")
        CustomerFactory(name="Alan Turing", company=CompanyFactory(name="Bletchley Park"))
        CustomerFactory(name="Someone Else", email="x@hopper-fans.example")
        assert sorted(names(admin_client.get(LIST, {"q": "hopper"}))) == [
            "Grace Hopper",
            "Someone Else",
        ]
        assert names(admin_client.get(LIST, {"q": "BLETCHLEY"})) == ["Alan Turing"]
        assert names(admin_client.get(LIST, {"q": "nobody-matches"})) == []

    def test_filters_by_status_owner_tag_and_renewal_window(self, admin_client, manager):
        vip = TagFactory(name="VIP")
        today = timezone.localdate()
        CustomerFactory(name="Due soon", renewal_date=today + timedelta(days=10), tags=[vip])
        CustomerFactory(name="Due later", renewal_date=today + timedelta(days=80), owner=manager)
        CustomerFactory(name="Overdue", renewal_date=today - timedelta(days=1), status="at_risk")
        assert names(admin_client.get(LIST, {"renewal": "30"})) == ["Due soon"]
        assert names(admin_client.get(LIST, {"renewal": "90"})) == ["Due later", "Due soon"]
        assert names(admin_client.get(LIST, {"renewal": "overdue"})) == ["Overdue"]
        assert names(admin_client.get(LIST, {"status": "at_risk"})) == ["Overdue"]
        assert names(admin_client.get(LIST, {"tag": vip.pk})) == ["Due soon"]
        assert names(admin_client.get(LIST, {"owner": manager.pk})) == ["Due later"]
        assert names(admin_client.get(LIST, {"owner": "none"})) == ["Due soon", "Overdue"]

    def test_sorting_by_a_column_and_reversing_it(self, admin_client):
        for value in (30, 10, 20):
            CustomerFactory(name=f"Value {value}", monthly_value=value)
        assert names(admin_client.get(LIST, {"sort": "value"})) == [
            "Value 10",
            "Value 20",
            "Value 30",
        ]
        assert names(admin_client.get(LIST, {"sort": "-value"})) == [
            "Value 30",
            "Value 20",
            "Value 10",
        ]

    def test_archived_customers_are_hidden_unless_asked_for(self, admin_client):
        CustomerFactory(name="Current")
        CustomerFactory(name="Gone", archived_at=timezone.now())
        assert names(admin_client.get(LIST)) == ["Current"]
        assert names(admin_client.get(LIST, {"archived": "only"})) == ["Gone"]
        assert names(admin_client.get(LIST, {"archived": "all"})) == ["Current", "Gone"]

    def test_pages_hold_25_and_the_last_page_holds_the_rest(self, admin_client):
        CustomerFactory.create_batch(30)
        first = admin_client.get(LIST)
        assert len(first.context["customers"]) == 25
        assert "Page 1 of 2" in first.content.decode()
        assert len(admin_client.get(LIST, {"page": 2}).context["customers"]) == 5
        # An out-of-range page shows the last page rather than an error.
        assert admin_client.get(LIST, {"page": 99}).context["page"].number == 2

    def test_account_manager_starts_on_my_customers(
        self, manager_client, customer, others_customer
    ):
        response = manager_client.get(LIST)
        assert names(response) == [customer.name]
        assert response.context["filter"].form["owner"].value() == "me"
        assert sorted(names(manager_client.get(LIST, {"owner": ""}))) == sorted(
            [others_customer.name, customer.name]
        )

    def test_an_invalid_filter_value_shows_a_message_not_an_error(self, admin_client):
        CustomerFactory()
        response = admin_client.get(LIST, {"status": "bogus"})
        assert response.status_code == 200
        assert "Some filters are not valid" in response.content.decode()

    def test_query_count_does_not_grow_with_customers(
        self, admin_client, django_assert_max_num_queries
    ):
        tag = TagFactory(name="VIP")
        CustomerFactory.create_batch(5, tags=[tag])
        with django_assert_max_num_queries(12) as few:
            admin_client.get(LIST)
        CustomerFactory.create_batch(40, tags=[tag])
        with django_assert_max_num_queries(len(few.captured_queries)):
            admin_client.get(LIST)

    def test_htmx_search_returns_only_the_results_fragment(self, admin_client):
        CustomerFactory(name="Grace Hopper")
        response = admin_client.get(
            LIST, {"q": "grace"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
        )
        html = response.content.decode()
        assert "Grace Hopper" in html and "<nav" not in html.split("pagination")[0]
        assert "<html" not in html


class TestCustomerDetail:
    def test_profile_and_timeline_newest_first(self, staff_client, customer):
        now = timezone.now()
        InteractionFactory(
            customer=customer, subject="First call", occurred_at=now - timedelta(days=3)
        )
        InteractionFactory(customer=customer, subject="Latest call", occurred_at=now)
        html = staff_client.get(customer.get_absolute_url()).content.decode()
        assert "ada@example.org" in html
        assert html.index("Latest call") < html.index("First call")

    def test_long_history_is_paged_and_query_count_stays_flat(
        self, admin_client, customer, django_assert_max_num_queries
    ):
        InteractionFactory.create_batch(3, customer=customer)
        # Each app's timeline source and customer-page card adds a query or two.
        with django_assert_max_num_queries(24) as few:
            admin_client.get(customer.get_absolute_url())
        start = timezone.now() - timedelta(days=1)
        Interaction.objects.bulk_create(
            Interaction(
                customer=customer,
                kind="note",
                subject=f"n{i}",
                occurred_at=start - timedelta(minutes=i),
            )
            for i in range(200)
        )
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = admin_client.get(customer.get_absolute_url())
        assert len(response.context["timeline"].entries) == 25
        more = response.context["timeline_more_url"]
        second = admin_client.get(more)
        assert second.status_code == 200
        first_ids = {e.pk for e in response.context["timeline"].entries}
        second_ids = {e.pk for e in second.context["timeline"].entries}
        assert len(second_ids) == 25 and not first_ids & second_ids

    def test_unknown_customer_is_404(self, admin_client):
        assert admin_client.get(reverse("customers:detail", args=[999999])).status_code == 404


class TestLogInteraction:
    def url(self, customer):
        return reverse("customers:log_interaction", args=[customer.pk])

    def test_logging_a_call_adds_it_to_the_timeline(self, staff_client, staff_user, customer):
        response = staff_client.post(
            self.url(customer),
            {
                "kind": "call",
                "direction": "outbound",
                "subject": "Renewal chat",
                "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "body": "Went well",
            },
            follow=True,
        )
        assert "Renewal chat" in response.content.decode()
        interaction = customer.interactions.get()
        assert interaction.recorded_by == staff_user
        customer.refresh_from_db()
        assert customer.last_interaction_at == interaction.occurred_at

    def test_invalid_interaction_shows_field_errors_and_saves_nothing(self, staff_client, customer):
        response = staff_client.post(
            self.url(customer),
            {"kind": "purchase", "subject": "", "occurred_at": "not a date"},
        )
        assert response.status_code == 422
        form = response.context["interaction_form"]
        assert {"subject", "occurred_at"} <= set(form.errors)
        assert not customer.interactions.exists()

    def test_purchase_needs_an_amount(self, staff_client, customer):
        response = staff_client.post(
            self.url(customer),
            {"kind": "purchase", "subject": "Order", "occurred_at": "2025-01-01T10:00"},
        )
        assert response.status_code == 422
        assert "A purchase needs an amount." in response.content.decode()

    def test_htmx_post_returns_fresh_form_and_updated_timeline(self, staff_client, customer):
        response = staff_client.post(
            self.url(customer),
            {"kind": "note", "subject": "Quick note", "occurred_at": "2025-01-01T10:00"},
            HTTP_HX_REQUEST="true",
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="timeline-list" hx-swap-oob="true"' in html
        assert "Quick note" in html


class TestCreateEditArchive:
    def test_manager_creates_a_customer_owned_by_them(self, manager_client, manager):
        response = manager_client.post(
            reverse("customers:create"),
            {
                "name": "New Co Buyer",
                "email": "Buyer@NewCo.example",
                "company_name": "NewCo",
                "preferred_language": "de",
                "status": "lead",
                "monthly_value": "10",
                "tag_names": "VIP, Trial",
                "owner": manager.pk,
            },
        )
        customer = Customer.objects.get(name="New Co Buyer")
        assert response.status_code == 302
        assert customer.email == "buyer@newco.example"
        assert customer.company.name == "NewCo"
        assert sorted(t.name for t in customer.tags.all()) == ["Trial", "VIP"]
        assert customer.owner == manager

    def test_form_errors_are_shown_per_field(self, manager_client, customer):
        response = manager_client.post(
            reverse("customers:create"),
            {
                "name": "",
                "email": "ADA@example.org",
                "monthly_value": "-3",
                "preferred_language": "en",
                "status": "lead",
            },
        )
        assert response.status_code == 422
        errors = response.context["form"].errors
        assert "name" in errors and "monthly_value" in errors
        assert "Another customer already has this email address" in errors["email"][0]

    def test_manager_edits_own_customer(self, manager_client, customer):
        response = manager_client.post(
            reverse("customers:edit", args=[customer.pk]),
            {
                "name": "Ada King",
                "email": customer.email,
                "preferred_language": "en",
                "status": "active",
                "monthly_value": "99",
                "owner": customer.owner_id,
            },
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.name == "Ada King"
        assert "ada king" in customer.search_text

    def test_manager_cannot_edit_or_archive_another_managers_customer(
        self, manager_client, others_customer
    ):
        assert (
            manager_client.get(reverse("customers:edit", args=[others_customer.pk])).status_code
            == 403
        )
        assert (
            manager_client.post(reverse("customers:archive", args=[others_customer.pk])).status_code
            == 403
        )
        others_customer.refresh_from_db()
        assert others_customer.archived_at is None

    def test_manager_cannot_give_a_customer_to_someone_else(
        self, manager_client, customer, other_manager
    ):
        response = manager_client.post(
            reverse("customers:edit", args=[customer.pk]),
            {
                "name": customer.name,
                "email": customer.email,
                "preferred_language": "en",
                "status": "active",
                "monthly_value": "1",
                "owner": other_manager.pk,
            },
        )
        assert response.status_code == 422
        assert "owner" in response.context["form"].errors

    def test_archive_and_restore(self, admin_client, customer):
        admin_client.post(reverse("customers:archive", args=[customer.pk]))
        customer.refresh_from_db()
        assert customer.archived_at is not None
        admin_client.post(reverse("customers:unarchive", args=[customer.pk]))
        customer.refresh_from_db()
        assert customer.archived_at is None

    def test_archive_needs_post(self, admin_client, customer):
        assert admin_client.get(reverse("customers:archive", args=[customer.pk])).status_code == 405

    def test_staff_cannot_create_customers(self, staff_client):
        assert staff_client.get(reverse("customers:create")).status_code == 403


class TestCardsLoadAfterThePage:
    """As shipped (CUSTOMER_CARDS_LAZY), the page holds a placeholder per card and
    htmx fetches each card right after; `?cards=all` renders them in the page."""

    def test_placeholders_then_each_card_on_its_own(self, admin_client, customer, settings):
        settings.CUSTOMER_CARDS_LAZY = True
        page = admin_client.get(customer.get_absolute_url())
        html = page.content.decode()
        card_url = reverse("customers:panel", args=[customer.pk, "risk"])
        assert f'hx-get="{card_url}"' in html
        assert 'data-testid="risk-card"' not in html
        card = admin_client.get(card_url, headers={"HX-Request": "true"})
        assert card.status_code == 200
        assert 'data-testid="risk-card"' in card.content.decode()
        everything = admin_client.get(customer.get_absolute_url() + "?cards=all")
        assert 'data-testid="risk-card"' in everything.content.decode()

    def test_unknown_card_and_no_role(self, admin_client, roleless_user, client, customer):
        assert (
            admin_client.get(reverse("customers:panel", args=[customer.pk, "nope"])).status_code
            == 404
        )
        client.force_login(roleless_user)
        assert client.get(reverse("customers:panel", args=[customer.pk, "risk"])).status_code == 403

    def test_the_page_costs_fewer_queries_with_lazy_cards(
        self, admin_client, customer, settings, django_assert_max_num_queries
    ):
        settings.CUSTOMER_CARDS_LAZY = True
        with django_assert_max_num_queries(14):  # 23 with every card in the page
            admin_client.get(customer.get_absolute_url())
