"""CSV import of customers and interactions: check the file (preview), then apply it.

`validate_import` reads the file and checks every row without writing anything;
`apply_import` checks again (the database may have changed since) and writes the
rows in one transaction. Both run in a worker (customers.tasks): the pages ask
for them with `job_check_request` and `job_apply_request` and follow them with
`read_progress`. The modules, in the order a file goes through them: parsing
(the CSV and its header), columns and cells (one row against the model's
field rules), checking (a whole file against the database, looked up in bulk),
applying (the writes), jobs (asking for the background steps, their progress),
claims (a worker's lease on a job's step) and repair (the beat job that queues
again the steps a lost message or a dead worker left).
"""

from .applying import ImportRefused, apply_import
from .checking import MAX_STORED_ERRORS, Progress, validate_import
from .claims import APPLY, CHECK, JobLost, claim_step, keep
from .jobs import job_apply_request, job_check_request, read_progress
from .repair import Repaired, repair_jobs
from .storage import UnreadableFile, head_text, store_text, store_upload

__all__ = [
    "APPLY",
    "CHECK",
    "MAX_STORED_ERRORS",
    "ImportRefused",
    "JobLost",
    "Progress",
    "Repaired",
    "UnreadableFile",
    "apply_import",
    "claim_step",
    "head_text",
    "job_apply_request",
    "job_check_request",
    "keep",
    "read_progress",
    "repair_jobs",
    "store_text",
    "store_upload",
    "validate_import",
]
