"""Applying a checked import file: write its valid rows in one transaction.

`apply_import` checks the file again (the database may have changed since the
preview), then a writer per target writes the rows in bulk: customers are
created or updated with their company, owner and tags, interactions are added.
customers_imported tells other apps which customers a file wrote (bulk writes
send no post_save). ImportRefused says a job cannot be applied as it stands.

One transaction holds the whole import, in both modes ("valid rows" skips the invalid
rows but writes the others together too): a worker killed mid-way leaves nothing
written, and the repair job has the next worker start again from the first row. The
transaction locks the job's row first (claims.lock), which is how the repair job
tells a long import from a dead one.
"""

import logging

from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers import services, status_history
from customers.events import customers_imported
from customers.models import Company, Customer, ImportJob, Interaction, Tag

from .checking import CheckOutcome, Progress, check_file, failure_text
from .claims import END_OF_STEP, JobLost, held, lock
from .matching import chunked
from .rows import CREATE, UPDATE, RowResult

logger = logging.getLogger(__name__)

WRITE_BATCH_SIZE = 1000


class ImportRefused(Exception):
    """The job cannot be applied as it stands (invalid rows in all-or-nothing mode)."""


def apply_import(job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Write the job's valid rows in one transaction and mark the job done.

    The rows are checked again first, since the database may have changed since
    the preview. In all-or-nothing mode any invalid row refuses the whole import
    (ImportRefused, nothing written, the job back to "ready" with the new errors);
    in valid-rows mode the invalid rows are skipped.

    Customers are matched by external id, then by email in any letter case: a match
    is updated, any other row creates a customer. An update changes only the columns present in
    the file, and a blank cell leaves that field as it is (so an import never
    clears a field; edit the customer to do that). Interactions are added, except those
    whose external id is already here (skipped_rows: imported before, not errors).

    Any unexpected error marks the job failed with a readable reason; then too
    nothing is written. Every write about the job requires the lease token it was
    loaded with (claims.held): a worker that lost the job changes nothing.
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
            lock(job)
            writer = _Writer(job, progress)
            outcome = check_file(job, progress, phase="writing", write=writer, lock=True)
            if outcome.header_errors or (
                job.mode == ImportJob.Mode.ALL_OR_NOTHING and outcome.error_rows
            ):
                raise _Stale(outcome)
            writer.finish()
            fields = {
                **outcome.job_fields(),
                "created_count": writer.created,
                "updated_count": writer.updated,
                "status": ImportJob.Status.DONE,
                "failure": "",
                "finished_at": timezone.now(),
                **END_OF_STEP,
            }
            held(job).update(**fields)
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
    except (JobLost, OperationalError, InterfaceError):
        # Not the file's fault: no longer this worker's job, or the database went away
        # (the transaction with it: then the repair job runs the import again).
        raise
    except Exception as exc:
        logger.exception("Applying import job %s failed", job.pk)
        fields = {
            "status": ImportJob.Status.FAILED,
            "failure": failure_text(exc, _("The import stopped")),
            "finished_at": timezone.now(),
            **END_OF_STEP,
        }
        held(job).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


class _Stale(Exception):
    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def _back_to_ready(job: ImportJob, fields: dict) -> None:
    fields = {**fields, "status": ImportJob.Status.VALIDATED, **END_OF_STEP}
    held(job).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


class _Writer:
    """Writes each checked block's valid rows, in the import's one transaction.

    In all-or-nothing mode it stops writing at the first invalid row: the check goes
    on to the end (for the errors the page shows), then the transaction is undone.
    """

    def __init__(self, job: ImportJob, progress: Progress | None) -> None:
        self.job = job
        self.write_block = WRITERS[job.target]
        self.all_or_nothing = job.mode == ImportJob.Mode.ALL_OR_NOTHING
        self.created = 0
        self.updated = 0
        self.contacted: set[int] = set()  # customers with new interactions (not rows)

    def __call__(self, results: list[RowResult], outcome: CheckOutcome) -> None:
        if self.all_or_nothing and (outcome.error_rows or outcome.header_errors):
            return
        created, updated = self.write_block(self.job, results)
        self.created += created
        self.updated += updated
        if self.job.target == ImportJob.Target.INTERACTIONS:
            self.contacted.update(r.instance.customer_id for r in results)

    def finish(self) -> None:
        """After the last block: the customers' last-contact dates, once per customer."""
        for chunk in chunked(self.contacted, WRITE_BATCH_SIZE):
            services.refresh_last_interaction(chunk)


# --- Writing ------------------------------------------------------------------------


def _write_customers(job: ImportJob, results: list[RowResult]) -> tuple[int, int]:
    companies = _companies_named({r.extras["company"] for r in results if r.extras.get("company")})
    tags = {}
    for chunk in chunked({name for r in results for name in r.extras.get("tags", [])}):
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
    if new:
        Customer.objects.bulk_create([r.instance for r in new], batch_size=WRITE_BATCH_SIZE)
    if changed:
        Customer.objects.bulk_update(
            [r.instance for r in changed], sorted(update_fields), batch_size=WRITE_BATCH_SIZE
        )
    _set_tags([r for r in results if "tags" in r.extras], tags)
    # Bulk writes skip post_save: the status history is recorded here, in bulk.
    status_history.record_bulk([r.instance for r in new], created=True)
    status_history.record_bulk([r.instance for r in changed], created=False)
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
    for chunk in chunked(names):
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
    for batch in chunked(results, WRITE_BATCH_SIZE):
        updated_ids = [r.instance.pk for r in batch if r.action == UPDATE]
        if updated_ids:
            through.objects.filter(customer_id__in=updated_ids).delete()
        links = [
            through(customer_id=r.instance.pk, tag_id=tags[name].pk)
            for r in batch
            for name in r.extras["tags"]
        ]
        through.objects.bulk_create(links, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True)


def _write_interactions(job: ImportJob, results: list[RowResult]) -> tuple[int, int]:
    insert_rows(Interaction, [r.instance for r in results])
    return len(results), 0


# Field types whose Python values psycopg writes as they are (no Django preparation).
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.DecimalField,
    models.DateTimeField,
    models.DateField,
    models.BooleanField,
    models.IntegerField,
    models.ForeignKey,
)


def insert_rows(model: type[models.Model], instances: list[models.Model]) -> None:
    """Insert new rows that need no primary key back, with COPY on PostgreSQL.

    Django's bulk_create prepares every value of every row through the field, about
    three quarters of an import's writing time; COPY takes the values as they are and
    writes a million interactions in well under a minute. Elsewhere (SQLite in
    development) bulk_create. No signals either way, as with bulk_create.
    """
    if not instances:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances, batch_size=WRITE_BATCH_SIZE)
        return
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    if not all(isinstance(f, _PLAIN_FIELDS) for f in fields):
        model.objects.bulk_create(instances, batch_size=WRITE_BATCH_SIZE)
        return
    now = timezone.now()
    stamped = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    attnames = [f.attname for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for instance in instances:
            copy.write_row(
                [now if name in stamped else getattr(instance, name) for name in attnames]
            )


WRITERS = {
    ImportJob.Target.CUSTOMERS: _write_customers,
    ImportJob.Target.INTERACTIONS: _write_interactions,
}
