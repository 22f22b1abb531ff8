"""CSV import of customers and interactions: check the file (preview), then apply it.

`validate_import` reads the file and checks every row without writing anything;
`apply_import` checks again (the database may have changed since) and writes the
rows in one transaction. Rows are checked with a Django form per row, so the
model's own field rules apply; everything a row refers to (owners, existing
customers, companies, tags) is looked up in bulk, never with a query per row.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first
data row is row 2.
"""

import csv
import io
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import access, services
from .csv_columns import FALSE_VALUES, TAG_SEPARATOR, TRUE_VALUES, column_names
from .csv_columns import required_column_names as required_columns
from .events import customers_imported
from .exporting import unneutralise_cell
from .forms import staff_users
from .models import Company, Customer, ImportJob, Interaction, Tag

logger = logging.getLogger(__name__)

# progress(phase, done, total); phases: "validating", "checking", "writing".
Progress = Callable[[str, int, int], None]

MAX_STORED_ERRORS = 1000
PREVIEW_ROWS = 20
PREVIEW_CELL_LENGTH = 200
PROGRESS_EVERY = 500
WRITE_BATCH_SIZE = 1000
LOOKUP_CHUNK_SIZE = 500
HEADER_ROW = 1

CREATE = "create"
UPDATE = "update"
ERROR = "error"

# Customer columns that are model fields, written as they are.
CUSTOMER_MODEL_FIELDS = (
    "name",
    "email",
    "phone",
    "address",
    "city",
    "country",
    "preferred_language",
    "status",
    "customer_since",
    "renewal_date",
    "plan",
    "monthly_value",
    "marketing_consent",
    "notes",
)
INTERACTION_MODEL_FIELDS = (
    "kind",
    "direction",
    "subject",
    "body",
    "amount",
    "sentiment",
    "occurred_at",
)

DECIMAL_FIELDS = ("monthly_value", "amount")
DATE_FIELDS = ("customer_since", "renewal_date")
# "12,50" as written by spreadsheets in countries with a decimal comma.
DECIMAL_COMMA = re.compile(r"^\d+,\d{1,2}$")


def choice_columns(target: str) -> dict[str, list[tuple[str, Any]]]:
    """The columns holding a choice, with their (value, label) pairs."""
    if target == ImportJob.Target.CUSTOMERS:
        return {"preferred_language": settings.LANGUAGES, "status": Customer.Status.choices}
    return {
        "kind": Interaction.Kind.choices,
        "direction": Interaction.Direction.choices,
        "sentiment": Interaction.Sentiment.choices,
    }


class ImportRefused(Exception):
    """The job cannot be applied as it stands (invalid rows in all-or-nothing mode)."""


# --- Reading the file ---------------------------------------------------------


@dataclass
class RawRow:
    number: int
    values: dict[str, str]  # column -> cell text, for the known columns present
    stray_cells: bool = False  # cells with text beyond the header's columns


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[RawRow]
    header_errors: list[dict]


