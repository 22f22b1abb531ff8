"""Reads for the audit page: the entries' targets, looked up in bulk."""

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from .models import AuditEntry


def attach_targets(entries: Iterable[AuditEntry]) -> None:
    """Set `entry.target` (the object, or None when it is gone) and `entry.target_label`.

    One query per record type on the page, not one per row. The label is the type and
    the id, never the object's text: the same on every row, and no query to build it.
    """
    entries = list(entries)
    wanted: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.target_type_id:
            wanted[entry.target_type_id].add(entry.target_id)
    found: dict[tuple[int, str], models.Model] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue  # the model was removed from the code
        pks = _valid_pks(model, ids)
        for obj in model._base_manager.filter(pk__in=pks):
            found[(type_id, str(obj.pk))] = obj
    for entry in entries:
        entry.target = found.get((entry.target_type_id, entry.target_id))
        entry.target_label = ""
        if entry.target_type_id:
            content_type = ContentType.objects.get_for_id(entry.target_type_id)
            model = content_type.model_class()
            name = model._meta.verbose_name if model else content_type.model
            entry.target_label = f"{str(name).capitalize()} #{entry.target_id}"
        entry.target_url = _url_of(entry.target)


def _valid_pks(model: type[models.Model], ids: set[str]) -> list:
    """The ids the primary key accepts (an id stored by an older version may not)."""
    field = model._meta.pk
    pks = []
    for value in ids:
        try:
            pks.append(field.to_python(value))
        except ValidationError:
            continue  # a bad id only means "not found"
    return pks


def _url_of(obj: models.Model | None) -> str:
    if obj is None or not hasattr(obj, "get_absolute_url"):
        return ""
    return obj.get_absolute_url()


def detail_items(details: dict) -> list[tuple[str, str]]:
    """The details as (name, text) pairs to show: lists joined, in the stored order."""
    if not isinstance(details, dict):
        return [("", str(details))]
    return [
        (str(key), ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        for key, value in details.items()
    ]
