"""Moving every row that points at a merged-away customer onto the kept one.

`customer_merge` (services.py) calls `move_related_rows`: it walks every model of every
app for foreign keys and one-to-one fields to Customer, so a model added later is moved
without a change here. A plain move cannot break a unique constraint that only names
other columns (an email's message id, a coupon's code, a ledger entry's source key keep
their values, which were unique before). It can break one that includes the customer
(a one-to-one, "one risk snapshot per customer and day", "one running checklist per
customer"): two rows, one from each record, would then share it. Each such model has a
merge rule, registered by the app that owns the model (in its AppConfig.ready(), the
rule next to the model's other rules), that decides which row is kept before the move;
a merge refuses to start while one has none, so nothing is half-merged.

The tags' through table (unique per customer and tag) is no model of apps.get_models():
customer_merge gives the survivor the union of both sets, and the duplicate's own rows
go with it.
"""

from collections.abc import Callable, Iterator

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import F

from .models import Customer, UsageDay

# rule(survivor=..., duplicate=...): settle the duplicate's rows that would collide with
# the survivor's (fold, drop or close them); what is left is moved by the walk.
MergeRule = Callable[..., None]

_rules: dict[type[models.Model], MergeRule] = {}


def register_rule(model: type[models.Model], rule: MergeRule) -> None:
    """Register how a merge keeps one row of `model` where both records have one."""
    _rules[model] = rule


def registered_rules() -> dict[type[models.Model], MergeRule]:
    return dict(_rules)


def customer_fields() -> Iterator[models.Field]:
    """Every foreign key and one-to-one field to Customer, in every installed app
    (related_name="+" included, which Customer._meta.related_objects leaves out)."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Customer:
                yield field


def customer_unique_sets(model: type[models.Model]) -> list[tuple[str, ...]]:
    """The unique field sets of `model` that include a field pointing at Customer: the
    ones a merge could break (conditional UniqueConstraints included)."""
    pointing = {
        field.name
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Customer
    }
    sets = [(field.name,) for field in model._meta.concrete_fields if field.unique]
    sets += [tuple(names) for names in model._meta.unique_together]
    sets += [
        tuple(constraint.fields)
        for constraint in model._meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields
    ]
    return [names for names in sets if pointing & set(names)]


def models_needing_rules() -> set[type[models.Model]]:
    return {field.model for field in customer_fields() if customer_unique_sets(field.model)}


def move_related_rows(*, survivor: Customer, duplicate: Customer) -> None:
    """Settle collisions by each model's rule, then move the duplicate's rows over."""
    missing = sorted(m._meta.label for m in models_needing_rules() if m not in _rules)
    if missing:
        raise ImproperlyConfigured(
            f"No merge rule for {', '.join(missing)}: register one with "
            "customers.merging.register_rule (see its module docstring)."
        )
    for model in sorted({f.model for f in customer_fields()}, key=lambda m: m._meta.label):
        if model in _rules:
            _rules[model](survivor=survivor, duplicate=duplicate)
    for field in customer_fields():
        field.model._default_manager.filter(**{field.name: duplicate}).update(
            **{field.name: survivor}
        )


def merge_usage_days(*, survivor: Customer, duplicate: Customer) -> None:
    """Usage days (one row per customer, day and event): the counts add up. Both
    records were the same person, so what each counted happened: the day's total is
    their sum, which is what the "falling use" signal and the Activity card read."""
    theirs = UsageDay.objects.filter(
        customer=duplicate,
        day=models.OuterRef("day"),
        event=models.OuterRef("event"),
    ).values("count")[:1]
    colliding = UsageDay.objects.filter(customer=survivor).filter(models.Exists(theirs))
    colliding.update(count=F("count") + models.Subquery(theirs))
    ours = UsageDay.objects.filter(
        customer=survivor, day=models.OuterRef("day"), event=models.OuterRef("event")
    )
    UsageDay.objects.filter(customer=duplicate).filter(models.Exists(ours)).delete()


register_rule(UsageDay, merge_usage_days)
