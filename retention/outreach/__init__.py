"""Follow-up emails: templates and rendering, placeholders, rules and cadence, the outbox.

Public surface for other features and apps: `models`, `placeholders` (the registry
other features add theirs to).
"""
