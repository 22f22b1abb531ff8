"""Outbound webhooks: events this CRM posts to other systems, from an outbox table.

queueing.py writes the rows in the transaction of their cause (receivers.py listens to
the apps' signals); delivery.py claims, posts, retries and sweeps them.
"""
