"""Django signals the customers app sends, for other apps to react to without the
sender knowing them (as retention.events and surveys.events), and for its own
background work, so that services never import tasks (customers.receivers).

Receivers run inside the sender's transaction, so what they write commits or
rolls back with the cause.
"""

from django.dispatch import Signal

# sender=ImportJob, job=ImportJob, created_ids=[...], updated_ids=[...]: a CSV import
# wrote these customers in bulk (bulk writes send no post_save for each of them).
customers_imported = Signal()

# sender=ImportJob, job_id=int, language=str|None: a page asked for an uploaded file to
# be checked, or for a checked file to be imported; customers.receivers has a worker do
# it, in that language, once the transaction commits.
import_check_requested = Signal()
import_apply_requested = Signal()
