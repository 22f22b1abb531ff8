"""Loyalty rewards: the points ledger, tiers, badges, rewards and coupons, the card.

Public surface for other features and apps: `models`, `ledger.award_feedback`.
"""
