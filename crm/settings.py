"""Settings for the CRM, read from the environment in this one place.

Every variable is listed in `.env.example`. With nothing set the app runs on the
embedded default: a SQLite file in var/, Celery's filesystem transport and a
file-based cache, so `make run` needs no server. Setting DATABASE_URL,
CELERY_BROKER_URL and CACHE_URL switches to PostgreSQL and Redis.
"""

import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from babel.numbers import is_currency
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def local_site_url(host: str, port: str) -> str:
    """The address a browser on this machine opens for a server bound to host:port."""
    host = host.strip("[]")
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 (reads a bind address, binds nothing)
        host = "localhost"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# Management commands that only read the code (no signing, no sessions) run without a
# key, so `manage.py makemigrations --check` works in a bare checkout or a CI hook.
KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "makemessages", "compilemessages"}
# ...and these (plus collectstatic in the image build) also run without BUSINESS_NAME.
BUILD_COMMANDS = KEYLESS_COMMANDS | {"collectstatic"}
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not DEBUG and len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
    SECRET_KEY = secrets.token_urlsafe(50)  # throwaway: these commands sign nothing
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only ever used on a developer's machine (DEBUG on, no key given).
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "csp",  # its system checks (settings in the 4.x format)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "customers",
    "retention",
    "surveys",
    "dashboard",
    "api",
    "backups",
    "axes",  # brute-force protection of the login (accounts/lockout.py)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "audit",
    "privacy",  # GDPR export and erasure of one customer
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (see "Security" below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "customers.params.IdsInPathMiddleware",  # an id past bigint in the address: 404
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After LocaleMiddleware (browser, cookie) and the user: the language they chose wins.
    "accounts.languages.UserLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified()
    "accounts.middleware.TwoFactorMiddleware",  # the code after the password (accounts/)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "customers.context_processors.roles",
                "retention.risk.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the web server and the Celery worker
    # share one SQLite file without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by web and worker: import progress lives here) ------------
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # the dashboard
LOGOUT_REDIRECT_URL = "login"
# django-axes first: a locked-out login is refused before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection (accounts/lockout.py; README "Accounts"). A username tried from
# one address is locked after AXES_FAILURE_LIMIT wrong passwords in a row; an address is
# locked after LOGIN_IP_FAILURE_LIMIT wrong passwords over any usernames (one script
# trying many accounts). Both for AXES_COOLOFF_MINUTES after the last failure; a
# failure while locked does not extend it, so the time the page gives holds.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
# A right password forgives that username's failures from that address, and no others
# (accounts.lockout.LockoutHandler; axes' own reset would forgive the whole address).
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Password reset links (accounts/passwords.py): valid this long, and at most
# PASSWORD_RESET_PER_HOUR emails per account and PASSWORD_RESET_PER_IP_PER_HOUR
# requests per address.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
PASSWORD_RESET_PER_HOUR = env.int("PASSWORD_RESET_PER_HOUR", default=3)
PASSWORD_RESET_PER_IP_PER_HOUR = env.int("PASSWORD_RESET_PER_IP_PER_HOUR", default=10)
# Two-factor authentication (TOTP, accounts/two_factor.py): optional for everyone; with
# this on, admins must set it up before they can use any page.
REQUIRE_2FA_FOR_ADMINS = env.bool("REQUIRE_2FA_FOR_ADMINS", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CRM")

# --- The REST API (api/; README "REST API") ----------------------------------
# A token per user (created on /api/token/ or in the Django admin); the session too, so
# the docs page's "Try it out" works for a logged-in user. The roles and rules are the
# pages' own (api/permissions.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RoleRequired"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": "Customers, interactions, risk, surveys and loyalty, with the pages' rules.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.RoleRequired"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI's files come from drf-spectacular-sidecar in static/: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind": each its own enum in the schema, named after it.
    "ENUM_NAME_OVERRIDES": {
        "InteractionKindEnum": "customers.models.Interaction.Kind",
        "PointsEntryKindEnum": "retention.loyalty.models.PointsEntry.Kind",
        "RewardKindEnum": "retention.loyalty.models.Reward.Kind",
        "SurveyKindEnum": "surveys.models.Survey.Kind",
        "QuestionKindEnum": "surveys.models.Question.Kind",
    },
}
# Inbound webhooks (api/webhooks/): a signed request whose timestamp is further than this
# from now, either way, is refused, so a captured request cannot be replayed later.
WEBHOOK_TOLERANCE_SECONDS = env.int("WEBHOOK_TOLERANCE_SECONDS", default=300)

# --- Internationalisation ---------------------------------------------------
# LANGUAGE_CODE: the staff pages' language when neither the user's choice nor the
# browser's names one of LANGUAGES, and the language of texts written without one (the
# shipped surveys' originals). French, Spanish and Dutch were dropped: their pages and
# emails were never complete (issue 18).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("tr", _("Turkish")),
    ("zh-hant", _("Traditional Chinese")),  # catalogue: locale/zh_Hant
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Customer pages and emails speak the customer's preferred language, else this one, else
# English (customers/languages.py).
BUSINESS_LANGUAGE = env.str("BUSINESS_LANGUAGE", default="en").strip().lower()
if BUSINESS_LANGUAGE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(
        f"BUSINESS_LANGUAGE={BUSINESS_LANGUAGE!r} is not one of {[c for c, _n in LANGUAGES]}."
    )
# Money is shown in this currency (ISO 4217 code) with the symbol and separators of the
# reader's language (customers/money.py).
BUSINESS_CURRENCY = env.str("BUSINESS_CURRENCY", default="EUR").strip().upper()
if not is_currency(BUSINESS_CURRENCY):
    raise ImproperlyConfigured(f"BUSINESS_CURRENCY={BUSINESS_CURRENCY!r} is not an ISO code.")
# One date style per language (crm/formats/<locale>/formats.py), Django's own formats for
# the rest. No USE_THOUSAND_SEPARATOR: it would also group ids in links and form values
# ("/customers/1,234/"); displayed counts use `intcomma`, which follows the language.
FORMAT_MODULE_PATH = ["crm.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587 or
# filemail:///path/to/folder. Default: print to the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
if _email["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    # django-environ drops the leading "/" of filemail:///abs/path: read the folder from
    # the URL itself. filemail:// (make run): one file per connection in $VAR_DIR/mail;
    # a relative folder (filemail://var/mail) is taken from the project's folder.
    _parts = urlsplit(env.str("EMAIL_URL"))
    _email["EMAIL_HOST"] = None
    _folder = _parts.netloc + _parts.path
    _email["EMAIL_FILE_PATH"] = str(BASE_DIR / _folder if _folder else VAR_DIR / "mail")
# django-environ puts the URL's query (smtp://host?timeout=10) into an OPTIONS dict that
# Django never reads: take the timeout from it, refuse anything else.
_email_options = {key.lower(): value for key, value in _email.pop("OPTIONS", {}).items()}
if set(_email_options) - {"timeout"}:
    raise ImproperlyConfigured(f"EMAIL_URL: unknown options {sorted(_email_options)}.")
vars().update(_email)
# Seconds an SMTP connect or command may take: a server that accepts connections and
# then stops answering fails that email (retried later) instead of blocking a worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=int(_email_options.get("timeout", 30)))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# DKIM (off unless all three are set): the private key as PEM text, or a file holding it.
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default="")
DKIM_PRIVATE_KEY = env.str("DKIM_PRIVATE_KEY", default="").replace("\\n", "\n")
if _dkim_key_file := env.str("DKIM_PRIVATE_KEY_FILE", default=""):
    DKIM_PRIVATE_KEY = Path(_dkim_key_file).read_text()
if any((DKIM_SELECTOR, DKIM_DOMAIN, DKIM_PRIVATE_KEY)):
    if not all((DKIM_SELECTOR, DKIM_DOMAIN, DKIM_PRIVATE_KEY)):
        raise ImproperlyConfigured(
            "DKIM needs DKIM_SELECTOR, DKIM_DOMAIN and DKIM_PRIVATE_KEY (or _FILE), or none."
        )
    if "PRIVATE KEY-----" not in DKIM_PRIVATE_KEY:
        raise ImproperlyConfigured("DKIM_PRIVATE_KEY is not a PEM private key.")
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        # Django's SMTP backend whose connection signs every message it sends.
        EMAIL_BACKEND = "retention.outreach.dkim.SigningEmailBackend"

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        "control_folder": str(_control_dir),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# Delivery: every task is safe to run twice (its state is in PostgreSQL), so a task is
# acknowledged only when it has finished (acks_late) and a task whose pool process was
# killed goes back to the queue (reject_on_worker_lost; by default Celery acks it and
# the work is lost). When a whole worker dies, Redis redelivers its unacknowledged
# tasks after the visibility timeout, which must be longer than the longest task
# (a calibration or a large import: minutes), or a task still running would be run
# a second time alongside; the beat sweepers (risk chunks, outbox, invitations)
# usually find lost work sooner, from PostgreSQL.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=1800)
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
RISK_NIGHTLY_HOUR = env.int("RISK_NIGHTLY_HOUR", default=2)
RISK_NIGHTLY_MINUTE = env.int("RISK_NIGHTLY_MINUTE", default=15)
# A chunk not finished this long after it was enqueued is enqueued again (a lost
# message, a dead worker); a chunk of 5,000 customers takes well under a minute.
RISK_CHUNK_STALE_SECONDS = env.int("RISK_CHUNK_STALE_SECONDS", default=600)
RISK_REPAIR_SECONDS = env.int("RISK_REPAIR_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "nightly-risk-recompute": {
        "task": "retention.risk.tasks.nightly_risk_recompute",
        "schedule": crontab(hour=RISK_NIGHTLY_HOUR, minute=RISK_NIGHTLY_MINUTE),
    },
    "repair-risk-runs": {
        "task": "retention.risk.tasks.repair_risk_runs",
        "schedule": RISK_REPAIR_SECONDS,
    },
    # Suggested weights, learned from the history every week; an admin applies them.
    "weekly-risk-calibration": {
        "task": "retention.risk.tasks.weekly_calibration",
        "schedule": crontab(day_of_week=0, hour=RISK_NIGHTLY_HOUR + 1, minute=RISK_NIGHTLY_MINUTE),
    },
    "sweep-outbox": {
        "task": "retention.outreach.tasks.sweep_outbox",
        "schedule": env.int("OUTBOX_SWEEP_SECONDS", default=60),
    },
    "purge-old-import-jobs": {
        "task": "customers.tasks.purge_old_import_jobs",
        "schedule": crontab(hour=3, minute=30),
    },
    "survey-nps-invitations": {
        "task": "surveys.tasks.schedule_nps_invitations",
        "schedule": crontab(hour=9, minute=0),
    },
    "survey-reminders": {
        "task": "surveys.tasks.send_survey_reminders",
        "schedule": crontab(minute=20),
    },
}
LOYALTY_NIGHTLY_HOUR = env.int("LOYALTY_NIGHTLY_HOUR", default=1)
LOYALTY_NIGHTLY_MINUTE = env.int("LOYALTY_NIGHTLY_MINUTE", default=45)
CELERY_BEAT_SCHEDULE["nightly-loyalty"] = {
    "task": "retention.loyalty.tasks.nightly_loyalty",
    "schedule": crontab(hour=LOYALTY_NIGHTLY_HOUR, minute=LOYALTY_NIGHTLY_MINUTE),
}
# Membership spells (who was a customer when: the dashboard's churn and cohort figures),
# rebuilt after the risk recompute and before anyone reads the dashboard. A customer
# without a contract (no plan, no renewal date) is lost after this many days without
# a purchase.
LAPSED_AFTER_DAYS = env.int("LAPSED_AFTER_DAYS", default=180)
MEMBERSHIP_NIGHTLY_HOUR = env.int("MEMBERSHIP_NIGHTLY_HOUR", default=2)
MEMBERSHIP_NIGHTLY_MINUTE = env.int("MEMBERSHIP_NIGHTLY_MINUTE", default=45)
CELERY_BEAT_SCHEDULE["nightly-membership"] = {
    "task": "customers.tasks.rebuild_membership",
    "schedule": crontab(hour=MEMBERSHIP_NIGHTLY_HOUR, minute=MEMBERSHIP_NIGHTLY_MINUTE),
}

# --- Backups (manage.py backup / restore; README "Production") -----------------
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)  # the nightly job keeps the newest N
BACKUP_NIGHTLY_HOUR = env.int("BACKUP_NIGHTLY_HOUR", default=1)
BACKUP_NIGHTLY_MINUTE = env.int("BACKUP_NIGHTLY_MINUTE", default=15)
CELERY_BEAT_SCHEDULE["nightly-backup"] = {
    "task": "backups.tasks.nightly_backup",
    "schedule": crontab(hour=BACKUP_NIGHTLY_HOUR, minute=BACKUP_NIGHTLY_MINUTE),
}

