"""Print the demo logins that exist, for the banner of `make run` (scripts/run-dev.sh).

Read from the same list the demo seed creates its users from (customers/demo/vocabulary.py),
so the banner names every login the README promises, and only those in this database.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from customers.demo.vocabulary import DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo logins (username / password, role) present in the database."

    def handle(self, *args, **options) -> None:
        present = set(
            get_user_model()
            .objects.filter(username__in=[demo.username for demo in DEMO_USERS], is_active=True)
            .values_list("username", flat=True)
        )
        demos = [demo for demo in DEMO_USERS if demo.username in present]
        if not demos:
            self.stdout.write(
                "  No demo logins (SKIP_SEED=1): create one with manage.py createsuperuser"
            )
            return
        width = max(len(demo.username) for demo in demos)
        for number, demo in enumerate(demos):
            lead = "  Log in as:  " if number == 0 else " " * 14
            credentials = f"{demo.username.ljust(width)} / {demo.username.ljust(width)}"
            self.stdout.write(f"{lead}{credentials}  ({demo.role.lower()})")
