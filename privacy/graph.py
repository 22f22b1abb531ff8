"""Which rows of which tables are one customer's: found by walking the model graph.

Every model with a foreign key or one-to-one to Customer holds rows of theirs; so does
every model whose rows exist for one such row only (a cascading foreign key to it: a
checklist's steps, a survey response's answers, a points account's badges). Walking
apps.get_models() instead of listing models means a model added later is exported and
erased without a change here (tests/test_privacy.py checks that it is).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from customers.models import Customer


@dataclass(frozen=True)
class CustomerTable:
    """A model and the lookup from it to the customer's id ("customer_id",
    "checklist__customer_id")."""

    model: type[models.Model]
    lookup: str

    @property
    def label(self) -> str:
        return self.model._meta.label

    def rows(self, customer_id: int) -> models.QuerySet:
        return self.model._default_manager.filter(**{self.lookup: customer_id}).order_by("pk")


def _pointing_at(targets: dict[type[models.Model], str]) -> Iterator[CustomerTable]:
    for model in apps.get_models():
        if model in targets or model is Customer:
            continue
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.related_model not in targets:
                continue
            parent = targets[field.related_model]
            if parent == "pk":
                yield CustomerTable(model, field.attname)
                break
            if field.remote_field.on_delete is models.CASCADE:
                yield CustomerTable(model, f"{field.name}__{parent}")
                break


def customer_tables() -> list[CustomerTable]:
    """The tables with rows of a customer: pointing at Customer, then their children
    (two levels are all the app has; a deeper one would be found by a third pass)."""
    direct = list(_pointing_at({Customer: "pk"}))
    children = list(_pointing_at({table.model: table.lookup for table in direct}))
    return sorted(direct + children, key=lambda table: table.label)
