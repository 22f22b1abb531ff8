"""The bench data set: 100,000 customers and 2,000,000 interactions, loaded with COPY.

Rows come from cheap deterministic Python (one random.Random(42), small word
lists; Faker per row would take minutes) and stream into PostgreSQL through
psycopg 3's COPY, all in one transaction, so a failed load leaves nothing behind.
Two marker customers are known by email: the one with the longest history (5,000
interactions) and one with a short history, so a later run finds them again.
"""

import random
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from customers.access import ACCOUNT_MANAGER, ADMIN
from customers.models import Company, Customer, Interaction, Tag, build_search_text

CUSTOMERS = 100_000
INTERACTIONS = 2_000_000
LONGEST_HISTORY = 5_000
SHORT_HISTORY = 3
COMPANIES = 2_000
ACCOUNT_MANAGERS = 4
ADMIN_USERNAME = "bench-admin"
MANAGER_USERNAMES = [f"bench-manager-{n}" for n in range(1, ACCOUNT_MANAGERS + 1)]
LONGEST_EMAIL = "longest.history@bench.example"
SHORT_EMAIL = "short.history@bench.example"
# A surname in the word list below: about 1 customer in 160 has it. The bench searches
# for a part of it, which must not occur anywhere else in names, emails or companies.
SEARCH_SURNAME = "Lindqvist"
SEARCH_TERM = "lindqv"
TAG_NAMES = ["VIP", "Newsletter", "Wholesale", "Partner", "Trial", "Enterprise"]
FILTER_TAG = "VIP"
HISTORY_DAYS = 2 * 365

FIRST_NAMES = (  # noqa: SIM905 (word lists read better as words)
    "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Karin Lukas Mia Noah Olga Paul "
    "Rosa Simon Tara Umar Vera Willem Xenia Yusuf Zoe Amelie Bruno Chloe Daan Elena Fabian "
    "Gabriel Hanna Ines Julien Kees Laura Marco Nina Oscar Pia Quentin Rafael Sofia Thomas "
    "Ulla Victor Wim Yara Adrian Beatriz Camille Dirk Elif Finn Giulia Henrik Irene Jan "
    "Lea Mateo Nora Pedro Ruth Sven Teresa Uwe Valentina Xavier Aylin Bram Carmen Emil Fleur"
).split()
LAST_NAMES = (
    (
        "Smith Jones Taylor Brown Wilson Evans Walker Wright Robinson Thompson Müller Schmidt "
        "Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Martin Bernard Dubois "
        "Durand Leroy Moreau Simon Laurent Lefebvre Michel García Fernández González Rodríguez "
        "López Martínez Sánchez Pérez Gómez Ruiz de_Jong Jansen de_Vries van_den_Berg van_Dijk "
        "Bakker Visser Smit Meijer de_Boer Rossi Russo Ferrari Esposito Bianchi Romano Colombo "
        "Ricci Marino Greco Novak Horvat Kowalski Nowak Wiśniewski Dąbrowski Lewandowski "
        "Johansson Andersson Karlsson Nilsson Eriksson Larsson Olsen Hansen Pedersen Nielsen "
        "Lindqvist Murphy Kelly Byrne Ryan O'Brien Walsh Costa Silva Santos Oliveira Pereira "
        "Yilmaz Kaya Demir Çelik Şahin Papadopoulos Nagy Tóth Szabó Horváth Dvořák Svoboda "
        "Novotný Popescu Ionescu Petrov Ivanov Kuznetsov Sokolov Berg Haugen Virtanen Korhonen "
        "Mäkinen Nieminen Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters "
        "Dupont Lambert Fontaine Rousseau Vincent Muller Lefevre Faure Andre Mercier Blanc "
        "Guerin Boyer Garnier Chevalier Francois Legrand Gauthier Garcia Perrin Robin Clement "
        "Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie "
        "Lemaire Noel Meyer Dufour Meunier Brun Blanchard Giraud Joly Riviere Lucas Brunet"
    )
    .replace("_", " ")
    .split(" ")
)
COMPANY_WORDS = (  # noqa: SIM905
    "Nordic Alpine Atlantic Bright Cedar Delta Evergreen Falcon Granite Harbor Iris Juniper "
    "Keystone Lumen Meridian Northwind Orchid Pioneer Quartz Riverside Summit Tidal Union "
    "Vertex Willow Zenith Amber Beacon Cobalt Dune"
).split()
COMPANY_SUFFIXES = ["GmbH", "Ltd", "SARL", "S.L.", "B.V.", "AG", "Inc", "& Co", "Group", "SA"]
INDUSTRIES = ["Retail", "Wholesale", "Hospitality", "Manufacturing", "Logistics", "Software"]
CITIES = {
    "en": ("United Kingdom", ["London", "Leeds", "Bristol", "Glasgow", "Manchester"]),
    "de": ("Germany", ["Berlin", "Hamburg", "München", "Köln", "Leipzig"]),
    "tr": ("Turkey", ["İstanbul", "Ankara", "İzmir", "Bursa", "Antalya"]),
    "zh-hant": ("Taiwan", ["臺北", "新北", "臺中", "高雄", "桃園"]),
}
# settings.LANGUAGES (issue 18), in the demo data's proportions (customers/demo/vocabulary.py).
LANGUAGES = ["en"] * 45 + ["de"] * 25 + ["tr"] * 16 + ["zh-hant"] * 14
STATUSES = ["active"] * 62 + ["lead"] * 8 + ["onboarding"] * 8 + ["at_risk"] * 10 + ["churned"] * 12
PLANS = [("Starter", 29, 79)] * 40 + [("Growth", 99, 249)] * 32 + [("Pro", 299, 699)] * 20
PLANS += [("Enterprise", 1200, 6000)] * 8

