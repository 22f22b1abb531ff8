"""What one row of an import file is: checked against the database and the model's rules.

A checker per target (customers, interactions) is built once per file for the fields
the file fills. `prepare` looks up what a block of rows refers to, in bulk
(matching.py); `check` turns one row into a RowResult: the model instance to write
(created or updated), a skip (already imported) or its errors as (column, message).
What must hold across the whole file (a customer or an external id once per file) is
remembered between blocks.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import access
from customers.forms import staff_users
from customers.models import Customer, ImportJob, Interaction

from .cells import RowCleaner, company_name, model_errors, tag_names
from .columns import (
    CUSTOMER_MODEL_FIELDS,
    INTERACTION_MODEL_FIELDS,
    choice_columns,
    made_subject,
    subject_formats,
)
from .matching import (
    CustomerMatcher,
    CustomerRefs,
    chunked,
    customers_by_email,
    customers_by_external_id,
    imported_interaction_ids,
    interaction_customer,
)
from .parsing import Header, RawRow

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


class Rows:
    """Checks the rows of one file against the database, a block at a time.

    `prepare` looks up what a block of rows refers to (in bulk), `check` checks one
    row of it; what must hold across the whole file (a customer or an external id
    once per file) is remembered between blocks.
    """

    target: str
    model: type[models.Model]
    model_fields: tuple[str, ...]
    always_checked: tuple[str, ...] = ()  # checked even when the file has no such column

    def __init__(self, job: ImportJob, header: Header, *, lock: bool) -> None:
        self.job = job
        self.user = job.created_by or AnonymousUser()
        self.user_is_admin = access.is_admin(self.user)
        self.columns = header.columns
        self.lock = lock
        present = [
            name
            for name in self.model_fields
            if name in self.columns or name in self.always_checked
        ]
        self.cleaner = RowCleaner(
            self.model,
            present,
            choice_columns(self.target),
            date_order=header.date_order,
            decimal_separator=header.decimal_separator,
        )

    def prepare(self, rows: list[RawRow]) -> None:
        raise NotImplementedError

    def check(self, row: RawRow) -> RowResult:
        raise NotImplementedError


class CustomerRows(Rows):
    target = ImportJob.Target.CUSTOMERS
    model = Customer
    model_fields = CUSTOMER_MODEL_FIELDS

    def __init__(self, job: ImportJob, header: Header, *, lock: bool) -> None:
        super().__init__(job, header, lock=lock)
        self.matcher = CustomerMatcher({}, {})
        self.owners: dict[str, list] = {}
        self.staff_ids: set[int] = set()

    def prepare(self, rows: list[RawRow]) -> None:
        emails = {row.values.get("email", "").lower() for row in rows} - {""}
        existing = Customer.objects.select_related("company")
        if self.lock:
            existing = existing.select_for_update(of=("self",))
        external_ids = {row.values.get("external_id", "") for row in rows}
        self.matcher.by_external_id = customers_by_external_id(external_ids, existing)
        self.matcher.by_email = customers_by_email(emails, existing)
        usernames = {row.values.get("owner", "").lower() for row in rows} - {""}
        self._load_owners(usernames - set(self.owners))

    def _load_owners(self, usernames: set[str]) -> None:
        user_model = get_user_model()
        new_ids = []
        for name in usernames:
            self.owners[name] = []
        for chunk in chunked(usernames):
            users = user_model.objects.annotate(username_lower=Lower(user_model.USERNAME_FIELD))
            for user in users.filter(username_lower__in=chunk):
                self.owners[user.username_lower].append(user)
                new_ids.append(user.pk)
        for chunk in chunked(new_ids):
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
            raise ValueError(_("No user has the username “%(name)s”.") % {"name": username})
        if len(candidates) > 1:
            raise ValueError(
                _(
                    "Several users are called “%(name)s” (in different letter cases); "
                    "use the exact name."
                )
                % {"name": username}
            )
        owner = candidates[0]
        if owner.pk not in self.staff_ids:
            raise ValueError(
                _("“%(name)s” is not an active account manager or admin.") % {"name": username}
            )
        if not self.user_is_admin and owner.pk != self.user.pk:
            raise ValueError(_("You can only make yourself the account manager."))
        return owner

    def check(self, row: RawRow) -> RowResult:
        result = RowResult(row.number, row.values, CREATE)
        if row.stray_cells:
            result.errors.append(("", _("This row has more cells than the header has columns.")))
        data = row.values
        email = data.get("email", "").lower()
        if "email" in data:
            data = {**data, "email": email}
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
        cleaned, cell_errors = self.cleaner.clean(data, update=update)
        result.errors += cell_errors
        self._extras(result, data, update)
        if result.errors:
            result.action = ERROR
            return result
        instance = existing if update else Customer()
        for name, value in cleaned.items():
            setattr(instance, name, value)
        result.instance = instance
        result.write_fields = list(cleaned)
        return result

    def _extras(self, result: RowResult, data: dict[str, str], update: bool) -> None:
        """The company, owner and tags columns; a blank cell in an update keeps them."""
        readers = {"company": company_name, "owner": self.owner_for, "tags": tag_names}
        for name, read in readers.items():
            if name not in data or (update and not data[name]):
                continue
            try:
                result.extras[name] = read(data[name])
            except ValueError as error:
                result.errors.append((name, str(error)))


class InteractionRows(Rows):
    target = ImportJob.Target.INTERACTIONS
    model = Interaction
    model_fields = INTERACTION_MODEL_FIELDS
    # Optional since purchases and refunds get one made, but required for the other kinds.
    always_checked = ("subject",)

    def __init__(self, job: ImportJob, header: Header, *, lock: bool) -> None:
        super().__init__(job, header, lock=lock)
        self.seen_external_ids: dict[str, int] = {}
        self.can_log = self.user.is_authenticated and self.user.has_perm(
            "customers.add_interaction"
        )
        self.recorded_by_id = self.user.pk if self.user.is_authenticated else None
        self.subject_formats = subject_formats()
        self.customer_refs = CustomerRefs()
        self.zone = timezone.get_current_timezone()
        # New instances are made from their fields' values in order (Model(*values), as
        # Django loads rows), each default taken once per file: Model(**kwargs) looks up
        # every missing field's default for every row, a quarter of a row's check.
        fields = Interaction._meta.concrete_fields
        self.positions = {f.attname: index for index, f in enumerate(fields)}
        self.defaults = [None if f.primary_key else f.get_default() for f in fields]

    def prepare(self, rows: list[RawRow]) -> None:
        self.customer_refs.load(
            {row.values.get("customer_email", "").lower() for row in rows},
            {row.values.get("customer_external_id", "") for row in rows},
        )
        self.imported = imported_interaction_ids(row.values.get("external_id", "") for row in rows)

    def check(self, row: RawRow) -> RowResult:
        result = RowResult(row.number, row.values, CREATE)
        if row.stray_cells:
            result.errors.append(("", _("This row has more cells than the header has columns.")))
        if not self.can_log:
            result.errors.append(("", _("You cannot log interactions.")))
        external_id = row.values.get("external_id", "")
        if external_id:
            # A repeat inside the file first: once the earlier row is written (an import
            # goes block by block), it would otherwise look "already imported".
            first_row = self.seen_external_ids.setdefault(external_id, row.number)
            if first_row != row.number:
                message = _("Row %(row)s has the same external id.")
                result.errors.append(("external_id", message % {"row": first_row}))
            elif external_id in self.imported and not result.errors:
                result.action = SKIP
                return result
        customer, errors = interaction_customer(
            row.values, self.customer_refs.by_email, self.customer_refs.by_external_id
        )
        result.errors += errors
        data = row.values
        subject_format = self.subject_formats.get(self._kind(data.get("kind", "")))
        subject_wanted = subject_format is not None and not data.get("subject")
        if subject_wanted:
            data = {name: text for name, text in data.items() if name != "subject"}
        elif "subject" not in data:
            data = {**data, "subject": ""}  # required for the other kinds, column or not
        cleaned, cell_errors = self.cleaner.clean(data, update=False)
        result.errors += cell_errors
        if result.errors:
            result.action = ERROR
            return result
        instance = self._new_interaction(
            {**cleaned, "customer_id": customer.pk, "recorded_by_id": self.recorded_by_id}
        )
        result.errors += model_errors(instance)
        if result.errors:
            result.action = ERROR
            return result
        if subject_wanted:
            instance.subject = made_subject(subject_format, instance, self.zone)
        result.instance = instance
        return result

    def _new_interaction(self, values: dict) -> Interaction:
        row = list(self.defaults)
        positions = self.positions
        for name, value in values.items():
            row[positions[name]] = value
        return Interaction(*row)

    def _kind(self, text: str) -> str:
        try:
            return self.cleaner.converters["kind"](text) if text else ""
        except ValueError:
            return ""


ROW_CHECKERS: dict[str, type[Rows]] = {
    ImportJob.Target.CUSTOMERS: CustomerRows,
    ImportJob.Target.INTERACTIONS: InteractionRows,
}
