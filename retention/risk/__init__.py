"""Churn risk: signals, the nightly scoring job, the at-risk queue, the backtest.

Public surface for other features and apps (import-linter holds the rest private):
`signals` (the registry other features add their signals to, `end_of_day`),
`models`, `events` (run started / finished, levels rose), `queue.case_resolve`.
"""
