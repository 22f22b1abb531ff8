"""The Django form that checks one CSV row, so the model's own field rules apply.

One form class is built per file (`row_form_class`), for the columns the file
has, with the import's stricter input rules: ISO dates, choices by value or
label, "yes"/"no" for consent. A blank cell that means "keep" or "default" drops
its field from the row's form. The customer form also resolves the company,
owner and tags columns, asking the checker running it about owners.
"""

from collections.abc import Iterable
from typing import Protocol

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from customers.csv_columns import FALSE_VALUES, TAG_SEPARATOR, TRUE_VALUES

from .columns import DATE_FIELDS, DATETIME_FIELDS, choice_columns


class RowChecker(Protocol):
    """The checker running a row form (checking._Rows); a customer row asks it for owners."""

    def owner_for(self, username: str): ...


class RowForm(forms.ModelForm):
    """A form for one CSV row. Blank cells that mean "keep" are dropped as fields."""

    def __init__(self, data: dict, *, instance, rows: RowChecker, drop: Iterable[str]) -> None:
        super().__init__(data, instance=instance)
        self.rows = rows
        self.outside_errors: list[tuple[str, str]] = []
        for name in drop:
            self.fields.pop(name, None)

    def clean(self) -> dict:
        # Unlike ModelForm.clean(), no uniqueness check: the checks cost time on every row.
        return self.cleaned_data

    def _get_validation_exclusions(self) -> set[str]:
        # The only unique column, external_id, is checked for the whole file in bulk
        # (matching.py); the model's constraint check would be a query per row.
        return {*super()._get_validation_exclusions(), "external_id"}

    def _update_errors(self, errors: ValidationError) -> None:
        # Model.clean() may blame a column this row does not fill (a purchase in a
        # file without an amount column): report it against that column.
        if hasattr(errors, "error_dict"):
            inside = {}
            for name, messages in errors.error_dict.items():
                if name == NON_FIELD_ERRORS or name in self.fields:
                    inside[name] = messages
                else:
                    self.outside_errors += [(name, m) for m in ValidationError(messages).messages]
            if not inside:
                return
            errors = ValidationError(inside)
        super()._update_errors(errors)

    def row_errors(self) -> list[tuple[str, str]]:
        found = [
            ("" if name == NON_FIELD_ERRORS else name, str(message))
            for name, messages in self.errors.items()
            for message in messages
        ]
        return found + self.outside_errors


class _SharedFields(dict):
    """A form's fields that every instance shares instead of deep-copying.

    A row form never changes its fields (it only leaves some out, from its own
    shallow copy), and deep-copying ~20 fields for each of tens of thousands of
    rows was nearly half the time of a check.
    """

    def __deepcopy__(self, memo) -> dict:
        return dict(self)


class _YesNoField(forms.Field):
    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> bool:
        text = (value or "").strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES or not text:
            return False
        raise ValidationError(_("Use yes or no."), code="invalid")


class CustomerRowForm(RowForm):
    company = forms.CharField(max_length=200, required=False)
    owner = forms.CharField(max_length=150, required=False)
    tags = forms.CharField(required=False)
    marketing_consent = _YesNoField()

    def clean_owner(self):
        return self.rows.owner_for(self.cleaned_data["owner"])

    def clean_tags(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["tags"].split(TAG_SEPARATOR)]
        names = list(dict.fromkeys(name for name in names if name))
        if any(len(name) > 50 for name in names):
            raise ValidationError(_("A tag can have at most 50 characters."))
        return names


class InteractionRowForm(RowForm):
    pass


def row_form_class(
    base: type[RowForm], model: type[models.Model], model_fields: list[str], target: str
):
    """The row form for this file's columns, with the import's stricter input rules."""
    error_messages = {}
    for name, choices in choice_columns(target).items():
        allowed = ", ".join(str(value) for value, _label in choices)
        message = _("“%(value)s” is not a valid choice; use one of: %(choices)s.")
        error_messages[name] = {"invalid_choice": message.replace("%(choices)s", allowed)}
    form_class = forms.modelform_factory(
        model, form=base, fields=model_fields, error_messages=error_messages
    )
    for name in DATE_FIELDS:
        if name in form_class.base_fields:
            date_field = form_class.base_fields[name]
            date_field.input_formats = ["%Y-%m-%d"]
            date_field.error_messages["invalid"] = _("Enter the date as YYYY-MM-DD.")
    for name in DATETIME_FIELDS:
        if name in form_class.base_fields:
            form_class.base_fields[name].error_messages["invalid"] = _(
                "Enter the date and time as ISO 8601, e.g. 2024-05-01T14:30:00+02:00."
            )
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return form_class
