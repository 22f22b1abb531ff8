"""Follow-up emails: templates and rendering, placeholders, rules and cadence, the outbox.

Public surface: `placeholders` (onboarding and loyalty add their links and figures to
the registry). Everything else is this feature's own.
"""
