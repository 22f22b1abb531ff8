"""Fill the database with a believable book of demo customers: `manage.py seed_demo`.

Everything comes from one seed, so two runs with the same --seed on the same day
give the same data (dates are relative to today, so the demo never looks stale).
Rows go in with bulk_create, which skips Customer.save(): the denormalised columns
(search_text, phone_normalized) are filled here, and last contact is set with one
UPDATE at the end.

The demo logins have trivial passwords on purpose. Never seed a database that is
reachable from the internet.
"""

import random
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone
from faker import Faker

from customers.access import ACCOUNT_MANAGER, ADMIN, STAFF
from customers.models import (
    Company,
    Customer,
    Interaction,
    Tag,
    build_search_text,
    normalize_phone,
)

Kind = Interaction.Kind
Direction = Interaction.Direction
Sentiment = Interaction.Sentiment
Status = Customer.Status


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    superuser: bool = False


DEMO_USERS = (
    DemoUser("admin", "Alex", "Admin", ADMIN, superuser=True),
    DemoUser("manager", "Morgan", "Manager", ACCOUNT_MANAGER),
    DemoUser("sam", "Sam", "Schneider", ACCOUNT_MANAGER),
    DemoUser("robin", "Robin", "Laurent", ACCOUNT_MANAGER),
    DemoUser("staff", "Sasha", "Support", STAFF),
)
# Share of each account manager's book; the rest (about 10%) is unassigned.
OWNER_WEIGHTS = {"manager": 36, "sam": 28, "robin": 26, None: 10}

# Faker locales per preferred language, with the country each one stands for.
LOCALES = {
    "en": [("en_GB", "United Kingdom"), ("en_US", "United States")],
    "de": [("de_DE", "Germany"), ("de_AT", "Austria"), ("de_CH", "Switzerland")],
    "fr": [("fr_FR", "France"), ("fr_CH", "Switzerland")],
    "es": [("es_ES", "Spain"), ("es_MX", "Mexico")],
    "nl": [("nl_NL", "Netherlands"), ("nl_BE", "Belgium")],
}
LANGUAGE_WEIGHTS = {"en": 45, "de": 22, "fr": 14, "es": 10, "nl": 9}
FREE_MAIL = {
    "en": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"],
    "de": ["gmail.com", "web.de", "gmx.de", "t-online.de"],
    "fr": ["gmail.com", "orange.fr", "free.fr", "laposte.net"],
    "es": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
    "nl": ["gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"],
}
TLDS = {"en": "co.uk", "de": "de", "fr": "fr", "es": "es", "nl": "nl"}
INDUSTRIES = [
    "Retail",
    "Wholesale",
    "Hospitality",
    "Manufacturing",
    "Logistics",
    "Healthcare",
    "Construction",
    "Software",
    "Education",
    "Professional services",
    "Food & beverage",
    "Real estate",
]

STATUS_WEIGHTS = {
    Status.ACTIVE: 62,
    Status.LEAD: 8,
    Status.ONBOARDING: 8,
    Status.AT_RISK: 10,
    Status.CHURNED: 12,
}
# Plan name -> (weight, lowest and highest monthly value).
PLANS = {
    "Starter": (40, 29, 79),
    "Growth": (32, 99, 249),
    "Pro": (20, 299, 699),
    "Enterprise": (8, 1200, 6000),
}
CHURN_REASONS = [
    "Moved to a competitor",
    "Too expensive",
    "Business closed",
    "Missing features",
    "Poor support experience",
    "Merged with another company",
    "No longer needed",
]
TAG_NAMES = ["VIP", "Newsletter", "Wholesale", "Partner", "Trial", "Enterprise", "Referral"]

KIND_WEIGHTS = {
    Kind.CALL: 24,
    Kind.EMAIL: 30,
    Kind.MEETING: 8,
    Kind.NOTE: 12,
    Kind.SERVICE_REQUEST: 10,
    Kind.COMPLAINT: 3,
    Kind.PURCHASE: 9,
    Kind.DISCOUNT_REQUEST: 3,
}
KIND_DIRECTIONS = {
    Kind.CALL: [Direction.INBOUND, Direction.OUTBOUND],
    Kind.EMAIL: [Direction.INBOUND, Direction.OUTBOUND],
    Kind.MEETING: [Direction.OUTBOUND],
    Kind.NOTE: [Direction.INTERNAL],
    Kind.SERVICE_REQUEST: [Direction.INBOUND],
    Kind.COMPLAINT: [Direction.INBOUND],
    Kind.PURCHASE: [Direction.INBOUND],
    Kind.DISCOUNT_REQUEST: [Direction.INBOUND],
    Kind.CANCELLATION: [Direction.INBOUND],
}

