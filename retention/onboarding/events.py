"""Django signals the retention app sends, for other features to react to
(loyalty bonuses, follow-up emails, surveys) without the sender knowing them.

Receivers run inside the sender's transaction, so what they write commits or
rolls back with the cause.
"""

from django.dispatch import Signal

# sender=Checklist, checklist=Checklist, customer=Customer: every required step resolved.
onboarding_completed = Signal()