# --- Audit log (audit/; README "Audit log") ------------------------------------
# Entries older than this are purged every night, in batches.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
CELERY_BEAT_SCHEDULE["purge-audit-log"] = {
    "task": "audit.tasks.purge_old_entries",
    "schedule": crontab(hour=3, minute=45),
}

# --- Security (production defaults; DEBUG turns the HTTPS ones off) ---------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The container health checks (readiness and liveness) speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^livez/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind our proxy: also the audit log's client address from X-Forwarded-For (audit/log.py).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The default check for HSTS preload is an opt-in the operator makes knowingly.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (django-csp): no inline scripts, styles or event handlers
# anywhere (templates/ holds none; tests/test_csp.py scans them), so a script injected
# into a page does not run. CSP_REPORT_ONLY=1 sends the same policy as
# Content-Security-Policy-Report-Only (browsers report, block nothing): a first step
# for a changed deployment. The two environment variables are read into private names:
# django-csp 4 refuses settings named CSP_* (its 3.x format).
_csp_report_only = env.bool("CSP_REPORT_ONLY", default=False)
_csp_policy = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if _csp_report_uri := env.str("CSP_REPORT_URI", default=""):
    _csp_policy["DIRECTIVES"]["report-uri"] = [_csp_report_uri]
CONTENT_SECURITY_POLICY = None if _csp_report_only else _csp_policy
CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp_policy if _csp_report_only else None

