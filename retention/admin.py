"""Django looks for `retention.admin`: each feature registers its own models."""

from .loyalty import admin as loyalty_admin  # noqa: F401
from .onboarding import admin as onboarding_admin  # noqa: F401
from .outreach import admin as outreach_admin  # noqa: F401
from .risk import admin as risk_admin  # noqa: F401
