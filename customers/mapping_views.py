"""The column mapping step of an import: which field each column of the file is.

The rules (guesses, saved mappings, what a good mapping is) are in
customers/importing/mapping.py; this module is the form and the two pages.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from . import access
from .csv_columns import COLUMNS
from .importing import mapping, values
from .importing.columns import DATE_FIELDS, DATETIME_FIELDS, DECIMAL_FIELDS
from .models import ImportJob, ImportMapping, MappingOrigin
from .views import StaffRequiredMixin

CONSTANT_LABELS = {
    "kind": gettext_lazy("Every row is a"),
    "direction": gettext_lazy("Direction of every row"),
    "sentiment": gettext_lazy("Sentiment of every row"),
    "status": gettext_lazy("Status of every customer"),
    "preferred_language": gettext_lazy("Language of every customer"),
}


def _date_example(sample: str, order: str) -> str:
    """ "31/01/2024 → 31 January 2024", read in `order` (or why it cannot be)."""
    try:
        moment = timezone.localtime(values.parse_datetime(sample, order))
    except ValueError:
        shown = _("not a date in this order")
    else:
        shown = formats.date_format(moment, "j F Y, H:i" if ":" in sample else "j F Y")
    return f"{sample} → {shown}"


def _amount_example(sample: str, separator: str) -> str:
    try:
        amount = values.parse_decimal(sample, separator)
        shown = formats.number_format(amount, use_l10n=True, force_grouping=True)
    except ValueError:
        shown = _("not an amount with this separator")
    return f"{sample} → {shown}"


class ColumnMappingForm(forms.Form):
    """One select per file column, values for every row, the date and number formats.

    A valid form's `mapping` is what ImportJob.mapping holds; `clean` runs the import's
    rules on it (mapping.mapping_problems), with the file's own sample cells."""

    date_order = forms.ChoiceField(label=gettext_lazy("Dates are written"))
    decimal_separator = forms.ChoiceField(label=gettext_lazy("Decimal separator"))
    save = forms.BooleanField(
        label=gettext_lazy("Save this mapping for files with the same columns"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, head: mapping.FileHead, target: str, start: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.head, self.target = head, target
        field_choices = [("", _("Ignore this column"))] + [
            (column.name, f"{column.name} — {column.help}") for column in COLUMNS[target]
        ]
        self.column_names = []
        for index, cell in enumerate(head.header):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=cell or _("Column %(number)s") % {"number": index + 1},
                choices=field_choices,
                required=False,
                initial=start["columns"][index],
            )
            self.column_names.append(name)
        self.constant_names = []
        for field, choices in mapping.constant_choices(target).items():
            name = f"constant_{field}"
            self.fields[name] = forms.ChoiceField(
                label=CONSTANT_LABELS[field],
                choices=[("", _("— (from a column, or none)"))] + choices,
                required=False,
                initial=start["constants"].get(field, ""),
                help_text=field,
            )
            self.constant_names.append(name)
        date_sample = self._sample(start["columns"], DATE_FIELDS + DATETIME_FIELDS)
        amount_sample = self._sample(start["columns"], DECIMAL_FIELDS)
        # Each choice with a value of the file's own as it would be read, shown in the
        # option and, for the chosen one, under the select (import_mapping.js follows it).
        self.examples = {
            "date_order": {
                order: _date_example(date_sample, order)
                if date_sample
                else values.example_date(order)
                for order in ImportMapping.DateOrder.values
            },
            "decimal_separator": {
                separator: _amount_example(amount_sample, separator)
                if amount_sample
                else values.example_decimal(separator)
                for separator in ImportMapping.DecimalSeparator.values
            },
        }
        for name, choices in (
            ("date_order", ImportMapping.DateOrder.choices),
            ("decimal_separator", ImportMapping.DecimalSeparator.choices),
        ):
            self.fields[name].choices = choices
            self.fields[name].initial = start[name]

    def _sample(self, columns: list[str], fields: tuple[str, ...]) -> str:
        """The first cell of the first column mapped to one of `fields`."""
        for index, name in enumerate(columns):
            if name in fields:
                cells = mapping.column_cells(self.head, index, 1)
                if cells:
                    return cells[0]
        return ""

    def rows(self) -> list[dict]:
        """Per file column: its select and its first sample cells, for the template."""
        return [
            {
                "field": self[name],
                "samples": mapping.column_cells(self.head, index, mapping.SHOWN_SAMPLES),
            }
            for index, name in enumerate(self.column_names)
        ]

    def constants(self) -> list:
        return [self[name] for name in self.constant_names]

    def formats(self) -> list[dict]:
        """The date order and decimal separator selects, each option with its example."""
        shown = []
        for name in ("date_order", "decimal_separator"):
            field, examples = self[name], self.examples[name]
            options = [
                {"value": value, "label": f"{label}: {examples[value]}", "example": examples[value]}
                for value, label in field.field.choices
            ]
            chosen = examples.get(field.value()) or ""
            shown.append({"field": field, "options": options, "example": chosen})
        return shown

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        self.mapping = {
            "columns": [cleaned[name] for name in self.column_names],
            "constants": {
                name.removeprefix("constant_"): cleaned[name]
                for name in self.constant_names
                if cleaned[name]
            },
            "date_order": cleaned["date_order"],
            "decimal_separator": cleaned["decimal_separator"],
        }
        problems = mapping.mapping_problems(self.mapping, self.target, self.head)
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


def _start(job: ImportJob, head: mapping.FileHead) -> dict:
    """What the form starts from: the job's own mapping (after "Change"), else guesses."""
    own = job.mapping
    if own.get("columns") is not None and len(own["columns"]) == len(head.header):
        return own
    columns = mapping.guess_columns(head.header, job.target)
    date_order, decimal_separator = mapping.guess_formats(head, columns)
    return {
        "columns": columns,
        "constants": mapping.guess_constants(columns, job.target),
        "date_order": date_order,
        "decimal_separator": decimal_separator,
    }


class ImportMappingView(StaffRequiredMixin, View):
    """Map the columns of a file waiting in "Columns to map", then check it."""

    permission_required = "customers.import_customers"
    template_name = "customers/import_mapping.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        if job.status != ImportJob.Status.MAPPING:
            return redirect(job)
        head = mapping.job_head(job)
        if head.problem:
            return self.render(request, job, None, head)
        form = ColumnMappingForm(head=head, target=job.target, start=_start(job, head))
        return self.render(request, job, form, head)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        if job.status != ImportJob.Status.MAPPING:
            messages.error(request, _("This file's columns are mapped already."))
            return redirect(job)
        head = mapping.job_head(job)
        if head.problem:
            return self.render(request, job, None, head, status=422)
        form = ColumnMappingForm(
            request.POST, head=head, target=job.target, start=_start(job, head)
        )
        if not form.is_valid():
            return self.render(request, job, form, head, status=422)
        if form.cleaned_data["save"]:
            mapping.save_mapping(
                header=head.header, target=job.target, mapping=form.mapping, user=request.user
            )
        language = translation.get_language()
        if not mapping.job_columns_set(
            job=job, mapping=form.mapping, origin=MappingOrigin.CHOSEN, language=language
        ):
            messages.error(request, _("This file can no longer be mapped."))
        return redirect(job)

    def render(self, request, job, form, head, status: int = 200) -> HttpResponse:
        context = {
            "job": job,
            "form": form,
            "problem": head.problem,
            "columns_help": COLUMNS[job.target],
        }
        return render(request, self.template_name, context, status=status)


class ImportMappingChangeView(StaffRequiredMixin, View):
    """ "Change" on a job's page: back to the mapping step, while nothing is imported."""

    permission_required = "customers.import_customers"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        if mapping.job_columns_reopen(job=job):
            return redirect(reverse("customers:import_mapping", args=[job.pk]))
        messages.error(
            request, _("Too late to change the columns: the import has started or ended.")
        )
        return redirect(job)
