"""Building the demo data: companies, customers with their tags, planted duplicates, histories.

Everything comes from one seeded generator (and seeded Faker instances), so two
runs with the same seed on the same day give the same rows; dates are relative
to today, so the demo never looks stale. Rows go in with bulk_create, which skips
Customer.save(): the denormalised columns (search_text, phone_normalized) are
filled here, and last contact is set with one UPDATE at the end.
"""

import random
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from faker import Faker

from customers.models import (
    Company,
    Customer,
    Interaction,
    StatusChange,
    Tag,
    build_search_text,
    normalize_phone,
)

from .history import StatusStories
from .interactions import InteractionMaker, at_day
from .vocabulary import (
    CHURN_REASONS,
    DEMO_USERS,
    FREE_MAIL,
    INDUSTRIES,
    LANGUAGE_WEIGHTS,
    LOCALES,
    OWNER_WEIGHTS,
    PLANS,
    STATUS_WEIGHTS,
    TAG_NAMES,
    TLDS,
    weighted,
)

Status = Customer.Status

DUPLICATE_PAIRS = 6  # of each kind: same email in another case, same name and phone
LONG_HISTORY_SHARE = 0.003  # customers with a history of 200+ interactions
CHUNK = 1000  # customers generated and written per round


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def ensure_demo_users() -> tuple[dict, list[str]]:
    """The demo logins by username, created if missing, and the usernames created now."""
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
    return users, created_names


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
            "open_tickets": 0,
            "longest_history": 0,
            "longest_customer": None,
            "duplicates": 0,
            "reactivated": 0,
        }
        self.interaction_maker = InteractionMaker(
            rng=self.rng,
            until=self.until,
            recorders=self.recorders,
            # A generator of its own: tickets' states do not shift the other draws.
            resolution_rng=random.Random(f"{seed}:resolutions"),
        )
        # The status history's dates, from a generator of their own too.
        self.stories = StatusStories(rng=random.Random(f"{seed}:history"), today=self.today)

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
            rows = self.interaction_maker.make_interactions(customer, history)
            interactions.extend(rows)
            self.count_customer(customer, len(rows))
            self.stats["open_tickets"] += sum(row.is_open for row in rows)
        through.objects.bulk_create(links)
        Interaction.objects.bulk_create(interactions, batch_size=2000)
        # bulk_create skips Customer.save: the history is written here.
        StatusChange.objects.bulk_create(self.stories.rows(customers), batch_size=2000)
        self.stats["reactivated"] = self.stories.reactivated
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
            language = weighted(self.rng, LANGUAGE_WEIGHTS)
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
        company, language = None, weighted(rng, LANGUAGE_WEIGHTS)
        if rng.random() < 0.7:
            company, language = rng.choice(self.companies)
        locale, country = rng.choice(LOCALES[language])
        fake = self.fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        phone = fake.phone_number().split("x")[0].strip()
        if language == "zh-hant":
            # Family name first, no space (陳麗玲); the address from a romanised name.
            name = f"{last}{first}"
            email = self.make_email(
                fake.first_romanized_name(), fake.last_romanized_name(), company, language
            )
        else:
            email = self.make_email(first, last, company, language)

        status = weighted(rng, STATUS_WEIGHTS)
        plan, value, since, renewal, churned_on, churn_reason = (
            "",
            Decimal("0"),
            None,
            None,
            None,
            "",
        )
        if status != Status.LEAD:
            plan = weighted(rng, {name: spec[0] for name, spec in PLANS.items()})
            low, high = PLANS[plan][1:]
            value = Decimal(rng.randrange(low * 100, high * 100, 100)) / 100
            age = rng.randint(5, 60) if status == Status.ONBOARDING else rng.randint(90, 3 * 365)
            since = self.today - timedelta(days=age)
            if status == Status.CHURNED:
                churned_on = self.today - timedelta(days=rng.randint(3, min(age - 1, 330)))
                churn_reason = rng.choice(CHURN_REASONS)
            elif rng.random() < 0.08:
                # Renewing this month: a contract that is still running renews in the future.
                renewal = self.today + timedelta(days=rng.randint(1, 30))
            else:
                renewal = self.today + timedelta(days=rng.randint(1, 365))
        owner = self.owners[weighted(rng, OWNER_WEIGHTS)]
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
            created_at=at_day(since or self.today - timedelta(days=rng.randint(1, 120))),
            search_text=build_search_text(name, email, company.name if company else ""),
            phone_normalized=normalize_phone(phone),
        )
        self.stories.adjust(customer)
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
                owner=self.owners[weighted(self.rng, OWNER_WEIGHTS)],
                status=Status.LEAD,
                marketing_consent=False,
                created_at=at_day(self.today - timedelta(days=self.rng.randint(1, 60))),
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
