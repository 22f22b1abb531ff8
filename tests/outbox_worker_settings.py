"""Settings for a real Celery worker in tests/test_outbox_worker.py: the test settings,
sending through the real SMTP server the test started (port in TEST_SMTP_PORT)."""

import os

from crm.settings_test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("TEST_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
# EMAIL_TIMEOUT comes from the environment, as in production (crm/settings.py).
