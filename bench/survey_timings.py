"""`python -m bench.survey_timings`: only the survey timings of `make bench`, on the
bench data set (loaded first if the database does not hold it yet)."""

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("Needs DATABASE_URL=postgres://... (with-services.sh sets it)", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.core.management import call_command

    from . import load, surveys

    call_command("migrate", verbosity=0)
    lines, passed = surveys.run(load.ensure_loaded())
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
