"""Settings for `python -m bench`: the test settings, run the way production runs.

Only PostgreSQL is meaningful here (the indexes and the query plans the bench
measures are PostgreSQL's), so anything else is refused.
"""

from django.core.exceptions import ImproperlyConfigured

from crm.settings_test import *  # noqa: F403
from crm.settings_test import DATABASES

DEBUG = False
ALLOWED_HOSTS = ["*"]
CUSTOMER_CARDS_LAZY = True  # as shipped (the test settings render the cards in the page)

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "The bench needs PostgreSQL: set DATABASE_URL=postgres://... "
        "(`make bench` starts a throwaway server and sets it)."
    )
