"""The loyalty programme's nightly job."""

import logging

from celery import shared_task

from . import nightly

logger = logging.getLogger(__name__)


@shared_task
def nightly_loyalty() -> dict[str, int]:
    """Beat entry point: award imported purchases, anniversaries, then expire old points.

    Each step is set-based and idempotent, so a re-run (or a retried message) pays nothing twice.
    """
    outcome = nightly.nightly()
    logger.info("Loyalty nightly: %s", outcome)
    return outcome