# (kind, directions, sentiments, subjects, has amount), repeated by weight.
_KINDS = [
    ("call", 24, ["inbound", "outbound"], ["", "positive", "neutral"],
     ["Check-in call", "Quarterly review call", "Call about pricing", "Renewal call"], False),
    ("email", 30, ["inbound", "outbound"], ["", "neutral", "positive"],
     ["Re: invoice", "Question about seats", "Usage report sent", "Re: onboarding"], False),
    ("meeting", 8, ["outbound"], ["positive", "neutral"],
     ["Business review", "On-site visit", "Product workshop"], False),
    ("note", 12, ["internal"], [""],
     ["Prefers email", "Budget cycle in spring", "Decision maker changed"], False),
    ("service_request", 10, ["inbound"], ["", "neutral"],
     ["Cannot log in", "Report shows wrong totals", "Import failed"], False),
    ("complaint", 3, ["inbound"], ["negative"],
     ["Invoice charged twice", "Slow support answer", "Outage during business hours"], False),
    ("purchase", 9, ["inbound"], [""],
     ["Extra seats", "Annual prepayment", "Analytics add-on"], True),
    ("discount_request", 4, ["inbound"], ["neutral", "negative"],
     ["Asked for a renewal discount", "Competitor offers a lower price"], True),
]  # fmt: skip
KIND_POOL = [spec for spec in _KINDS for _ in range(spec[1])]
BODY = (
    "Talked it through with the customer; follow-up agreed for next week. "
    "Summary sent by email afterwards."
)
# Complaints and service requests: most resolved within days, some left open (more
# often the recent ones). Drawn from a generator of their own, so every other value
# of the data set is the same as before tickets had a state.
TICKET_KINDS = frozenset(kind.value for kind in Interaction.KINDS_WITH_STATE)
TICKET_RECENT_SECONDS = 14 * 86400
TICKET_OPEN_CHANCE = (0.3, 0.05)  # (within TICKET_RECENT_SECONDS, older)
TICKET_MEAN_HOURS = 60
OPEN = (None, None)  # (resolved_at, resolved_by_id) of an open ticket, or any other kind

