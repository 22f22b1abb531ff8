"""What the outbound webhooks tell the rest of the api app (a Django signal).

queueing.py sends it after writing rows; api.apps connects it to the task module, so
these services never import tasks (tasks import them).
"""

from django.dispatch import Signal

# sender=WebhookMessage: rows were written in the current transaction; a worker should
# post them once it commits.
messages_queued = Signal()
