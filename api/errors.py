"""Errors as JSON: DRF's own, plus the app's rules (Django ValidationError) as a 400.

The services raise django.core.exceptions.ValidationError, keyed by field where the rule
is about a field ({"points": [...]}); DRF would turn it into a 500. A unique value (an
email, an external id) is checked before saving; two requests saving the same one at
the same moment still meet the database's constraint: that one is a 409, to retry.
"""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def as_drf_error(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {
                (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): messages
                for field, messages in error.message_dict.items()
            }
        )
    return exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})


logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = as_drf_error(exc)
    elif isinstance(exc, IntegrityError):
        logger.warning("API write refused by the database: %s", exc)
        exc = Conflict(_("Another request saved the same record at the same moment; try again."))
    return drf_exception_handler(exc, context)
