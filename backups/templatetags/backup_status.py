"""`{% backup_status %}`: the admin index's line about the last successful backup."""

from django import template

from ..selectors import backup_health

register = template.Library()


@register.inclusion_tag("backups/_admin_status.html", takes_context=True)
def backup_status(context) -> dict:
    request = context.get("request")
    if request is None or not request.user.has_perm("backups.view_backup"):
        return {"show": False}
    return {"show": True, "health": backup_health()}
