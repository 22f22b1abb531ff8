"""Onboarding checklists: templates, running checklists, the customer's page, stalls.

Public surface for other features and apps: `models`, `events.onboarding_completed`.
"""
