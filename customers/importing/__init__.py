"""CSV import of customers and interactions: check the file (preview), then apply it.

`validate_import` reads the file and checks every row without writing anything;
`apply_import` checks again (the database may have changed since) and writes the
rows in one transaction. Both run in a worker (customers.tasks): the pages ask
for them with `job_check_request` and `job_apply_request` and follow them with
`read_progress`. The modules, in the order a file goes through them: parsing
(the CSV and its header), columns and row_forms (one row against the model's
field rules), checking (a whole file against the database, looked up in bulk),
applying (the writes), jobs (starting the background steps, their progress).
"""

from .applying import ImportRefused, apply_import
from .checking import MAX_STORED_ERRORS, Progress, validate_import
from .jobs import job_apply_request, job_check_request, read_progress

__all__ = [
    "MAX_STORED_ERRORS",
    "ImportRefused",
    "Progress",
    "apply_import",
    "job_apply_request",
    "job_check_request",
    "read_progress",
    "validate_import",
]
