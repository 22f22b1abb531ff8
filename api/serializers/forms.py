"""Run a page's form on an API request: the same cleaning and the same messages.

The serializer checks the JSON's types first (a list where a name should be, "²" as an
id); the form then applies the business rules the page applies, and its errors come
back under the API's field names.
"""

from django import forms
from rest_framework import serializers
from rest_framework.settings import api_settings


def validate_with_form(form: forms.BaseForm, renames: dict[str, str] | None = None) -> dict:
    """The form's cleaned data, or a ValidationError naming the API's fields."""
    if form.is_valid():
        return form.cleaned_data
    renames = renames or {}
    errors = {}
    for field, messages in form.errors.items():
        if field == forms.forms.NON_FIELD_ERRORS:
            name = api_settings.NON_FIELD_ERRORS_KEY
        else:
            name = renames.get(field, field)
        errors[name] = [str(message) for message in messages]
    raise serializers.ValidationError(errors)


def initial_data(form: forms.BaseForm) -> dict:
    """What an unbound form shows: the record's current values (or a new one's defaults).

    A PATCH starts from these, so the fields it leaves out keep their values.
    """
    return {name: form.get_initial_for_field(field, name) for name, field in form.fields.items()}
