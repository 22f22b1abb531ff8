import pytest
from django.urls import reverse

from customers.models import Customer, Interaction

from .factories import CustomerFactory, InteractionFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_lists_same_email_and_same_name_and_phone(admin_client):
    CustomerFactory(name="Ann Lee", email="ann@example.org")
    CustomerFactory(name="Ann Lee (old)", email="ANN@example.org")
    CustomerFactory(name="Bob Ray", email="bob1@example.org", phone="+44 20 7946 0001")
    CustomerFactory(name="bob ray", email="bob2@example.org", phone="+44 (20) 7946-0001")
    CustomerFactory(name="Unique", email="u@example.org", phone="+1 555 0100")
    response = admin_client.get(reverse("customers:duplicates"))
    email_groups = response.context["email_groups"]
    phone_groups = response.context["phone_groups"]
    assert [len(g.customers) for g in email_groups] == [2]
    assert email_groups[0].key == "ann@example.org"
    assert [sorted(c.name for c in g.customers) for g in phone_groups] == [["Bob Ray", "bob ray"]]


def test_merge_moves_history_and_tags_and_fills_blanks(admin_client):
    vip, trial = TagFactory(name="VIP"), TagFactory(name="Trial")
    keep = CustomerFactory(name="Ann Lee", phone="", tags=[vip])
    drop = CustomerFactory(name="Ann Lee", phone="+44 1", tags=[trial], notes="Prefers mornings")
    InteractionFactory.create_batch(3, customer=drop)
    InteractionFactory(customer=keep)
    response = admin_client.post(
        reverse("customers:merge", args=[keep.pk, drop.pk]), {"survivor": keep.pk}
    )
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=drop.pk).exists()
    keep.refresh_from_db()
    # 4 interactions moved or kept, plus the note recording the merge.
    assert keep.interactions.count() == 5
    assert keep.interactions.filter(
        kind=Interaction.Kind.NOTE, subject__startswith="Merged"
    ).exists()
    assert {t.name for t in keep.tags.all()} == {"VIP", "Trial"}
    assert keep.phone == "+44 1"
    assert "Prefers mornings" in keep.notes


def test_merge_the_other_way_keeps_the_chosen_record(admin_client):
    first, second = CustomerFactory(), CustomerFactory()
    admin_client.post(
        reverse("customers:merge", args=[first.pk, second.pk]), {"survivor": second.pk}
    )
    assert list(Customer.objects.values_list("pk", flat=True)) == [second.pk]


def test_merge_with_a_bad_choice_changes_nothing(admin_client):
    first, second = CustomerFactory(), CustomerFactory()
    stranger = CustomerFactory()
    response = admin_client.post(
        reverse("customers:merge", args=[first.pk, second.pk]), {"survivor": stranger.pk}
    )
    assert response.status_code == 422
    assert Customer.objects.count() == 3


def test_merging_a_customer_with_itself_is_404(admin_client):
    customer = CustomerFactory()
    assert (
        admin_client.get(reverse("customers:merge", args=[customer.pk, customer.pk])).status_code
        == 404
    )
