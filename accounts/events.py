"""Signals this app sends; its receivers (receivers.py) hand the work to a task."""

from django.dispatch import Signal

# A reset was asked for `email` (within the limits); args: email, language.
reset_requested = Signal()