# Churn stories: the patterns retention/signals.py looks for, given to a share of the
# scored customers (active, onboarding, at risk; more often to those already marked at
# risk) so that a recompute puts a realistic share (about 1 in 8) at medium or high risk.
# A story scripts some of the customer's interactions (kind, how many days back at most)
# and may move the renewal date or silence the customer's recent history.
QUIET = "quiet before renewal"  # regular contact until 150-330 days ago, renewal within 30 days
UNHAPPY = "unhappy near renewal"  # complaints and a discount request, renewal within ±60 days
CANCELLING = "cancelling"  # asked to cancel or not renew (forces high risk)
SUPPORT = "support trouble"  # service requests piling up this month, and a complaint
STORY_CHANCES = {
    "active": [(QUIET, 0.04), (UNHAPPY, 0.05), (CANCELLING, 0.015), (SUPPORT, 0.03)],
    "onboarding": [(QUIET, 0.05), (UNHAPPY, 0.04), (CANCELLING, 0.01), (SUPPORT, 0.06)],
    "at_risk": [(QUIET, 0.12), (UNHAPPY, 0.15), (CANCELLING, 0.08), (SUPPORT, 0.08)],
}
QUIET_DAYS = (150, 330)
# (kind, direction, subject, sentiment, has amount, within days); before the random rows.
STORY_SCRIPTS = {
    QUIET: [],
    UNHAPPY: [
        ("complaint", "inbound", "Invoice charged twice", "negative", False, 60),
        ("email", "inbound", "Re: still waiting for an answer", "negative", False, 75),
        ("discount_request", "inbound", "Competitor offers a lower price", "negative", True, 40),
    ],
    CANCELLING: [
        ("cancellation", "inbound", "Will not renew the contract", "negative", True, 150),
    ],
    SUPPORT: [
        ("service_request", "inbound", "Cannot log in", "neutral", False, 25),
        ("service_request", "inbound", "Import failed", "neutral", False, 25),
        ("service_request", "inbound", "Report shows wrong totals", "neutral", False, 25),
        ("complaint", "inbound", "Slow support answer", "negative", False, 60),
    ],
}
# Fewest interactions of a story customer: the scripted ones plus a rhythm to break.
STORY_MIN_HISTORY = {QUIET: 16, UNHAPPY: 8, CANCELLING: 8, SUPPORT: 8}


@dataclass(frozen=True)
class Dataset:
    """What the page timings need to know about the loaded data."""

    admin: models.Model
    manager: models.Model
    longest_history_pk: int
    short_history_pk: int
    search_term: str
    filter_tag_pk: int
    load_seconds: float | None = None  # None: the database already held the data set


def is_loaded() -> bool:
    return (
        get_user_model().objects.filter(username=ADMIN_USERNAME).exists()
        and Customer.objects.filter(email=LONGEST_EMAIL).exists()
    )


def dataset(load_seconds: float | None = None) -> Dataset:
    User = get_user_model()
    return Dataset(
        admin=User.objects.get(username=ADMIN_USERNAME),
        manager=User.objects.get(username=MANAGER_USERNAMES[0]),
        longest_history_pk=Customer.objects.get(email=LONGEST_EMAIL).pk,
        short_history_pk=Customer.objects.get(email=SHORT_EMAIL).pk,
        search_term=SEARCH_TERM,
        filter_tag_pk=Tag.objects.get(name=FILTER_TAG).pk,
        load_seconds=load_seconds,
    )


def ensure_loaded(log=print) -> Dataset:
    """Load the data set unless this database already holds it."""
    if is_loaded():
        log(f"Data set already loaded ({Customer.objects.count():,} customers); reusing it.")
        return dataset()
    if Customer.objects.exists():
        raise SystemExit(
            "This database holds customers that are not the bench data set. "
            "Run the bench on an empty database (`make bench` makes a throwaway one)."
        )
    return dataset(load_seconds=Loader(seed=42, log=log).load())


