"""Who may do what through the API: the pages' roles and rules, one class per object type.

Every rule is one of customers.access (and surveys.access). The messages are the pages'
words (the same msgids: access.py raises its own inline, so they are repeated here, and
tests/test_api_permissions.py compares the two), so a refusal reads the same in the
browser and in a shop's log. A customer that
does not exist is a 404, as on the pages; one the user may see but not change is a 403
with the reason, since every role sees every customer.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from customers import access
from surveys import access as survey_access

NO_ROLE = _("Your account has no role in this CRM yet; ask an admin.")
NOT_YOUR_ROLE = _("Your role does not allow this.")
CHANGE_REFUSED = _("Only this customer's account manager or an admin can change it.")
LOG_REFUSED = _("You cannot log interactions.")


class RoleRequired(BasePermission):
    """Logged in (token or session) with a staff role: the condition for every endpoint."""

    message = NO_ROLE

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and access.has_role(request.user)
        )


class _ModelPermission(RoleRequired):
    """A role, and for some actions the Django permission the page of that action requires."""

    # action name -> permission codename; actions not listed need a role only.
    required: dict[str, str] = {}
    # action name -> the page's message when that permission is missing.
    refusals: dict = {}

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        action = getattr(view, "action", None) or ""
        permission = self.required.get(action)
        if permission and not request.user.has_perm(permission):
            self.message = self.refusals.get(action, NOT_YOUR_ROLE)
            return False
        return True


class CustomerAccess(_ModelPermission):
    """Every role reads; account managers and admins create; changing a customer (edit,
    archive) is for its account manager (or anyone's, when unassigned) and admins."""

    required = {"create": "customers.add_customer"}

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.message = CHANGE_REFUSED
        return access.can_change_customer(request.user, obj)


class CompanyAccess(_ModelPermission):
    required = {"create": "customers.add_company"}


class InteractionAccess(_ModelPermission):
    """Every role reads and logs interactions (as on the customer page)."""

    required = {
        "list": "customers.view_interaction",
        "retrieve": "customers.view_interaction",
        "create": "customers.add_interaction",
    }
    refusals = {"create": LOG_REFUSED}


class RiskAccess(RoleRequired):
    """A customer's risk is on their page, which every role sees."""


class SurveyAccess(RoleRequired):
    """Survey results and answers: the roles the survey pages let in."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        self.message = NOT_YOUR_ROLE
        return survey_access.can_see_results(request.user)


class LoyaltyAccess(RoleRequired):
    """Reading accounts, the ledger and rewards needs their view permission (every role
    has it); an adjustment or a redemption changes the customer, so it is for whoever may
    change that customer (as the card's forms)."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method not in SAFE_METHODS:
            return True
        model = view.get_queryset().model._meta
        self.message = NOT_YOUR_ROLE
        return request.user.has_perm(f"{model.app_label}.view_{model.model_name}")

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.message = CHANGE_REFUSED
        return access.can_change_customer(request.user, obj)
