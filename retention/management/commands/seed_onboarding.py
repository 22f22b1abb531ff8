"""Demo onboarding: two checklist templates and a running checklist, at a realistic
stage, for every customer in onboarding. Run by `make run` after seed_demo; does
nothing when a template already exists, so a business's own templates are safe."""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from retention.onboarding import checklists
from retention.onboarding.models import Actor, Checklist, ChecklistTemplate, ChecklistTemplateStep

# (title, description, done by, due after days, required)
STANDARD_STEPS = [
    ("Welcome call", "Introduce the account manager and agree goals.", Actor.STAFF, 2, True),
    ("Complete your profile", "Company details, billing contact.", Actor.CUSTOMER, 5, True),
    ("Import your data", "Upload your existing records (CSV).", Actor.CUSTOMER, 10, True),
    ("First training session", "One hour online, up to five people.", Actor.STAFF, 14, True),
    ("Invite your team", "Add your colleagues as users.", Actor.CUSTOMER, 21, False),
    ("30-day check-in", "Review goals and first results.", Actor.STAFF, 30, True),
]
ENTERPRISE_EXTRA = [
    ("Security review", "Answer the security questionnaire.", Actor.STAFF, 7, True),
    ("Single sign-on set-up", "Connect your identity provider.", Actor.CUSTOMER, 18, True),
]


class Command(BaseCommand):
    help = "Create demo onboarding templates and checklists (only when there is no template)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=7)

    @transaction.atomic
    def handle(self, *args, seed: int, **options) -> None:
        if ChecklistTemplate.objects.exists():
            self.stdout.write("Onboarding templates already present")
            return
        rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
        standard = self.make_template(
            "Standard onboarding", STANDARD_STEPS, plan="", is_default=True
        )
        self.make_template(
            "Enterprise onboarding", STANDARD_STEPS + ENTERPRISE_EXTRA, plan="Enterprise"
        )
        today = timezone.localdate()
        started = 0
        customers = Customer.objects.filter(
            status=Customer.Status.ONBOARDING, archived_at__isnull=True
        ).exclude(checklists__status=Checklist.Status.IN_PROGRESS)
        for customer in customers.order_by("pk"):
            template = checklists.template_for(customer) or standard
            # Onboarding starts when they became a customer (recently, in the demo data).
            start_on = customer.customer_since or today - timedelta(days=rng.randint(0, 50))
            checklist = checklists.checklist_start(
                customer=customer, template=template, start_on=start_on
            )
            started += 1
            # Most customers keep up; some stop part-way (the stalled ones).
            keeps_up = rng.random() < 0.7
            for step in checklist.steps.order_by("position"):
                if step.due_on > today or (not keeps_up and rng.random() < 0.5):
                    break
                if not step.required and rng.random() < 0.4:
                    continue
                checklists.step_complete(step=step, by_customer=step.actor == Actor.CUSTOMER)
        self.stdout.write(self.style.SUCCESS(f"Onboarding demo: {started} checklists started"))

    def make_template(self, name, steps, *, plan: str, is_default: bool = False):
        template = ChecklistTemplate.objects.create(name=name, plan=plan, is_default=is_default)
        ChecklistTemplateStep.objects.bulk_create(
            ChecklistTemplateStep(
                template=template,
                position=index,
                title=title,
                description=description,
                actor=actor,
                due_offset_days=days,
                required=required,
            )
            for index, (title, description, actor, days, required) in enumerate(steps)
        )
        return template
