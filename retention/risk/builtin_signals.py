"""The built-in churn-risk signals, in the order they are registered and shown.

Each lives with its concern: buying behaviour (behaviour_signals.py), complaints and
service requests (ticket_signals.py), the contract (contract_signals.py), product usage
(usage_signals.py); what they share about a customer's history is in history.py.
"""

from . import behaviour_signals, contract_signals, ticket_signals, usage_signals

BUILT_IN = [
    *behaviour_signals.SIGNALS,
    *usage_signals.SIGNALS,
    *ticket_signals.SIGNALS,
    *contract_signals.SIGNALS,
]
