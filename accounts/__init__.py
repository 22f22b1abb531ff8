"""Staff accounts as users expect them: login lockout, password change and reset, 2FA.

The bottom layer under the CRM's apps (pyproject.toml): it knows none of them. What it
needs from above (who must use two-factor, how an email is sent) is registered into it
from their `AppConfig.ready()`.
"""