# --- The app's own knobs ------------------------------------------------------
# Shown to customers (pages, email sign-offs): required in production, so that no
# customer ever reads a placeholder. `make run` sets the demo's name.
BUSINESS_NAME = env.str("BUSINESS_NAME", default="Our company" if DEBUG else "")
if not BUSINESS_NAME and not (len(sys.argv) > 1 and sys.argv[1] in BUILD_COMMANDS):
    raise ImproperlyConfigured("BUSINESS_NAME must be set when DEBUG is off.")
PUBLIC_LINK_MAX_AGE_DAYS = env.int("PUBLIC_LINK_MAX_AGE_DAYS", default=30)
CUSTOMERS_PER_PAGE = env.int("CUSTOMERS_PER_PAGE", default=25)
# Load the customer page's cards (onboarding, risk, points...) just after the page.
CUSTOMER_CARDS_LAZY = env.bool("CUSTOMER_CARDS_LAZY", default=True)
TIMELINE_PAGE_SIZE = env.int("TIMELINE_PAGE_SIZE", default=25)
# A file is read as a stream (customers/importing/storage.py): these are safety limits,
# not memory limits. A proxy in front must accept uploads this large too.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=256 * 1024 * 1024)
# Import steps (checking a file, importing it) run in a worker that holds the job under
# a lease, renewed as it checks rows; an import's transaction keeps its job locked. Every
# IMPORT_REPAIR_SECONDS the repair job queues again the steps whose lease ran out (the
# worker died; after IMPORT_MAX_ATTEMPTS workers the job fails) and those queued more
# than IMPORT_REQUEUE_AFTER_SECONDS ago that no worker took (the message was lost).
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=120)
IMPORT_REQUEUE_AFTER_SECONDS = env.int("IMPORT_REQUEUE_AFTER_SECONDS", default=300)
IMPORT_REPAIR_SECONDS = env.int("IMPORT_REPAIR_SECONDS", default=120)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE["repair-import-jobs"] = {
    "task": "customers.tasks.repair_import_jobs",
    "schedule": IMPORT_REPAIR_SECONDS,
}
# Surveys: link lifetime, reminders, the NPS rhythm, abuse limits (SITE_URL: see below).
SURVEY_LINK_DAYS = env.int("SURVEY_LINK_DAYS", default=30)
SURVEY_REMINDER_AFTER_DAYS = env.int("SURVEY_REMINDER_AFTER_DAYS", default=5)
SURVEY_NPS_EVERY_MONTHS = env.int("SURVEY_NPS_EVERY_MONTHS", default=6)
SURVEY_RATE_LIMIT_PER_IP = env.int("SURVEY_RATE_LIMIT_PER_IP", default=300)
SURVEY_RATE_LIMIT_PER_TOKEN = env.int("SURVEY_RATE_LIMIT_PER_TOKEN", default=30)
# Sending a survey to a segment asks "invite N customers?" above this many (and always
# when no filter is chosen: that is every customer).
SURVEY_SEGMENT_CONFIRM_ABOVE = env.int("SURVEY_SEGMENT_CONFIRM_ABOVE", default=100)
# Sending invitations (surveys/delivery.py): a worker holds an invitation for the lease
# while it sends (keep it well above the SMTP timeout, or a hung server gets the email
# sent twice); every SURVEY_SWEEP_SECONDS the sweeper re-enqueues invitations whose lease
# expired (their worker died) and those still pending SURVEY_REQUEUE_AFTER_SECONDS after
# their task was enqueued (the message was lost, e.g. with Redis).
SURVEY_LEASE_SECONDS = env.int("SURVEY_LEASE_SECONDS", default=300)
SURVEY_REQUEUE_AFTER_SECONDS = env.int("SURVEY_REQUEUE_AFTER_SECONDS", default=600)
SURVEY_SWEEP_SECONDS = env.int("SURVEY_SWEEP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["sweep-survey-invitations"] = {
    "task": "surveys.tasks.sweep_invitations",
    "schedule": SURVEY_SWEEP_SECONDS,
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Follow-up emails and the outbox --------------------------------------------
# Where links in emails point (surveys, unsubscribe, open pixel, the staff notice's link).
# Unset, it follows HOST and PORT (where `make run` listens), so `PORT=8101 make run`
# sends links to :8101; a wildcard bind address becomes localhost (0.0.0.0 opens nothing).
SITE_URL = env.str("SITE_URL", default="") or local_site_url(
    env.str("HOST", default="127.0.0.1"), env.str("PORT", default="8000")
)
# Off by default: the 1x1 image costs a short follow-up +1.4 in SpamAssassin
# (HTML_IMAGE_ONLY_12), and in the EU tracking opens needs the customer's consent.
EMAIL_OPEN_TRACKING = env.bool("EMAIL_OPEN_TRACKING", default=False)
FOLLOWUP_MIN_DAYS_BETWEEN = env.int("FOLLOWUP_MIN_DAYS_BETWEEN", default=7)
FOLLOWUP_MAX_PER_MONTH = env.int("FOLLOWUP_MAX_PER_MONTH", default=3)
FOLLOWUP_QUIET_HOURS_START = env.int("FOLLOWUP_QUIET_HOURS_START", default=20)
FOLLOWUP_QUIET_HOURS_END = env.int("FOLLOWUP_QUIET_HOURS_END", default=8)
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", default=365)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=200)
OUTBOX_MARK_EVERY = env.int("OUTBOX_MARK_EVERY", default=20)
OUTBOX_SMTP_CONNECTIONS = env.int("OUTBOX_SMTP_CONNECTIONS", default=4)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=5)

# Outbound webhooks (api/outbound/): each POST waits at most this long for an answer;
# a row is failed after this many attempts (retries after 1 min, 5, 30, 2 h, 12 h).
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
# Every minute: rows whose worker died go back to the queue, and due retries are posted.
CELERY_BEAT_SCHEDULE["sweep-outbound-webhooks"] = {
    "task": "api.tasks.sweep_webhooks",
    "schedule": 60,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
