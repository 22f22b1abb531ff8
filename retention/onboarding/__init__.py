"""Onboarding checklists: templates, running checklists, the customer's page, stalls.

Public surface: `events.onboarding_completed` (loyalty's bonus listens to it, connected
in retention/apps.py). Everything else is this feature's own.
"""
