"""factory-boy factories for the customer database."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.access import sync_roles
from customers.models import Company, Customer, ImportJob, Interaction, Tag


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="Account manager") puts the user in that group."""
        if create and extracted:
            # Transactional tests flush the groups the data migration made.
            if not Group.objects.filter(name=extracted).exists():
                sync_roles()
            self.groups.add(Group.objects.get(name=extracted))


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Company {n} Ltd")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    phone = factory.Sequence(lambda n: f"+44 20 7946 {n:04d}")
    company = factory.SubFactory(CompanyFactory)
    status = Customer.Status.ACTIVE
    customer_since = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=400))
    plan = "Growth"
    monthly_value = Decimal("49.00")

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = Interaction.Kind.CALL
    direction = Interaction.Direction.OUTBOUND
    subject = factory.Sequence(lambda n: f"Check-in call {n}")
    occurred_at = factory.LazyFunction(timezone.now)


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    """A template with three steps by default: two required (staff, customer), one optional."""

    class Meta:
        model = "retention.ChecklistTemplate"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Onboarding {n}")

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        from retention.models import Actor, ChecklistTemplateStep

        if not create:
            return
        specs = extracted if extracted is not None else [
            ("Welcome call", Actor.STAFF, 2, True),
            ("Upload your logo", Actor.CUSTOMER, 5, True),
            ("Invite the team", Actor.CUSTOMER, 10, False),
        ]  # fmt: skip
        for position, (title, actor, days, required) in enumerate(specs):
            ChecklistTemplateStep.objects.create(
                template=self,
                position=position,
                title=title,
                actor=actor,
                due_offset_days=days,
                required=required,
            )


class RewardFactory(factory.django.DjangoModelFactory):
    """A loyalty reward (retention app): a 10 % coupon for 100 points by default."""

    class Meta:
        model = "retention.Reward"

    name = factory.Sequence(lambda n: f"10% off, number {n}")
    kind = "percent_off"
    value = Decimal("10")
    points_price = 100


def import_job(*, content: str, **fields) -> ImportJob:
    """An uploaded import file: the job and its text, stored as an upload stores it."""
    from customers.importing import store_text

    job = ImportJob.objects.create(**fields)
    store_text(job, content)
    return job
