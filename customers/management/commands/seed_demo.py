"""Fill the database with a believable book of demo customers: `manage.py seed_demo`.

Everything comes from one seed, so two runs with the same --seed on the same day
give the same data; customers.demo.builder makes it from customers.demo.vocabulary.

The demo logins have trivial passwords on purpose. Never seed a database that is
reachable from the internet.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from customers.demo.builder import DemoSeeder, ensure_demo_users
from customers.demo.vocabulary import DEMO_USERS
from customers.models import Customer


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
            users, created_users = ensure_demo_users()
            self.warn_about_demo_logins()
            if if_empty and Customer.objects.exists():
                self.stdout.write("Demo data already present")
                return
            seeder = DemoSeeder(seed=seed, users=users)
            stats = seeder.run(customers)
        elapsed = time.monotonic() - started
        self.print_summary(stats, created_users, elapsed)

    def warn_about_demo_logins(self) -> None:
        self.stderr.write(
            self.style.WARNING(
                "Demo logins (username = password): "
                + ", ".join(f"{d.username}/{d.username}" for d in DEMO_USERS)
                + ". These trivial passwords are for local demos only; never seed a server "
                "reachable from the internet."
            )
        )

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
        out.write(f"    open tickets: {stats['open_tickets']} complaints and service requests")
        out.write(
            f"  longest history: {stats['longest_history']} interactions "
            f"(customer #{stats['longest_customer']})"
        )
        out.write(f"  duplicates:     {stats['duplicates']} planted for the Duplicates page")
        out.write(f"  reactivated:    {stats['reactivated']} left once and came back")
