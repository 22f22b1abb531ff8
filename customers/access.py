"""Who may do what: staff roles and the one access check per object type.

Roles are Django groups (created by a data migration with their permissions):
- Admin: everything, including merging duplicates and the Django admin.
- Account manager: works their own customers (and unassigned ones), imports and exports.
- Staff: reads every customer and logs interactions.
Every staff view goes through `get_customer_for_user`, so the rule lives here only.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from .models import Customer, ImportJob, Interaction

ADMIN = "Admin"
ACCOUNT_MANAGER = "Account manager"
STAFF = "Staff"
ROLES = (ADMIN, ACCOUNT_MANAGER, STAFF)

# What each role may do (the admin role gets every permission of the CRM's apps).
# Migration customers/0002_roles created these; `sync_roles()` restores them.
ROLE_PERMISSIONS = {
    STAFF: [
        "customers.view_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_company",
        "customers.view_tag",
        "retention.view_checklisttemplate",
        "retention.view_checklist",
        "retention.view_pointsaccount",
        "retention.view_pointsentry",
        "retention.view_reward",
        "retention.view_coupon",
        "retention.change_coupon",
        "retention.view_outgoingemail",
        "retention.view_emailtemplate",
        "retention.view_followuprule",
    ],
    ACCOUNT_MANAGER: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_company",
        "customers.add_company",
        "customers.view_tag",
        "customers.add_tag",
        "customers.import_customers",
        "customers.export_customers",
        "retention.view_checklisttemplate",
        "retention.add_checklisttemplate",
        "retention.change_checklisttemplate",
        "retention.view_checklist",
        "retention.change_checklist",
        "surveys.view_survey",
        "surveys.add_survey",
        "surveys.change_survey",
        "surveys.send_survey",
        "surveys.view_surveyinvitation",
        "surveys.view_surveyresponse",
        "surveys.export_responses",
        "retention.view_pointsaccount",
        "retention.view_pointsentry",
        "retention.view_reward",
        "retention.view_coupon",
        "retention.change_coupon",
        "retention.view_outgoingemail",
        "retention.add_outgoingemail",
        "retention.change_outgoingemail",
        "retention.view_emailtemplate",
        "retention.add_emailtemplate",
        "retention.change_emailtemplate",
        "retention.view_followuprule",
        "retention.add_followuprule",
        "retention.change_followuprule",
    ],
}
# Backups are in: the admins are the ones who must see that the last one failed; so is
# the audit log (its page is for admins only), login lockouts (unlocking a user in the
# Django admin) and two-factor devices (removing the one of a lost phone).
ADMIN_APPS = (
    "customers",
    "retention",
    "surveys",
    "backups",
    "audit",
    "axes",
    "otp_totp",
    "otp_static",
)


def sync_roles(**_signal_kwargs) -> None:
    """Create the role groups and give them their permissions (idempotent).

    Runs after every `migrate` (post_migrate), so a model added later is granted
    to the roles without a data migration of its own. Permissions not created yet
    (another app's post_migrate still to come) are picked up on that app's turn.
    """
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        if role == ADMIN:
            permissions = Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
        else:
            wanted = Q(pk__in=[])
            for name in ROLE_PERMISSIONS[role]:
                app_label, codename = name.split(".")
                wanted |= Q(content_type__app_label=app_label, codename=codename)
            permissions = Permission.objects.filter(wanted)
        group.permissions.add(*permissions)


User = AbstractBaseUser | AnonymousUser


def _group_names(user: User) -> set[str]:
    # Cached on the user object: one query per request, however often it is asked.
    if not hasattr(user, "_crm_group_names"):
        user._crm_group_names = (
            set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        )
    return user._crm_group_names


def is_admin(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or ADMIN in _group_names(user))


def is_account_manager(user: User) -> bool:
    return user.is_authenticated and ACCOUNT_MANAGER in _group_names(user)


def has_role(user: User) -> bool:
    """Any staff role at all: the condition for seeing the app."""
    return is_admin(user) or bool(_group_names(user) & set(ROLES))


def role_label(user: User) -> str:
    if is_admin(user):
        return str(_("Admin"))
    if is_account_manager(user):
        return str(_("Account manager"))
    if has_role(user):
        return str(_("Staff"))
    return ""


def can_change_customer(user: User, customer: Customer) -> bool:
    """Admins change anyone; account managers their own customers and unassigned ones."""
    if is_admin(user):
        return True
    if not is_account_manager(user) or not user.has_perm("customers.change_customer"):
        return False
    return customer.owner_id in (None, user.pk)


def can_log_interaction(user: User, customer: Customer) -> bool:
    return has_role(user) and user.has_perm("customers.add_interaction")


def get_customer_for_user(user: User, pk: int, *, action: str = "view") -> Customer:
    """The customer `pk` if `user` may do `action` ("view", "change", "log") on it.

    A customer that does not exist is a 404; one the user may see but not change
    is a 403 with a reason, since every role can see every customer.
    """
    if not has_role(user):
        raise Http404
    customer = get_object_or_404(Customer.objects.select_related("company", "owner"), pk=pk)
    if action == "view":
        return customer
    if action == "change" and not can_change_customer(user, customer):
        raise PermissionDenied(_("Only this customer's account manager or an admin can change it."))
    if action == "log" and not can_log_interaction(user, customer):
        raise PermissionDenied(_("You cannot log interactions."))
    return customer


def get_interaction_for_user(
    user: User, customer_pk: int, pk: int, *, action: str = "view"
) -> Interaction:
    """Interaction `pk` of customer `customer_pk`, if `user` may do `action` on that customer.

    The customer is checked as by `get_customer_for_user`; an interaction that is
    not this customer's is a 404.
    """
    customer = get_customer_for_user(user, customer_pk, action=action)
    interaction = get_object_or_404(
        Interaction.objects.select_related("recorded_by", "resolved_by"), pk=pk, customer=customer
    )
    interaction.customer = customer
    return interaction


def get_import_job_for_user(user: User, pk: int) -> ImportJob:
    """The import job `pk` if `user` may see it: their own, or any for an admin; else 404."""
    if not has_role(user) or not user.has_perm("customers.import_customers"):
        raise Http404
    jobs = ImportJob.objects.all()
    if not is_admin(user):
        jobs = jobs.filter(created_by=user)
    return get_object_or_404(jobs, pk=pk)
