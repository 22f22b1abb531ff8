from django.http import HttpRequest

from . import access


def roles(request: HttpRequest) -> dict:
    """Role flags for the navigation in base.html."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_is_admin": access.is_admin(user),
        "user_is_account_manager": access.is_account_manager(user),
        "user_role_label": access.role_label(user),
    }
