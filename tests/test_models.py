from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer, Interaction, normalize_phone
from customers.services import interaction_log

from .factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_search_text_holds_name_email_and_company_lower_cased():
    customer = CustomerFactory(
        name="Grace Hopper", email="Grace@Navy.example", company=CompanyFactory(name="COBOL Inc")
    )
    assert customer.search_text == "grace hopper grace@navy.example cobol inc"


def test_renaming_a_company_updates_its_customers_search_text():
    company = CompanyFactory(name="Old Name")
    customer = CustomerFactory(company=company)
    company.name = "Brand New"
    company.save()
    customer.refresh_from_db()
    assert "brand new" in customer.search_text
    assert "old name" not in customer.search_text


@pytest.mark.parametrize(
    "raw, expected",
    [("+44 20 7946-0018", "+442079460018"), ("(020) 7946 0018", "02079460018"), ("", "")],
)
def test_phone_is_normalised_for_duplicate_detection(raw, expected):
    assert normalize_phone(raw) == expected


def test_purchase_without_amount_is_rejected():
    interaction = Interaction(
        customer=CustomerFactory(), kind=Interaction.Kind.PURCHASE, subject="Order"
    )
    with pytest.raises(ValidationError) as error:
        interaction.full_clean()
    assert "amount" in error.value.message_dict


def test_amount_on_a_call_is_rejected():
    interaction = Interaction(
        customer=CustomerFactory(), kind=Interaction.Kind.CALL, subject="Call", amount=Decimal(5)
    )
    with pytest.raises(ValidationError) as error:
        interaction.full_clean()
    assert "amount" in error.value.message_dict


def test_interaction_in_the_future_is_rejected():
    interaction = Interaction(
        customer=CustomerFactory(),
        kind=Interaction.Kind.NOTE,
        subject="Later",
        occurred_at=timezone.now() + timedelta(days=3),
    )
    with pytest.raises(ValidationError):
        interaction.full_clean()


def test_logging_an_interaction_moves_last_contact_forward_only():
    customer = CustomerFactory()
    recent = timezone.now() - timedelta(days=1)
    interaction_log(
        customer=customer, recorded_by=None, kind="call", subject="A", occurred_at=recent
    )
    interaction_log(
        customer=customer,
        recorded_by=None,
        kind="note",
        subject="Backdated",
        occurred_at=recent - timedelta(days=30),
    )
    customer.refresh_from_db()
    assert customer.last_interaction_at == recent


def test_archived_customers_are_not_active():
    kept = CustomerFactory()
    CustomerFactory(archived_at=timezone.now())
    assert list(Customer.objects.active()) == [kept]
