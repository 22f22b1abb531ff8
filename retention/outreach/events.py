"""What the outreach feature tells the rest of the app (Django signals)."""

from django.dispatch import Signal

# Sent inside the transaction that queued outbox rows; outreach.receivers asks a worker
# to send them once it commits (services never import tasks).
emails_queued = Signal()