def parse_file(content: str, target: str) -> ParsedFile:
    """The file's rows as {column: text}, or the problems that stop it being read."""
    text = content.removeprefix("\ufeff")
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return ParsedFile([], [], [_error(HEADER_ROW, "", _("The file has no header row."))])
        names = [cell.strip().lower().replace(" ", "_") for cell in header]
        header_errors = _header_errors(names, target)
        if header_errors:
            return ParsedFile([], [], header_errors)
        rows = []
        for number, cells in enumerate(reader, start=HEADER_ROW + 1):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows (but keep the spreadsheet's numbering)
            if len(rows) >= settings.IMPORT_MAX_ROWS:
                message = _("The file has more than %(max)s rows; split it into smaller files.")
                return ParsedFile([], [], [_error(None, "", message % {"max": _max_rows()})])
            rows.append(_raw_row(number, names, cells))
    except csv.Error as exc:
        message = _("Row %(row)s cannot be read as CSV: %(reason)s.")
        row = reader.line_num
        return ParsedFile([], [], [_error(row, "", message % {"row": row, "reason": exc})])
    return ParsedFile([name for name in names if name], rows, [])


def _max_rows() -> str:
    return f"{settings.IMPORT_MAX_ROWS:,}"


def _header_errors(names: list[str], target: str) -> list[dict]:
    known = column_names(target)
    errors = []
    for name in sorted({name for name in names if name and name not in known}, key=names.index):
        message = _("Unknown column. The columns for this import are: %(columns)s.")
        errors.append(_error(HEADER_ROW, name, message % {"columns": ", ".join(known)}))
    for name in sorted({name for name in names if name and names.count(name) > 1}):
        errors.append(_error(HEADER_ROW, name, _("This column appears more than once.")))
    for name in required_columns(target):
        if name not in names:
            errors.append(_error(HEADER_ROW, name, _("This required column is missing.")))
    return errors


def _raw_row(number: int, names: list[str], cells: list[str]) -> RawRow:
    values = {}
    stray = False
    for index, cell in enumerate(cells):
        name = names[index] if index < len(names) else ""
        if name:
            values[name] = unneutralise_cell(cell).strip()
        elif cell.strip():
            stray = True
    for name in names[len(cells) :]:
        if name:
            values[name] = ""  # a short row: the missing cells are blank
    return RawRow(number, values, stray)


def _error(row: int | None, column: str, message: str) -> dict:
    # Messages may quote a cell; a huge cell must not bloat the job.
    return {"row": row, "field": column, "message": Truncator(str(message)).chars(500)}


# --- Checking rows --------------------------------------------------------------


@dataclass
class RowResult:
    number: int
    values: dict[str, str]
    action: str
    errors: list[tuple[str, str]] = field(default_factory=list)
    instance: models.Model | None = None
    write_fields: list[str] = field(default_factory=list)
    # The columns handled outside the model fields, present only when given:
    # "company" (name or ""), "owner" (user or None), "tags" (list of names).
    extras: dict[str, Any] = field(default_factory=dict)


class _RowForm(forms.ModelForm):
    """A form for one CSV row. Blank cells that mean "keep" are dropped as fields."""

    def __init__(self, data: dict, *, instance, rows: "_Rows", drop: Iterable[str]) -> None:
        super().__init__(data, instance=instance)
        self.rows = rows
        self.outside_errors: list[tuple[str, str]] = []
        for name in drop:
            self.fields.pop(name, None)

    def clean(self) -> dict:
        # Unlike ModelForm.clean(), no uniqueness check: customers and interactions
        # have no unique columns, and the checks cost time on every row.
        return self.cleaned_data

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


class _CustomerRowForm(_RowForm):
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


class _InteractionRowForm(_RowForm):
    pass


def _form_class(
    base: type[_RowForm], model: type[models.Model], model_fields: list[str], target: str
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
    if "occurred_at" in form_class.base_fields:
        form_class.base_fields["occurred_at"].error_messages["invalid"] = _(
            "Enter the date and time as ISO 8601, e.g. 2024-05-01T14:30:00+02:00."
        )
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return form_class


def _choice_lookup(choices) -> dict[str, str]:
    """Lower-cased value, label and English label -> stored value."""
    lookup = {}
    for value, label in choices:
        with translation.override("en"):
            english = str(label)
        for key in (str(value), str(label), english):
            lookup.setdefault(key.lower(), str(value))
    return lookup


def _chunked(items: Iterable, size: int = LOOKUP_CHUNK_SIZE) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _customers_by_email(emails: Iterable[str], queryset) -> dict[str, list[Customer]]:
    """Existing customers keyed by lower-cased email, one IN query per chunk."""
    found = defaultdict(list)
    for chunk in _chunked(set(emails)):
        for customer in queryset.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            found[customer.email_lower].append(customer)
    return found


class _Rows:
    """Checks the rows of one file against the database, looked up in bulk first."""

    target: str
    model: type[models.Model]
    model_fields: tuple[str, ...]
    form_base: type[_RowForm]

    def __init__(self, job: ImportJob, parsed: ParsedFile, *, lock: bool) -> None:
        self.job = job
        self.user = job.created_by or AnonymousUser()
        self.user_is_admin = access.is_admin(self.user)
        self.columns = parsed.columns
        self.lock = lock
        present = [name for name in self.model_fields if name in parsed.columns]
        self.form_class = _form_class(self.form_base, self.model, present, self.target)
        self.choice_lookups = {
            name: _choice_lookup(choices)
            for name, choices in choice_columns(self.target).items()
            if name in parsed.columns
        }
        self.prepare(parsed.rows)

    def prepare(self, rows: list[RawRow]) -> None:
        raise NotImplementedError

    def check(self, row: RawRow) -> RowResult:
        raise NotImplementedError

    def _normalised(self, values: dict[str, str]) -> dict[str, str]:
        data = dict(values)
        for name, lookup in self.choice_lookups.items():
            if data.get(name):
                data[name] = lookup.get(data[name].lower(), data[name])
        for name in DECIMAL_FIELDS:
            if DECIMAL_COMMA.match(data.get(name, "")):
                data[name] = data[name].replace(",", ".")
        return data

    def _run_form(self, result: RowResult, data: dict, instance, *, update: bool) -> _RowForm:
        """Validate the row; blank cells mean "keep" in an update, "default" in a new row."""
        drop = [name for name in self.form_class.base_fields if name not in data]
        for name, value in data.items():
            if value:
                continue
            if update or self._has_default(name):
                drop.append(name)
        form = self.form_class(data, instance=instance, rows=self, drop=drop)
        if form.is_valid() and not form.outside_errors:
            result.write_fields = [name for name in form.fields if name in self.model_fields]
            result.instance = form.instance
        else:
            result.errors += form.row_errors()
        return form

    def _has_default(self, name: str) -> bool:
        return name in self.model_fields and self.model._meta.get_field(name).has_default()


class _CustomerRows(_Rows):
    target = ImportJob.Target.CUSTOMERS
    model = Customer
    model_fields = CUSTOMER_MODEL_FIELDS
    form_base = _CustomerRowForm

    def prepare(self, rows: list[RawRow]) -> None:
        emails = {row.values.get("email", "").lower() for row in rows} - {""}
        existing = Customer.objects.select_related("company")
        if self.lock:
            existing = existing.select_for_update(of=("self",))
        self.existing = _customers_by_email(emails, existing)
        self.seen_emails: dict[str, int] = {}
        usernames = {row.values.get("owner", "").lower() for row in rows} - {""}
        self.owners: dict[str, list] = defaultdict(list)
        user_model = get_user_model()
        for chunk in _chunked(usernames):
            users = user_model.objects.annotate(username_lower=Lower(user_model.USERNAME_FIELD))
            for user in users.filter(username_lower__in=chunk):
                self.owners[user.username_lower].append(user)
        owner_ids = [user.pk for users in self.owners.values() for user in users]
        self.staff_ids = set()
        for chunk in _chunked(owner_ids):
            self.staff_ids |= set(staff_users().filter(pk__in=chunk).values_list("pk", flat=True))

    def owner_for(self, username: str):
        """The user called `username` (any letter case) if they may own this customer."""
        if not username:
            return None
        candidates = self.owners.get(username.lower(), [])
        exact = [user for user in candidates if user.get_username() == username]
        if exact:
            candidates = exact
        if not candidates:
            raise ValidationError(_("No user has the username “%(name)s”.") % {"name": username})
        if len(candidates) > 1:
            raise ValidationError(
                _(
                    "Several users are called “%(name)s” (in different letter cases); "
                    "use the exact name."
                )
                % {"name": username}
            )
        owner = candidates[0]
        if owner.pk not in self.staff_ids:
            raise ValidationError(
                _("“%(name)s” is not an active account manager or admin.") % {"name": username}
            )
        if not self.user_is_admin and owner.pk != self.user.pk:
            raise ValidationError(_("You can only make yourself the account manager."))
        return owner

    def check(self, row: RawRow) -> RowResult:
        result = RowResult(row.number, row.values, CREATE)
        if row.stray_cells:
            result.errors.append(("", _("This row has more cells than the header has columns.")))
        data = self._normalised(row.values)
        email = data.get("email", "").lower()
        if "email" in data:
            data["email"] = email
        existing = None
        if email:
            first_row = self.seen_emails.setdefault(email, row.number)
            matches = self.existing.get(email, [])
            if first_row != row.number:
                message = _("Row %(row)s has the same email; a customer can be in a file once.")
                result.errors.append(("email", message % {"row": first_row}))
            elif len(matches) > 1:
                message = _("%(count)s customers have this email; merge them before importing.")
                result.errors.append(("email", message % {"count": len(matches)}))
            elif matches:
                existing = matches[0]
                if not access.can_change_customer(self.user, existing):
                    result.errors.append(
                        (
                            "email",
                            _(
                                "This is the customer “%(name)s” of another account manager; "
                                "only they or an admin can change it."
                            )
                            % {"name": existing.name},
                        )
                    )
        update = existing is not None
        result.action = UPDATE if update else CREATE
        form = self._run_form(
            result, data, existing if update and not result.errors else Customer(), update=update
        )
        if result.errors:
            result.action = ERROR
            result.instance = None
            return result
        for name in ("company", "owner", "tags"):
            if name in form.fields:
                result.extras[name] = form.cleaned_data[name]
        return result


class _InteractionRows(_Rows):
    target = ImportJob.Target.INTERACTIONS
    model = Interaction
    model_fields = INTERACTION_MODEL_FIELDS
    form_base = _InteractionRowForm

    def prepare(self, rows: list[RawRow]) -> None:
        emails = {row.values.get("customer_email", "").lower() for row in rows} - {""}
        self.customers = _customers_by_email(emails, Customer.objects.only("id", "email"))
        self.can_log = self.user.is_authenticated and self.user.has_perm(
            "customers.add_interaction"
        )

    def check(self, row: RawRow) -> RowResult:
        result = RowResult(row.number, row.values, CREATE)
        if row.stray_cells:
            result.errors.append(("", _("This row has more cells than the header has columns.")))
        if not self.can_log:
            result.errors.append(("", _("You cannot log interactions.")))
        email = row.values.get("customer_email", "").lower()
        matches = self.customers.get(email, [])
        if not email:
            result.errors.append(("customer_email", _("This field is required.")))
        elif not matches:
            result.errors.append(("customer_email", _("No customer has this email address.")))
        elif len(matches) > 1:
            message = _("%(count)s customers have this email; merge them before importing.")
            result.errors.append(("customer_email", message % {"count": len(matches)}))
        instance = Interaction(
            customer_id=matches[0].pk if len(matches) == 1 else None,
            recorded_by=self.user if self.user.is_authenticated else None,
        )
        self._run_form(result, self._normalised(row.values), instance, update=False)
        if result.errors:
            result.action = ERROR
            result.instance = None
        return result


ROW_CHECKERS: dict[str, type[_Rows]] = {
    ImportJob.Target.CUSTOMERS: _CustomerRows,
    ImportJob.Target.INTERACTIONS: _InteractionRows,
}


@dataclass
class CheckOutcome:
    header_errors: list[dict]
    total_rows: int = 0
    valid_rows: int = 0
    error_rows: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    valid: list[RowResult] = field(default_factory=list)

    def job_fields(self) -> dict[str, Any]:
        return {
            "total_rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "errors": self.errors,
            "preview": self.preview,
        }


def check_file(
    job: ImportJob,
    progress: Progress | None = None,
    *,
    phase: str = "validating",
    keep_valid: bool = False,
    lock: bool = False,
) -> CheckOutcome:
    """Check every row of the job's file; nothing is written."""
    parsed = parse_file(job.content, job.target)
    outcome = CheckOutcome(header_errors=parsed.header_errors)
    if parsed.header_errors:
        outcome.errors = parsed.header_errors
        return outcome
    rows = ROW_CHECKERS[job.target](job, parsed, lock=lock)
    total = outcome.total_rows = len(parsed.rows)
    for done, raw in enumerate(parsed.rows, start=1):
        result = rows.check(raw)
        if result.errors:
            outcome.error_rows += 1
            for column, message in result.errors:
                if len(outcome.errors) < MAX_STORED_ERRORS:
                    outcome.errors.append(_error(result.number, column, message))
        if len(outcome.preview) < PREVIEW_ROWS:
            values = {name: value[:PREVIEW_CELL_LENGTH] for name, value in result.values.items()}
            outcome.preview.append(
                {"row": result.number, "action": result.action, "values": values}
            )
        if not result.errors:
            outcome.valid_rows += 1
            if keep_valid:
                result.values = {}  # from here on only the instance and extras matter
                outcome.valid.append(result)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(phase, done, total)
    return outcome


# --- The two steps ---------------------------------------------------------------


def validate_import(job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Check the job's file and store the counts, row errors and preview.

    Writes nothing but the job. A job cancelled meanwhile stays cancelled.
    """
    try:
        outcome = check_file(job, progress)
        fields = outcome.job_fields()
        if outcome.header_errors:
            fields["status"] = ImportJob.Status.FAILED
            fields["failure"] = _("The file cannot be imported: %(problems)s") % {
                "problems": _describe(outcome.header_errors)
            }
            fields["finished_at"] = timezone.now()
        else:
            fields["status"] = ImportJob.Status.VALIDATED
    except Exception as exc:
        logger.exception("Validating import job %s failed", job.pk)
        fields = {
            "status": ImportJob.Status.FAILED,
            "failure": _failure_text(exc, _("The file could not be checked")),
            "finished_at": timezone.now(),
        }
    still_wanted = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED]
    ).update(**fields)
    if still_wanted:
        for name, value in fields.items():
            setattr(job, name, value)
    else:
        job.refresh_from_db(fields=["status"])
    return job


def apply_import(job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Write the job's valid rows in one transaction and mark the job done.

    The rows are checked again first, since the database may have changed since
    the preview. In all-or-nothing mode any invalid row refuses the whole import
    (ImportRefused, nothing written, the job back to "ready" with the new errors);
    in valid-rows mode the invalid rows are skipped.

    Customers are matched by email, in any letter case: a match is updated, any
    other row creates a customer. An update changes only the columns present in
    the file, and a blank cell leaves that field as it is (so an import never
    clears a field; edit the customer to do that). Interactions are always added.

    Any unexpected error marks the job failed with a readable reason; then too
    nothing is written.
    """
    if job.status not in (ImportJob.Status.VALIDATED, ImportJob.Status.IMPORTING):
        raise ImportRefused(_("Only a checked file can be imported."))
    if job.mode == ImportJob.Mode.ALL_OR_NOTHING and job.error_rows:
        _back_to_ready(job, {})
        message = ngettext(
            "Nothing was imported: %(count)s row is invalid.",
            "Nothing was imported: %(count)s rows are invalid.",
            job.error_rows,
        )
        raise ImportRefused(message % {"count": job.error_rows})
    try:
        with transaction.atomic():
            outcome = check_file(job, progress, phase="checking", keep_valid=True, lock=True)
            if outcome.header_errors or (
                job.mode == ImportJob.Mode.ALL_OR_NOTHING and outcome.error_rows
            ):
                raise _Stale(outcome)
            created, updated = WRITERS[job.target](job, outcome.valid, progress)
            fields = {
                **outcome.job_fields(),
                "created_count": created,
                "updated_count": updated,
                "status": ImportJob.Status.DONE,
                "failure": "",
                "finished_at": timezone.now(),
            }
            ImportJob.objects.filter(pk=job.pk).update(**fields)
    except _Stale as stale:
        count = stale.outcome.error_rows
        message = ngettext(
            "Nothing was imported: the data changed since the check; %(count)s row is invalid.",
            "Nothing was imported: the data changed since the check; %(count)s rows are invalid.",
            count,
        ) % {"count": count}
        # The job is "ready" again, with the new errors and why nothing happened.
        _back_to_ready(job, {**stale.outcome.job_fields(), "failure": message})
        raise ImportRefused(message) from None
    except Exception as exc:
        logger.exception("Applying import job %s failed", job.pk)
        fields = {
            "status": ImportJob.Status.FAILED,
            "failure": _failure_text(exc, _("The import stopped")),
            "finished_at": timezone.now(),
        }
        ImportJob.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


class _Stale(Exception):
    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def _back_to_ready(job: ImportJob, fields: dict) -> None:
    fields = {**fields, "status": ImportJob.Status.VALIDATED}
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


def _describe(errors: list[dict]) -> str:
    """One line for the failure notice; the errors table lists each problem."""
    if any(error["field"] for error in errors):
        columns = ", ".join(error["field"] for error in errors if error["field"])
        return _("the header row has problems with these columns: %(columns)s.") % {
            "columns": columns
        }
    return " ".join(error["message"] for error in errors)


def _failure_text(exc: Exception, what: str) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return _("%(what)s because of an unexpected error (%(reason)s). Nothing was imported.") % {
        "what": what,
        "reason": reason[:300],
    }


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress("writing", done, total)


# --- Writing ------------------------------------------------------------------------


def _write_customers(
    job: ImportJob, results: list[RowResult], progress: Progress | None
) -> tuple[int, int]:
    companies = _companies_named({r.extras["company"] for r in results if r.extras.get("company")})
    tags = {}
    for chunk in _chunked({name for r in results for name in r.extras.get("tags", [])}):
        tags.update((tag.name, tag) for tag in services.tags_from_names(chunk))

    today = timezone.localdate()
    now = timezone.now()
    update_fields = {"search_text", "phone_normalized", "updated_at"}
    for result in results:
        customer = result.instance
        if "company" in result.extras:
            customer.company = companies.get(result.extras["company"])
            update_fields.add("company")
        if "owner" in result.extras:
            customer.owner = result.extras["owner"]
            update_fields.add("owner")
        churned = customer.status == Customer.Status.CHURNED
        if churned and "status" in result.write_fields and not customer.churned_on:
            customer.churned_on = today  # as the customer form does
            update_fields.add("churned_on")
        customer.refresh_denormalised_fields()
        customer.updated_at = now
        update_fields.update(result.write_fields)

    new = [r for r in results if r.action == CREATE]
    changed = [r for r in results if r.action == UPDATE]
    total = len(results)
    done = 0
    for batch in _chunked(new, WRITE_BATCH_SIZE):
        Customer.objects.bulk_create([r.instance for r in batch], batch_size=WRITE_BATCH_SIZE)
        done += len(batch)
        _report(progress, done, total)
    for batch in _chunked(changed, WRITE_BATCH_SIZE):
        Customer.objects.bulk_update(
            [r.instance for r in batch], sorted(update_fields), batch_size=WRITE_BATCH_SIZE
        )
        done += len(batch)
        _report(progress, done, total)
    _set_tags([r for r in results if "tags" in r.extras], tags)
    customers_imported.send(
        sender=ImportJob,
        job=job,
        created_ids=[r.instance.pk for r in new],
        updated_ids=[r.instance.pk for r in changed],
    )
    return len(new), len(changed)


def _companies_named(names: set[str]) -> dict[str, Company]:
    """The companies with these names, creating the missing ones in bulk."""
    found = {}
    for chunk in _chunked(names):
        existing = {company.name: company for company in Company.objects.filter(name__in=chunk)}
        missing = [Company(name=name) for name in chunk if name not in existing]
        if missing:
            Company.objects.bulk_create(missing, ignore_conflicts=True)
            existing = {company.name: company for company in Company.objects.filter(name__in=chunk)}
        found.update(existing)
    return found


def _set_tags(results: list[RowResult], tags: dict[str, Tag]) -> None:
    """Replace the tags of these customers with the file's, through-table rows in bulk."""
    through = Customer.tags.through
    for batch in _chunked(results, WRITE_BATCH_SIZE):
        updated_ids = [r.instance.pk for r in batch if r.action == UPDATE]
        if updated_ids:
            through.objects.filter(customer_id__in=updated_ids).delete()
        links = [
            through(customer_id=r.instance.pk, tag_id=tags[name].pk)
            for r in batch
            for name in r.extras["tags"]
        ]
        through.objects.bulk_create(links, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True)


def _write_interactions(
    job: ImportJob, results: list[RowResult], progress: Progress | None
) -> tuple[int, int]:
    total = len(results)
    done = 0
    for batch in _chunked(results, WRITE_BATCH_SIZE):
        Interaction.objects.bulk_create([r.instance for r in batch], batch_size=WRITE_BATCH_SIZE)
        done += len(batch)
        _report(progress, done, total)
    customer_ids = {r.instance.customer_id for r in results}
    for chunk in _chunked(customer_ids, WRITE_BATCH_SIZE):
        services.refresh_last_interaction(chunk)
    return total, 0


WRITERS = {
    ImportJob.Target.CUSTOMERS: _write_customers,
    ImportJob.Target.INTERACTIONS: _write_interactions,
}