TOPICS = [
    "the invoice for {month}",
    "adding user seats",
    "the new reporting module",
    "the integration with their ERP",
    "delivery times",
    "pricing for next year",
    "the mobile app",
    "exporting their data",
    "training for new staff",
    "the upgrade to {next_plan}",
    "single sign-on",
    "the API rate limits",
]
SUBJECTS = {
    Kind.CALL: [
        "Check-in call with {first}",
        "Quarterly review call",
        "Call about {topic}",
        "Returned {first}'s call",
        "Renewal call",
        "Follow-up call on {topic}",
    ],
    Kind.EMAIL: [
        "Re: {topic}",
        "Question about {topic}",
        "Sent the {month} usage report",
        "Re: your {plan} plan",
        "Welcome pack and next steps",
        "Follow-up: {topic}",
    ],
    Kind.MEETING: [
        "Business review with {first}",
        "On-site visit at {company}",
        "Workshop: {topic}",
        "Planning meeting for next quarter",
    ],
    Kind.NOTE: [
        "Internal note: {topic}",
        "{first} prefers email over phone",
        "Budget cycle starts in {month}",
        "Decision maker changed",
        "Possible upsell: {next_plan}",
    ],
    Kind.SERVICE_REQUEST: [
        "Cannot log in",
        "Help with {topic}",
        "Report shows wrong totals",
        "Request: change billing address",
        "Password reset for a colleague",
        "Import failed with an error",
    ],
    Kind.COMPLAINT: [
        "Complaint: invoice charged twice",
        "Complaint: support took {days} days to answer",
        "Unhappy with {topic}",
        "Complaint: outage during business hours",
        "Complaint: promised feature still missing",
    ],
    Kind.PURCHASE: [
        "Purchase: {seats} extra seats",
        "Annual prepayment",
        "Bought the {addon} add-on",
        "Order: training package",
        "Upgrade to {next_plan}",
    ],
    Kind.DISCOUNT_REQUEST: [
        "Asked for a discount on renewal",
        "Discount request: {percent}% off",
        "Wants a better price than {competitor}",
    ],
    Kind.CANCELLATION: ["Cancellation: {reason}"],
}
BODIES = {
    Kind.CALL: [
        "Talked through {topic}. {first} sounded {mood}. Agreed to follow up {when}.",
        "Short call. No open issues; {first} asked about {topic}.",
        "{first} called back about {topic}. Sent a summary afterwards.",
    ],
    Kind.EMAIL: [
        "Answered {first}'s questions about {topic} and attached the documentation.",
        "Sent an overview of {topic}. Waiting for a reply.",
        "{first} confirmed by email; nothing else needed for now.",
    ],
    Kind.MEETING: [
        "Went through the last quarter with {first} and their team. Main topic: {topic}.",
        "Demoed {topic}. Good questions from the team; next step {when}.",
    ],
    Kind.NOTE: [
        "Keep in mind for the renewal conversation.",
        "From the last conversation: {topic} matters most to them.",
        "",
    ],
    Kind.SERVICE_REQUEST: [
        "Support ticket opened. Solved within the day after a screen share.",
        "Escalated to second level; {first} was informed.",
        "Walked {first} through {topic}. Closed.",
    ],
    Kind.COMPLAINT: [
        "{first} is frustrated and mentioned looking at {competitor}. Needs a call {when}.",
        "Apologised and promised a credit note. {first} still not happy.",
        "Second complaint this quarter. Flagged to the account manager.",
    ],
    Kind.PURCHASE: [
        "Order confirmed by {first}. Invoice sent.",
        "Paid by bank transfer.",
        "",
    ],
    Kind.DISCOUNT_REQUEST: [
        "{first} says {competitor} offers a lower price. Asked for {percent}% off.",
        "Budget is tight this year; asked whether we can keep last year's price.",
    ],
    Kind.CANCELLATION: [
        "{first} cancelled the {plan} plan. Reason given: {reason}.",
    ],
}
MOODS = ["happy", "relaxed", "busy", "a bit impatient", "positive", "hesitant"]
WHEN = ["next week", "in two weeks", "after their board meeting", "before the renewal", "on Monday"]
ADDONS = ["Analytics", "Extra storage", "Premium support", "Multi-site", "API access"]
COMPETITORS = ["Acme CRM", "Salesbook", "Clientwise", "Pipewell"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NEXT_PLAN = {"Starter": "Growth", "Growth": "Pro", "Pro": "Enterprise", "Enterprise": "Enterprise"}

DUPLICATE_PAIRS = 6  # of each kind: same email in another case, same name and phone
LONG_HISTORY_SHARE = 0.003  # customers with a history of 200+ interactions
CHUNK = 1000  # customers generated and written per round


WORD_CHOICES = {"mood": MOODS, "when": WHEN, "addon": ADDONS, "competitor": COMPETITORS}


class _Words(dict):
    """Template words, each drawn (from the seeded generator) only when a template uses it."""

    def __init__(self, draw) -> None:
        super().__init__()
        self.draw = draw

    def __missing__(self, key: str):
        value = self[key] = self.draw(key)
        return value


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class Command(BaseCommand):
    help = "Create demo users, companies, customers and a year of interactions."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (except make sure the demo users exist) when any customer exists.",
        )
        parser.add_argument("--customers", type=int, default=3000, help="How many customers.")
        parser.add_argument("--seed", type=int, default=42, help="Seed for the random data.")

    def handle(self, *args, if_empty: bool, customers: int, seed: int, **options) -> None:
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        started = time.monotonic()
        with transaction.atomic():
            users, created_users = self.ensure_demo_users()
            if if_empty and Customer.objects.exists():
                self.stdout.write("Demo data already present")
                return
            seeder = DemoSeeder(seed=seed, users=users)
            stats = seeder.run(customers)
        elapsed = time.monotonic() - started
        self.print_summary(stats, created_users, elapsed)

    def ensure_demo_users(self) -> tuple[dict, list[str]]:
        User = get_user_model()
        users, created_names = {}, []
        for demo in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=demo.username,
                defaults={
                    "first_name": demo.first_name,
                    "last_name": demo.last_name,
                    "email": f"{demo.username}@example.com",
                    "is_staff": demo.superuser,
                    "is_superuser": demo.superuser,
                },
            )
            if created:
                # A demo password, deliberately trivial: set directly, skipping the validators.
                user.set_password(demo.username)
                user.save(update_fields=["password"])
                created_names.append(demo.username)
            user.groups.add(Group.objects.get(name=demo.role))
            users[demo.username] = user
        self.stderr.write(
            self.style.WARNING(
                "Demo logins (username = password): "
                + ", ".join(f"{d.username}/{d.username}" for d in DEMO_USERS)
                + ". These trivial passwords are for local demos only; never seed a server "
                "reachable from the internet."
            )
        )
        return users, created_names

    def print_summary(self, stats: dict, created_users: list[str], elapsed: float) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo data created in {elapsed:.1f} s"))
        if created_users:
            out.write(f"  users created:  {', '.join(created_users)}")
        out.write(f"  companies:      {stats['companies']}")
        out.write(f"  customers:      {stats['customers']}")
        for status, count in sorted(stats["statuses"].items()):
            out.write(f"    {status:<12} {count}")
        out.write(f"  unassigned:     {stats['unassigned']}")
        out.write(f"  interactions:   {stats['interactions']}")
        out.write(
            f"  longest history: {stats['longest_history']} interactions "
            f"(customer #{stats['longest_customer']})"
        )
        out.write(f"  duplicates:     {stats['duplicates']} planted for the Duplicates page")


