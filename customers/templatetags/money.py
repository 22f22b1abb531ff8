"""`{% load money %}` then `{{ customer.monthly_value|money }}`: the amount in the
business's currency, written the way the page's language writes money (customers/money.py).
`{{ amount|money:"USD" }}` for another currency."""

from django import template

from customers.money import format_money

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    return format_money(value, currency or None)
