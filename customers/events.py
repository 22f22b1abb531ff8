"""Django signals the customers app sends, for other apps to react to without the
sender knowing them (as retention.events and surveys.events).

Receivers run inside the sender's transaction, so what they write commits or
rolls back with the cause.
"""

from django.dispatch import Signal

# sender=ImportJob, job=ImportJob, created_ids=[...], updated_ids=[...]: a CSV import
# wrote these customers in bulk (bulk writes send no post_save for each of them).
customers_imported = Signal()
