"""Django signals the surveys app sends, for features built later (loyalty points)
to react to without this app knowing them.

Receivers run inside the answering transaction, so what they write commits or
rolls back with the answers.
"""

from django.dispatch import Signal

# sender=SurveyResponse, response=SurveyResponse, customer=Customer: a customer answered.
response_submitted = Signal()

# sender=SurveyInvitation, invitation_ids=[...]: invitations written in the current
# transaction; surveys.receivers enqueues their delivery once it commits.
invitations_queued = Signal()
