"""Celery's autodiscovery looks for `retention.tasks`: each feature keeps its own."""

from .loyalty import tasks as loyalty_tasks  # noqa: F401
from .outreach import tasks as outreach_tasks  # noqa: F401
from .risk import tasks as risk_tasks  # noqa: F401
