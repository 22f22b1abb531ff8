"""Churn risk: signals, the nightly scoring job, the at-risk queue, the backtest.

Public surface for the other features and apps (the arrows import-linter allows are
listed in pyproject.toml): `signals` (the registry others add their signals to, and
`end_of_day`), `models`, and `events` (run started / finished, levels rose), which
retention/apps.py connects to the other features' receivers.
"""