class DemoSeeder:
    """Generates and writes the demo rows; deterministic for a given seed and day."""

    def __init__(self, *, seed: int, users: dict) -> None:
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        # Interactions end at midnight today, so two runs on one day are identical.
        self.until = datetime.combine(self.today, datetime.min.time(), tzinfo=UTC)
        self.fakers = {}
        for offset, (locale, _country) in enumerate(
            pair for pairs in LOCALES.values() for pair in pairs
        ):
            fake = Faker(locale)
            fake.seed_instance(seed + offset)
            self.fakers[locale] = fake
        self.owners = {name: users.get(name) if name else None for name in OWNER_WEIGHTS}
        self.recorders = [users["manager"], users["sam"], users["robin"], users["staff"]]
        self.used_emails: set[str] = set()
        self.stats = {
            "companies": 0,
            "customers": 0,
            "statuses": Counter(),
            "unassigned": 0,
            "interactions": 0,
            "longest_history": 0,
            "longest_customer": None,
            "duplicates": 0,
        }

    # --- Orchestration ----------------------------------------------------------

    def run(self, customer_count: int) -> dict:
        self.tags = self.ensure_tags()
        self.companies = self.create_companies(150)
        duplicate_count = min(2 * DUPLICATE_PAIRS, customer_count // 10)
        originals = customer_count - duplicate_count
        long_history = {
            self.rng.randrange(originals)
            for _ in range(max(1, round(originals * LONG_HISTORY_SHARE)))
        }
        created: list[Customer] = []
        for start in range(0, originals, CHUNK):
            batch = [
                self.make_customer(long_history=index in long_history)
                for index in range(start, min(start + CHUNK, originals))
            ]
            created.extend(self.write_customers(batch))
        if duplicate_count:
            twins = self.make_duplicates(created, duplicate_count)
            self.write_customers(twins)
        # One set-based UPDATE: last contact = the newest interaction of each customer.
        newest = (
            Interaction.objects.filter(customer=models.OuterRef("pk"))
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        )
        Customer.objects.filter(last_interaction_at__isnull=True).update(
            last_interaction_at=models.Subquery(newest)
        )
        return self.stats

    def write_customers(self, batch: list[tuple[Customer, list[str], int]]) -> list[Customer]:
        customers = Customer.objects.bulk_create([customer for customer, _, _ in batch])
        through = Customer.tags.through
        links, interactions = [], []
        for customer, (_, tag_names, history) in zip(customers, batch, strict=True):
            links.extend(
                through(customer_id=customer.pk, tag_id=self.tags[name].pk) for name in tag_names
            )
            rows = self.make_interactions(customer, history)
            interactions.extend(rows)
            self.count_customer(customer, len(rows))
        through.objects.bulk_create(links)
        Interaction.objects.bulk_create(interactions, batch_size=2000)
        return customers

    def count_customer(self, customer: Customer, interactions: int) -> None:
        self.stats["customers"] += 1
        self.stats["statuses"][customer.status] += 1
        self.stats["unassigned"] += customer.owner_id is None
        self.stats["interactions"] += interactions
        if interactions > self.stats["longest_history"]:
            self.stats["longest_history"] = interactions
            self.stats["longest_customer"] = customer.pk

    # --- Reference rows ---------------------------------------------------------

    def ensure_tags(self) -> dict[str, Tag]:
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=TAG_NAMES)}
        missing = [Tag(name=name) for name in TAG_NAMES if name not in existing]
        Tag.objects.bulk_create(missing)
        return {tag.name: tag for tag in Tag.objects.filter(name__in=TAG_NAMES)}

    def create_companies(self, count: int) -> list[tuple[Company, str]]:
        """`count` new companies, each with the language its people mostly speak."""
        taken = set(Company.objects.values_list("name", flat=True))
        planned = []
        while len(planned) < count:
            language = _weighted(self.rng, LANGUAGE_WEIGHTS)
            locale, _country = self.rng.choice(LOCALES[language])
            name = self.fakers[locale].company()
            if name in taken:
                continue
            taken.add(name)
            slug = _ascii(name.split(",")[0].split(" and ")[0])[:24] or "company"
            company = Company(
                name=name,
                industry=self.rng.choice(INDUSTRIES),
                website=f"https://www.{slug}.{TLDS[language]}",
            )
            planned.append((company, language))
        Company.objects.bulk_create([company for company, _ in planned])
        self.stats["companies"] += len(planned)
        return planned

    # --- Customers ----------------------------------------------------------------

    def make_customer(self, *, long_history: bool) -> tuple[Customer, list[str], int]:
        rng = self.rng
        company, language = None, _weighted(rng, LANGUAGE_WEIGHTS)
        if rng.random() < 0.7:
            company, language = rng.choice(self.companies)
        locale, country = rng.choice(LOCALES[language])
        fake = self.fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        phone = fake.phone_number().split("x")[0].strip()
        email = self.make_email(first, last, company, language)

        status = _weighted(rng, STATUS_WEIGHTS)
        plan, value, since, renewal, churned_on, churn_reason = (
            "",
            Decimal("0"),
            None,
            None,
            None,
            "",
        )
        if status != Status.LEAD:
            plan = _weighted(rng, {name: spec[0] for name, spec in PLANS.items()})
            low, high = PLANS[plan][1:]
            value = Decimal(rng.randrange(low * 100, high * 100, 100)) / 100
            age = rng.randint(5, 60) if status == Status.ONBOARDING else rng.randint(90, 3 * 365)
            since = self.today - timedelta(days=age)
            if status == Status.CHURNED:
                churned_on = self.today - timedelta(days=rng.randint(3, min(age - 1, 330)))
                churn_reason = rng.choice(CHURN_REASONS)
            elif rng.random() < 0.08:
                renewal = self.today - timedelta(days=rng.randint(1, 45))  # overdue
            else:
                renewal = self.today + timedelta(days=rng.randint(1, 365))
        owner = self.owners[_weighted(rng, OWNER_WEIGHTS)]
        customer = Customer(
            name=name,
            email=email,
            phone=phone,
            company=company,
            address=fake.street_address(),
            city=fake.city(),
            country=country,
            preferred_language=language,
            owner=owner,
            status=status,
            customer_since=since,
            renewal_date=renewal,
            plan=plan,
            monthly_value=value,
            marketing_consent=rng.random() < 0.7,
            churned_on=churned_on,
            churn_reason=churn_reason,
            created_at=self.at_day(since or self.today - timedelta(days=rng.randint(1, 120))),
            search_text=build_search_text(name, email, company.name if company else ""),
            phone_normalized=normalize_phone(phone),
        )
        history = self.history_length(status, long_history)
        return customer, self.pick_tags(customer), history

    def make_email(self, first: str, last: str, company: Company | None, language: str) -> str:
        rng = self.rng
        first_ascii, last_ascii = _ascii(first) or "info", _ascii(last) or "contact"
        local = rng.choice(
            [
                f"{first_ascii}.{last_ascii}",
                f"{first_ascii[0]}.{last_ascii}",
                f"{first_ascii}{last_ascii}",
                f"{first_ascii}_{last_ascii}",
            ]
        )
        if company is not None:
            domain = company.website.removeprefix("https://www.")
        else:
            domain = rng.choice(FREE_MAIL[language])
        email, number = f"{local}@{domain}", 1
        while email in self.used_emails:  # only the planted duplicates share an email
            number += 1
            email = f"{local}{number}@{domain}"
        self.used_emails.add(email)
        return email

    def pick_tags(self, customer: Customer) -> list[str]:
        rng, names = self.rng, []
        if rng.random() < 0.35:
            names.append("Newsletter")
        if (customer.monthly_value >= 500 and rng.random() < 0.5) or rng.random() < 0.03:
            names.append("VIP")
        if customer.plan == "Enterprise":
            names.append("Enterprise")
        if rng.random() < 0.08:
            names.append("Wholesale")
        if rng.random() < 0.05:
            names.append("Partner")
        if customer.status in (Status.LEAD, Status.ONBOARDING) and rng.random() < 0.5:
            names.append("Trial")
        if rng.random() < 0.04:
            names.append("Referral")
        return names

    def make_duplicates(self, originals: list[Customer], count: int) -> list[tuple]:
        """Copies of a few customers: same email in another case, or same name and phone."""
        twins = []
        for index, source in enumerate(self.rng.sample(originals, count)):
            if index % 2 == 0:
                local, domain = source.email.split("@")
                email = f"{local.title()}@{domain.upper()}"
                phone = self.fakers["en_GB"].phone_number()
            else:
                first, _, last = source.name.partition(" ")
                email = self.make_email(first, last, None, source.preferred_language)
                phone = source.phone.replace(" ", "")  # same number, written differently
            twin = Customer(
                name=source.name,
                email=email,
                phone=phone,
                company=source.company,
                city=source.city,
                country=source.country,
                preferred_language=source.preferred_language,
                owner=self.owners[_weighted(self.rng, OWNER_WEIGHTS)],
                status=Status.LEAD,
                marketing_consent=False,
                created_at=self.at_day(self.today - timedelta(days=self.rng.randint(1, 60))),
                search_text=build_search_text(
                    source.name, email, source.company.name if source.company else ""
                ),
                phone_normalized=normalize_phone(phone),
            )
            twins.append((twin, [], self.rng.randint(1, 4)))
        self.stats["duplicates"] += len(twins)
        return twins

    def history_length(self, status: str, long_history: bool) -> int:
        if long_history:
            return self.rng.randint(200, 420)
        if status == Status.LEAD:
            return self.rng.randint(1, 8)
        # Mostly 5-40, skewed towards the lower end.
        return 5 + int(35 * self.rng.random() ** 1.4)

    # --- Interactions ---------------------------------------------------------------

    def make_interactions(self, customer: Customer, count: int) -> list[Interaction]:
        rng = self.rng
        start = self.until - timedelta(days=365)
        if customer.customer_since:
            start = max(start, self.at_day(customer.customer_since))
        else:
            start = max(start, customer.created_at)
        end = self.until
        if customer.churned_on:
            end = self.at_day(customer.churned_on) + timedelta(hours=17)
        span = max((end - start).total_seconds(), 3600.0)
        recent = end - timedelta(days=90)
        weights = dict(KIND_WEIGHTS)
        if customer.status == Status.LEAD:
            weights.update({Kind.PURCHASE: 0, Kind.SERVICE_REQUEST: 0, Kind.DISCOUNT_REQUEST: 0})
        # Ids, not users: assigning model instances costs more than the rest of the row.
        recorder_pool = [customer.owner_id] * 4 if customer.owner_id else []
        recorder_pool += [user.pk for user in self.recorders]
        rows = []
        for _ in range(count):
            occurred = self.business_hours(start + timedelta(seconds=rng.random() * span), end)
            kind = _weighted(rng, weights)
            if customer.status == Status.AT_RISK and occurred > recent and rng.random() < 0.3:
                kind = rng.choice([Kind.COMPLAINT, Kind.DISCOUNT_REQUEST, Kind.COMPLAINT])
            rows.append(self.make_interaction(customer, kind, occurred, rng.choice(recorder_pool)))
        if customer.status == Status.CHURNED and customer.churned_on:
            occurred = self.at_day(customer.churned_on) + timedelta(hours=rng.randint(9, 16))
            rows.append(
                self.make_interaction(customer, Kind.CANCELLATION, occurred, customer.owner_id)
            )
        return rows

    def make_interaction(
        self, customer: Customer, kind: str, occurred: datetime, recorder_id: int | None
    ) -> Interaction:
        rng = self.rng
        words = _Words(lambda key: self.word(key, customer, occurred, words))
        amount = None
        monthly = customer.monthly_value or Decimal("49")
        if kind == Kind.PURCHASE:
            amount = (monthly * rng.choice([1, 1, 2, 3, 6, 12])).quantize(Decimal("0.01"))
        elif kind == Kind.DISCOUNT_REQUEST:
            amount = (monthly * 12 * words["percent"] / 100).quantize(Decimal("0.01"))
        elif kind == Kind.CANCELLATION:
            amount = monthly
        if kind in (Kind.COMPLAINT, Kind.CANCELLATION):
            sentiment = Sentiment.NEGATIVE
        elif kind in (Kind.NOTE, Kind.PURCHASE):
            sentiment = ""
        elif customer.status in (Status.AT_RISK, Status.CHURNED) and rng.random() < 0.35:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = rng.choice([Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEUTRAL, ""])
        return Interaction(
            customer_id=customer.pk,
            kind=kind,
            direction=rng.choice(KIND_DIRECTIONS[kind]),
            subject=rng.choice(SUBJECTS[kind]).format_map(words)[:200],
            body=rng.choice(BODIES[kind]).format_map(words),
            amount=amount,
            sentiment=sentiment,
            occurred_at=occurred,
            recorded_by_id=recorder_id,
        )

    def word(self, key: str, customer: Customer, occurred: datetime, words: dict) -> object:
        """One placeholder of the subject and body templates."""
        rng = self.rng
        match key:
            case "first":
                return customer.first_name
            case "company":
                return customer.company.name if customer.company else customer.name
            case "plan":
                return customer.plan or "Starter"
            case "next_plan":
                return NEXT_PLAN.get(customer.plan, "Growth")
            case "month":
                return MONTHS[(occurred.month - 2) % 12]
            case "topic":
                return rng.choice(TOPICS).format_map(words)
            case "reason":
                return (customer.churn_reason or "no reason given").lower()
            case "days":
                return rng.randint(3, 9)
            case "seats":
                return rng.randint(2, 25)
            case "percent":
                return rng.choice([5, 10, 15, 20, 25])
        return rng.choice(WORD_CHOICES[key])

    # --- Dates --------------------------------------------------------------------

    def at_day(self, day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=UTC)

    def business_hours(self, moment: datetime, end: datetime) -> datetime:
        """The same day (a weekday) between 08:00 and 18:00, never after `end`."""
        day = moment.date()
        if day.weekday() >= 5:
            day -= timedelta(days=day.weekday() - 4)  # back to Friday
        snapped = self.at_day(day) + timedelta(
            hours=self.rng.randint(8, 17), minutes=self.rng.randint(0, 59)
        )
        return min(snapped, end - timedelta(minutes=self.rng.randint(1, 600)))