def copy_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY `rows` (values for `columns`) into `model`'s table; other columns get defaults.

    Defaults come from the model fields (evaluated once), so a column another app adds
    later does not break the bench.
    """
    given = set(columns)
    rest = [
        field
        for field in model._meta.concrete_fields
        if field.column not in given and not field.primary_key
    ]
    now = timezone.now()
    defaults = []
    for field in rest:
        auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        value = field.get_db_prep_save(now if auto_now else field.get_default(), connection)
        # As text: psycopg's date and datetime dumping is slow, and this repeats per row.
        defaults.append(value.isoformat() if isinstance(value, date | datetime) else value)
    tail = tuple(defaults)
    all_columns = ", ".join(
        connection.ops.quote_name(c) for c in [*columns, *(f.column for f in rest)]
    )
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({all_columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + tail)
                count += 1
    return count


@dataclass
class SetAside:
    """A table's secondary indexes and foreign keys, dropped for a bulk load."""

    table: str
    indexes: list[str]  # CREATE INDEX statements
    foreign_keys: list[tuple[str, str]]  # (name, definition)

    @classmethod
    def take(cls, model: type[models.Model]) -> "SetAside":
        table = model._meta.db_table
        with connection.cursor() as cursor:
            # Indexes that back a constraint (primary key, unique) stay.
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = %s::regclass
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                """,
                [table],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            foreign_keys = cursor.fetchall()
            quoted_table = connection.ops.quote_name(table)
            for name, _definition in foreign_keys:
                cursor.execute(
                    f"ALTER TABLE {quoted_table} DROP CONSTRAINT {connection.ops.quote_name(name)}"
                )
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")  # a regclass name, quoted as needed
        return cls(table, [definition for _, definition in indexes], foreign_keys)

    def restore(self) -> None:
        quoted_table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in self.indexes:
                cursor.execute(definition)
            for name, definition in self.foreign_keys:
                cursor.execute(
                    f"ALTER TABLE {quoted_table} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(name)} {definition}"
                )


class Loader:
    def __init__(self, *, seed: int, log=print) -> None:
        self.rng = random.Random(seed)
        self.resolution_rng = random.Random(f"{seed}:resolutions")
        self.log = log
        self.now = timezone.now().replace(microsecond=0)
        self.today = self.now.date()
        self.now_text = self.now.isoformat()

    def load(self) -> float:
        """Load everything; returns the seconds it took."""
        started = time.monotonic()
        with transaction.atomic():
            self.create_users_and_tags()
            # Indexes and foreign keys are rebuilt once at the end: far faster than
            # maintaining them (and checking 4 million references) row by row.
            set_aside = {
                model: SetAside.take(model)
                for model in (Customer, Customer.tags.through, Interaction)
            }
            self.step("companies", lambda: copy_rows(Company, *self.companies()))
            self.first_customer = self.next_id(Customer)
            self.step("customers", lambda: copy_rows(Customer, *self.customers()))
            self.step("customer tags", lambda: copy_rows(Customer.tags.through, *self.tags()))
            self.step("interactions", lambda: copy_rows(Interaction, *self.interactions()))
            # The interaction indexes first: the last-contact UPDATE reads the timeline index.
            self.step("indexes (1/2)", set_aside.pop(Interaction).restore)
            self.step("last contact", self.set_last_contact)
            self.step("indexes (2/2)", lambda: [aside.restore() for aside in set_aside.values()])
            for model in (Company, Customer):
                self.reset_sequence(model)
            committing = time.monotonic()
        self.log(f"  {'commit':<30}{time.monotonic() - committing:6.1f} s")
        self.step("vacuum analyze", self.vacuum_analyze)
        elapsed = time.monotonic() - started
        self.log(f"Loaded the data set in {elapsed:.1f} s")
        return elapsed

    def step(self, label: str, action) -> None:
        started = time.monotonic()
        count = action()
        rows = f"{count:>10,} rows " if isinstance(count, int) else " " * 16
        self.log(f"  {label:<14}{rows}{time.monotonic() - started:6.1f} s")

    # --- Reference rows --------------------------------------------------------------

    def create_users_and_tags(self) -> None:
        User = get_user_model()
        admin = User.objects.create(
            username=ADMIN_USERNAME, first_name="Bench", last_name="Admin",
            is_staff=True, is_superuser=True,
        )  # fmt: skip
        admin.groups.add(Group.objects.get(name=ADMIN))
        managers = []
        for number, username in enumerate(MANAGER_USERNAMES, start=1):
            user = User.objects.create(
                username=username, first_name="Bench", last_name=f"Manager {number}"
            )
            user.groups.add(Group.objects.get(name=ACCOUNT_MANAGER))
            managers.append(user)
        for user in [admin, *managers]:
            user.set_unusable_password()  # the bench logs in with force_login only
            user.save(update_fields=["password"])
        self.manager_ids = [user.pk for user in managers]
        Tag.objects.bulk_create([Tag(name=name) for name in TAG_NAMES], ignore_conflicts=True)
        self.tag_ids = dict(Tag.objects.filter(name__in=TAG_NAMES).values_list("name", "pk"))

    def companies(self) -> tuple[list[str], Iterator[tuple]]:
        self.first_company = self.next_id(Company)
        rng = self.rng
        self.company_names = []
        for number in range(COMPANIES):
            words = rng.sample(COMPANY_WORDS, 2)
            self.company_names.append(
                f"{words[0]} {words[1]} {rng.choice(COMPANY_SUFFIXES)} {number}"
            )
        rows = (
            (
                self.first_company + index,
                name,
                f"https://{name.split()[0].lower()}{index}.example",
                INDUSTRIES[index % len(INDUSTRIES)],
                self.now_text,
            )
            for index, name in enumerate(self.company_names)
        )
        return ["id", "name", "website", "industry", "created_at"], rows

    def next_id(self, model: type[models.Model]) -> int:
        latest = model.objects.aggregate(latest=models.Max("pk"))["latest"]
        return (latest or 0) + 1

    def reset_sequence(self, model: type[models.Model]) -> None:
        """Move the id sequence past the ids the COPY gave explicitly."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [model._meta.db_table, self.next_id(model) - 1],
            )

    # --- Customers ---------------------------------------------------------------------

    def customers(self) -> tuple[list[str], Iterator[tuple]]:
        columns = [
            "id", "name", "email", "phone", "company_id", "address", "city", "country",
            "preferred_language", "owner_id", "status", "customer_since", "renewal_date", "plan",
            "monthly_value", "marketing_consent", "churned_on", "churn_reason", "archived_at",
            "search_text", "phone_normalized", "created_at", "updated_at",
        ]  # fmt: skip
        self.owners: list[int | None] = []
        self.statuses: list[str] = []
        self.stories: list[str | None] = []
        return columns, (self.customer_row(index) for index in range(CUSTOMERS))

    def customer_row(self, index: int) -> tuple:
        rng = self.rng
        pk = self.first_customer + index
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        # ASCII like the addresses the app's forms and import accept (François → francois).
        local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        email = f"{local.decode()}.{index}@mail.example".lower().replace(" ", "").replace("'", "")
        if index == 0:
            email = LONGEST_EMAIL
        elif index == 1:
            email = SHORT_EMAIL
        company_name = ""
        company_id = None
        if rng.random() < 0.7:
            company_index = rng.randrange(COMPANIES)
            company_id = self.first_company + company_index
            company_name = self.company_names[company_index]
        language = rng.choice(LANGUAGES)
        country, cities = CITIES[language]
        owner = None if rng.random() < 0.1 else rng.choice(self.manager_ids)
        status = rng.choice(STATUSES) if index > 1 else "active"
        story = self.pick_story(status) if index > 1 else None
        self.owners.append(owner)
        self.statuses.append(status)
        self.stories.append(story)
        plan, value, since, renewal, churned_on, reason = "", "0", None, None, None, ""
        if status != "lead":
            plan, low, high = rng.choice(PLANS)
            value = f"{rng.randint(low, high)}.00"
            since = self.today - timedelta(days=rng.randint(5, 3 * 365))
            if status == "churned":
                churned_on = self.today - timedelta(days=rng.randint(1, 330))
                reason = "Too expensive"
            elif story == QUIET:
                renewal = self.today + timedelta(days=rng.randint(0, 30))
            elif story == UNHAPPY:
                renewal = self.today + timedelta(days=rng.randint(-30, 60))
            else:
                renewal = self.today + timedelta(days=rng.randint(-45, 365))
        digits = f"{rng.randrange(10**9):09d}"
        phone = f"+44 20 {digits[:4]} {digits[4:]}"
        created = f"{since or self.today} 00:00:00+00"
        since, renewal, churned_on = (
            day and day.isoformat() for day in (since, renewal, churned_on)
        )
        return (
            pk, name, email, phone, company_id, f"{rng.randint(1, 200)} Main Street",
            rng.choice(cities), country, language, owner, status, since, renewal, plan, value,
            rng.random() < 0.7, churned_on, reason,
            self.now_text if rng.random() < 0.02 and index > 1 else None,
            build_search_text(name, email, company_name), "+4420" + digits, created, self.now_text,
        )  # fmt: skip

    def pick_story(self, status: str) -> str | None:
        draw = self.rng.random()
        for story, chance in STORY_CHANCES.get(status, []):
            if draw < chance:
                return story
            draw -= chance
        return None

    def tags(self) -> tuple[list[str], Iterator[tuple]]:
        rng = self.rng
        weights = {"VIP": 0.08, "Newsletter": 0.35, "Wholesale": 0.08, "Partner": 0.05,
                   "Trial": 0.05, "Enterprise": 0.06}  # fmt: skip
        chances = [(self.tag_ids[name], chance) for name, chance in weights.items()]

        def rows() -> Iterator[tuple]:
            for index in range(CUSTOMERS):
                for tag_id, chance in chances:
                    if rng.random() < chance:
                        yield (self.first_customer + index, tag_id)

        return ["customer_id", "tag_id"], rows()

    # --- Interactions ------------------------------------------------------------------

    def history_lengths(self) -> list[int]:
        """Interactions per customer: 1-39 each, 5,000 for the first, summing to the total.

        A customer with a story has at least STORY_MIN_HISTORY[story].
        """
        rng = self.rng
        lowest = [STORY_MIN_HISTORY[story] if story else 1 for story in self.stories]
        counts = [max(low, rng.randint(1, 39)) for low in lowest]
        counts[0], counts[1] = LONGEST_HISTORY, SHORT_HISTORY
        difference = INTERACTIONS - sum(counts)
        step = 1 if difference > 0 else -1
        while difference:
            index = rng.randrange(2, CUSTOMERS)
            if lowest[index] <= counts[index] + step <= 39:
                counts[index] += step
                difference -= step
        return counts

    def interactions(self) -> tuple[list[str], Iterator[tuple]]:
        columns = [
            "customer_id", "kind", "direction", "subject", "body", "amount", "sentiment",
            "occurred_at", "recorded_by_id", "created_at", "resolved_at", "resolved_by_id",
        ]  # fmt: skip
        return columns, self.interaction_rows(self.history_lengths())

    def interaction_rows(self, counts: list[int]) -> Iterator[tuple]:
        # Timestamps go as text built from two lookup tables (a day before today, a second
        # of that day): psycopg's datetime dumping costs more than the rest of the row.
        days = [(self.today - timedelta(days=n)).isoformat() for n in range(HISTORY_DAYS + 2)]
        times = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86400)]
        span = HISTORY_DAYS * 86400
        random_ = self.rng.random
        pool, pool_size = KIND_POOL, len(KIND_POOL)
        managers, manager_count = self.manager_ids, len(self.manager_ids)
        now = self.now_text
        resolution_random, expovariate = self.resolution_rng.random, self.resolution_rng.expovariate
        recent_chance, older_chance = TICKET_OPEN_CHANCE
        mean_seconds = TICKET_MEAN_HOURS * 3600

        def ticket_state(seconds_back: int, recorder: int) -> tuple:
            """(resolved_at, resolved_by_id) of a complaint or service request."""
            chance = recent_chance if seconds_back < TICKET_RECENT_SECONDS else older_chance
            if resolution_random() < chance:
                return OPEN
            resolved_back = seconds_back - 3600 - int(expovariate(1 / mean_seconds))
            if resolved_back < 1:
                return OPEN  # it would be resolved after midnight today
            return days[(resolved_back + 86399) // 86400] + times[-resolved_back % 86400], recorder

        for index, count in enumerate(counts):
            pk = self.first_customer + index
            owner = self.owners[index]
            story = self.stories[index]
            quiet = 0  # seconds before midnight today without any interaction
            if story is not None:
                if story == QUIET:
                    quiet = self.rng.randint(*QUIET_DAYS) * 86400
                scripted = STORY_SCRIPTS[story]
                for kind, direction, subject, sentiment, has_amount, within in scripted:
                    seconds_back = 1 + int(random_() * within * 86400)
                    yield (
                        pk,
                        kind,
                        direction,
                        subject,
                        BODY,
                        f"{int(random_() * 2000) + 20}.00" if has_amount else None,
                        sentiment,
                        days[(seconds_back + 86399) // 86400] + times[-seconds_back % 86400],
                        owner or managers[index % manager_count],
                        now,
                        *OPEN,  # the stories' tickets stay open
                    )
                count -= len(scripted)
            window = span - quiet
            for _ in range(count):
                kind, _weight, directions, sentiments, subjects, has_amount = pool[
                    int(random_() * pool_size)
                ]
                pick = random_()
                seconds_back = quiet + 1 + int(random_() * window)  # before midnight today
                recorder = (
                    owner if owner and pick < 0.8 else managers[int(pick * 40) % manager_count]
                )
                state = ticket_state(seconds_back, recorder) if kind in TICKET_KINDS else OPEN
                yield (
                    pk,
                    kind,
                    directions[int(pick * len(directions))],
                    subjects[int(pick * len(subjects))],
                    BODY if pick < 0.6 else "",
                    f"{int(pick * 2000) + 20}.00" if has_amount else None,
                    sentiments[int(pick * len(sentiments))],
                    days[(seconds_back + 86399) // 86400] + times[-seconds_back % 86400],
                    recorder,
                    now,
                    *state,
                )

    # --- After the rows -------------------------------------------------------------------

    def set_last_contact(self) -> int:
        """Last contact = each customer's newest interaction, in one UPDATE."""
        newest = (
            Interaction.objects.filter(customer=models.OuterRef("pk"))
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        )
        return Customer.objects.update(last_interaction_at=models.Subquery(newest))

    def vacuum_analyze(self) -> None:
        """Fresh statistics and a visibility map, as autovacuum would leave a live database."""
        with connection.cursor() as cursor:
            for model in (Company, Customer, Customer.tags.through, Interaction):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
