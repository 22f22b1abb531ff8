"""Loyalty rewards: the points ledger, tiers, badges, rewards and coupons, the card.

Public surface: `ledger.award_feedback` (the surveys app pays the feedback bonus with it).
Everything else is this feature's own.
"""
