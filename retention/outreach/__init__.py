"""Follow-up emails: templates and rendering, placeholders, rules and cadence, the outbox.

Public surface: `placeholders` (onboarding and loyalty add their links and figures to
the registry); `headers.apply_list_headers` (List-Id and one-click unsubscribe on any
Django email, e.g. survey emails) and `dkim` (signing, done by the SMTP backend the
settings pick). Everything else is this feature's own.
"""
