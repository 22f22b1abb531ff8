"""Checking an import file against the database, row by row, without writing anything.

`check_file` parses the job's file and checks every row with its row form;
everything a row refers to (owners, existing customers by external id and email,
interactions imported before) is looked up in bulk first (matching.py), never with
a query per row. It counts valid and invalid rows, keeps
the first errors and a preview, and can keep the checked instances for
applying.py. `validate_import` is the first step of an import: it checks the
file and stores the outcome on the job (the preview the user confirms).
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import access
from customers.forms import staff_users
from customers.leases import with_reconnect
from customers.models import Customer, ImportJob, Interaction

from .claims import END_OF_STEP, JobLost, held
from .columns import (
    CUSTOMER_MODEL_FIELDS,
    DECIMAL_COMMA,
    DECIMAL_FIELDS,
    INTERACTION_MODEL_FIELDS,
    choice_columns,
    choice_lookup,
    made_subject,
    subject_formats,
)
from .matching import (
    CustomerMatcher,
    chunked,
    customers_by_email,
    customers_by_external_id,
    imported_interaction_ids,
    interaction_customer,
)
from .parsing import ParsedFile, RawRow, error_entry, parse_file
from .row_forms import CustomerRowForm, InteractionRowForm, RowForm, row_form_class

logger = logging.getLogger(__name__)

# progress(phase, done, total); phases: "validating", "checking", "writing".
Progress = Callable[[str, int, int], None]

MAX_STORED_ERRORS = 1000
PREVIEW_ROWS = 20
PREVIEW_CELL_LENGTH = 200
PROGRESS_EVERY = 500

CREATE = "create"
UPDATE = "update"
ERROR = "error"
SKIP = "skip"  # already imported (an interaction whose external id exists): not written


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


class _Rows:
    """Checks the rows of one file against the database, looked up in bulk first."""

    target: str
    model: type[models.Model]
    model_fields: tuple[str, ...]
    form_base: type[RowForm]
    always_checked: tuple[str, ...] = ()  # checked even when the file has no such column

    def __init__(self, job: ImportJob, parsed: ParsedFile, *, lock: bool) -> None:
        self.job = job
        self.user = job.created_by or AnonymousUser()
        self.user_is_admin = access.is_admin(self.user)
        self.columns = parsed.columns
        self.lock = lock
        present = [
            name
            for name in self.model_fields
            if name in parsed.columns or name in self.always_checked
        ]
        self.form_class = row_form_class(self.form_base, self.model, present, self.target)
        self.choice_lookups = {
            name: choice_lookup(choices)
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

    def _run_form(self, result: RowResult, data: dict, instance, *, update: bool) -> RowForm:
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
    form_base = CustomerRowForm

    def prepare(self, rows: list[RawRow]) -> None:
        emails = {row.values.get("email", "").lower() for row in rows} - {""}
        existing = Customer.objects.select_related("company")
        if self.lock:
            existing = existing.select_for_update(of=("self",))
        external_ids = {row.values.get("external_id", "") for row in rows}
        self.matcher = CustomerMatcher(
            customers_by_external_id(external_ids, existing), customers_by_email(emails, existing)
        )
        usernames = {row.values.get("owner", "").lower() for row in rows} - {""}
        self.owners: dict[str, list] = defaultdict(list)
        user_model = get_user_model()
        for chunk in chunked(usernames):
            users = user_model.objects.annotate(username_lower=Lower(user_model.USERNAME_FIELD))
            for user in users.filter(username_lower__in=chunk):
                self.owners[user.username_lower].append(user)
        owner_ids = [user.pk for users in self.owners.values() for user in users]
        self.staff_ids = set()
        for chunk in chunked(owner_ids):
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
        existing, column, errors = self.matcher.match(
            row.number, data.get("external_id", ""), email
        )
        result.errors += errors
        if existing is not None and not access.can_change_customer(self.user, existing):
            result.errors.append(
                (
                    column,
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
    form_base = InteractionRowForm
    # Optional since purchases and refunds get one made, but required for the other kinds.
    always_checked = ("subject",)

    def prepare(self, rows: list[RawRow]) -> None:
        customers = Customer.objects.only("id", "name", "email", "external_id")
        emails = {row.values.get("customer_email", "").lower() for row in rows} - {""}
        self.customers = customers_by_email(emails, customers)
        self.customers_by_external_id = customers_by_external_id(
            {row.values.get("customer_external_id", "") for row in rows}, customers
        )
        self.imported = imported_interaction_ids(row.values.get("external_id", "") for row in rows)
        self.seen_external_ids: dict[str, int] = {}
        self.can_log = self.user.is_authenticated and self.user.has_perm(
            "customers.add_interaction"
        )
        self.subject_formats = subject_formats()

    def check(self, row: RawRow) -> RowResult:
        result = RowResult(row.number, row.values, CREATE)
        if row.stray_cells:
            result.errors.append(("", _("This row has more cells than the header has columns.")))
        if not self.can_log:
            result.errors.append(("", _("You cannot log interactions.")))
        external_id = row.values.get("external_id", "")
        if external_id:
            if external_id in self.imported and not result.errors:
                result.action = SKIP
                return result
            first_row = self.seen_external_ids.setdefault(external_id, row.number)
            if first_row != row.number:
                message = _("Row %(row)s has the same external id.")
                result.errors.append(("external_id", message % {"row": first_row}))
        customer, errors = interaction_customer(
            row.values, self.customers, self.customers_by_external_id
        )
        result.errors += errors
        instance = Interaction(
            customer_id=customer.pk if customer else None,
            recorded_by=self.user if self.user.is_authenticated else None,
        )
        data = self._normalised(row.values)
        subject_format = self.subject_formats.get(data.get("kind", ""))
        subject_wanted = subject_format is not None and not data.get("subject")
        if subject_wanted:
            data.pop("subject", None)  # the form leaves it out; made below from amount and date
        else:
            data.setdefault("subject", "")  # required for the other kinds, column or not
        self._run_form(result, data, instance, update=False)
        if result.errors:
            result.action = ERROR
            result.instance = None
        elif subject_wanted:
            result.instance.subject = made_subject(subject_format, result.instance)
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
    skipped_rows: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    valid: list[RowResult] = field(default_factory=list)

    def job_fields(self) -> dict[str, Any]:
        return {
            "total_rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "skipped_rows": self.skipped_rows,
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
                    outcome.errors.append(error_entry(result.number, column, message))
        if len(outcome.preview) < PREVIEW_ROWS:
            values = {name: value[:PREVIEW_CELL_LENGTH] for name, value in result.values.items()}
            outcome.preview.append(
                {"row": result.number, "action": result.action, "values": values}
            )
        if result.action == SKIP:
            outcome.skipped_rows += 1
        elif not result.errors:
            outcome.valid_rows += 1
            if keep_valid:
                result.values = {}  # from here on only the instance and extras matter
                outcome.valid.append(result)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(phase, done, total)
    return outcome


def validate_import(job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Check the job's file and store the counts, row errors and preview.

    Writes nothing but the job (so it is safe to run again), and only while the job is
    still the claim's it was loaded with (claims.held): cancelled or taken over, it stays.
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
    except (JobLost, OperationalError, InterfaceError):
        raise  # not the file's fault: the step is not ours, or the repair job reruns it
    except Exception as exc:
        logger.exception("Validating import job %s failed", job.pk)
        fields = {
            "status": ImportJob.Status.FAILED,
            "failure": failure_text(exc, _("The file could not be checked")),
            "finished_at": timezone.now(),
        }
    fields.update(END_OF_STEP)
    running = held(job).filter(status__in=[ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED])
    still_wanted = with_reconnect(lambda: running.update(**fields), "recording a file's check")
    if still_wanted:
        for name, value in fields.items():
            setattr(job, name, value)
    else:
        job.refresh_from_db(fields=["status"])
    return job


def _describe(errors: list[dict]) -> str:
    """One line for the failure notice; the errors table lists each problem."""
    if any(error["field"] for error in errors):
        columns = ", ".join(error["field"] for error in errors if error["field"])
        return _("the header row has problems with these columns: %(columns)s.") % {
            "columns": columns
        }
    return " ".join(error["message"] for error in errors)


def failure_text(exc: Exception, what: str) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return _("%(what)s because of an unexpected error (%(reason)s). Nothing was imported.") % {
        "what": what,
        "reason": reason[:300],
    }
