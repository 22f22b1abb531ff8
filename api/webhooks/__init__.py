"""Inbound webhooks: signed events from shops and billing systems, logged as interactions.

signatures.py checks who sent a request and when; events.py turns an event into writes
through the same serializers and services as the API; views.py is the endpoint.
"""
