"""Test settings: the real settings with only what tests need changed.

`make test` sets DATABASE_URL and CELERY_BROKER_URL to the throwaway
PostgreSQL and Redis it starts; tasks run eagerly unless a test starts a worker.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("BUSINESS_NAME", "Our company")  # required with DEBUG off

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# django-axes refuses authenticate() without a request (Client.login() has none) and
# counts failures across a test's requests: off here, on in the tests of the lockout
# (tests/test_lockout.py turns it on with the `settings` fixture).
AXES_ENABLED = False
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
# Whitenoise serves from STATIC_ROOT; give it a folder so it does not warn.
STATIC_ROOT = VAR_DIR / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# View tests read the cards in the customer page itself; the lazy path has its own
# tests (tests/test_customer_pages.py) and the browser tests use it.
CUSTOMER_CARDS_LAZY = False
