from django import template
from django.utils.html import format_html
from django.utils.http import urlencode

register = template.Library()


@register.simple_tag
def sort_link(label: str, key: str, current: str, query: str) -> str:
    """A column header that sorts by `key`, toggling direction when already sorted by it."""
    descending = current == f"-{key}"
    active = current in (key, f"-{key}")
    target = key if descending or not active else f"-{key}"
    href = "?" + "&".join(filter(None, [query, urlencode({"sort": target})]))
    arrow = ("▼" if descending else "▲") if active else ""
    state = "descending" if descending else ("ascending" if active else "none")
    return format_html(
        '<a class="sort-link" href="{}" data-sort="{}">{} {}</a>', href, state, label, arrow
    )


@register.simple_tag
def page_url(query: str, number: int, param: str = "page") -> str:
    return "?" + "&".join(filter(None, [query or "", urlencode({param: number})]))


STATUS_BADGES = {
    "lead": "secondary",
    "onboarding": "info",
    "active": "success",
    "at_risk": "warning",
    "churned": "dark",
}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "secondary")
