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

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers import services, status_history
from customers.events import customers_imported
from customers.models import Company, Customer, ImportJob, Interaction, Tag

from .checking import (
    CREATE,
    UPDATE,
    CheckOutcome,
    Progress,
    RowResult,
    check_file,
    chunked,
    failure_text,
)
from .claims import END_OF_STEP, JobLost, held, lock

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


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress("writing", done, total)


# --- Writing ------------------------------------------------------------------------


def _write_customers(
    job: ImportJob, results: list[RowResult], progress: Progress | None
) -> tuple[int, int]:
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
    total = len(results)
    done = 0
    for batch in chunked(new, WRITE_BATCH_SIZE):
        Customer.objects.bulk_create([r.instance for r in batch], batch_size=WRITE_BATCH_SIZE)
        done += len(batch)
        _report(progress, done, total)
    for batch in chunked(changed, WRITE_BATCH_SIZE):
        Customer.objects.bulk_update(
            [r.instance for r in batch], sorted(update_fields), batch_size=WRITE_BATCH_SIZE
        )
        done += len(batch)
        _report(progress, done, total)
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


def _write_interactions(
    job: ImportJob, results: list[RowResult], progress: Progress | None
) -> tuple[int, int]:
    total = len(results)
    done = 0
    for batch in chunked(results, WRITE_BATCH_SIZE):
        Interaction.objects.bulk_create([r.instance for r in batch], batch_size=WRITE_BATCH_SIZE)
        done += len(batch)
        _report(progress, done, total)
    customer_ids = {r.instance.customer_id for r in results}
    for chunk in chunked(customer_ids, WRITE_BATCH_SIZE):
        services.refresh_last_interaction(chunk)
    return total, 0


WRITERS = {
    ImportJob.Target.CUSTOMERS: _write_customers,
    ImportJob.Target.INTERACTIONS: _write_interactions,
}
