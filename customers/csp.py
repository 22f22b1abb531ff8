"""Per-view loosening of the Content-Security-Policy (crm/settings.py, "Security").

The policy is strict everywhere; a view that cannot live with it says which directive
it widens, and why, with `csp_allow`. The same change applies to the enforced header
and to the report-only one (CSP_REPORT_ONLY=1), so switching modes changes nothing else.
"""

from collections.abc import Callable

from csp.decorators import csp_update

# The email previews (outbox detail, email template editor): the email's HTML is shown
# in a sandboxed iframe (no scripts, no access to the page) whose srcdoc document
# inherits the page's policy, and emails carry inline style attributes (mail clients
# drop stylesheets). Style attributes only: scripts and <style> elements stay refused.
EMAIL_PREVIEW = {"style-src-attr": ["'unsafe-inline'"]}


def csp_allow(directives: dict[str, list[str]]) -> Callable:
    """A view decorator adding `directives` to both the enforced and report-only policy."""

    def decorator(view: Callable) -> Callable:
        return csp_update(directives)(csp_update(directives, REPORT_ONLY=True)(view))

    return decorator
