"""The words, names and weights the demo data is drawn from, and the demo logins.

Locales and the countries they stand for, email domains, industries, how often
each status, plan, owner and kind of interaction comes up, and the subject and
body templates of interactions with the words that fill them. The draws follow
the order and length of these lists, so changing one changes the data a seed gives.
"""

import random
from dataclasses import dataclass

from customers.access import ACCOUNT_MANAGER, ADMIN, STAFF
from customers.models import Customer, Interaction

Kind = Interaction.Kind
Direction = Interaction.Direction
Status = Customer.Status


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    superuser: bool = False


DEMO_USERS = (
    DemoUser("admin", "Alex", "Admin", ADMIN, superuser=True),
    DemoUser("manager", "Morgan", "Manager", ACCOUNT_MANAGER),
    DemoUser("sam", "Sam", "Schneider", ACCOUNT_MANAGER),
    DemoUser("robin", "Robin", "Laurent", ACCOUNT_MANAGER),
    DemoUser("staff", "Sasha", "Support", STAFF),
)
# Share of each account manager's book; the rest (about 10%) is unassigned.
OWNER_WEIGHTS = {"manager": 36, "sam": 28, "robin": 26, None: 10}

# Faker locales per preferred language, with the country each one stands for.
LOCALES = {
    "en": [("en_GB", "United Kingdom"), ("en_US", "United States")],
    "de": [("de_DE", "Germany"), ("de_AT", "Austria"), ("de_CH", "Switzerland")],
    "tr": [("tr_TR", "Turkey")],
    "zh-hant": [("zh_TW", "Taiwan")],
}
# settings.LANGUAGES: the languages the app speaks completely (issue 18).
LANGUAGE_WEIGHTS = {"en": 45, "de": 25, "tr": 16, "zh-hant": 14}
FREE_MAIL = {
    "en": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"],
    "de": ["gmail.com", "web.de", "gmx.de", "t-online.de"],
    "tr": ["gmail.com", "hotmail.com", "yandex.com.tr", "outlook.com.tr"],
    "zh-hant": ["gmail.com", "yahoo.com.tw", "hotmail.com", "hinet.net"],
}
TLDS = {"en": "co.uk", "de": "de", "tr": "com.tr", "zh-hant": "com.tw"}
INDUSTRIES = [
    "Retail",
    "Wholesale",
    "Hospitality",
    "Manufacturing",
    "Logistics",
    "Healthcare",
    "Construction",
    "Software",
    "Education",
    "Professional services",
    "Food & beverage",
    "Real estate",
]

STATUS_WEIGHTS = {
    Status.ACTIVE: 62,
    Status.LEAD: 8,
    Status.ONBOARDING: 8,
    Status.AT_RISK: 10,
    Status.CHURNED: 12,
}
# Plan name -> (weight, lowest and highest monthly value).
PLANS = {
    "Starter": (40, 29, 79),
    "Growth": (32, 99, 249),
    "Pro": (20, 299, 699),
    "Enterprise": (8, 1200, 6000),
}
CHURN_REASONS = [
    "Moved to a competitor",
    "Too expensive",
    "Business closed",
    "Missing features",
    "Poor support experience",
    "Merged with another company",
    "No longer needed",
]
TAG_NAMES = ["VIP", "Newsletter", "Wholesale", "Partner", "Trial", "Enterprise", "Referral"]

KIND_WEIGHTS = {
    Kind.CALL: 24,
    Kind.EMAIL: 30,
    Kind.MEETING: 8,
    Kind.NOTE: 12,
    Kind.SERVICE_REQUEST: 10,
    Kind.COMPLAINT: 3,
    Kind.PURCHASE: 9,
    Kind.DISCOUNT_REQUEST: 3,
}
KIND_DIRECTIONS = {
    Kind.CALL: [Direction.INBOUND, Direction.OUTBOUND],
    Kind.EMAIL: [Direction.INBOUND, Direction.OUTBOUND],
    Kind.MEETING: [Direction.OUTBOUND],
    Kind.NOTE: [Direction.INTERNAL],
    Kind.SERVICE_REQUEST: [Direction.INBOUND],
    Kind.COMPLAINT: [Direction.INBOUND],
    Kind.PURCHASE: [Direction.INBOUND],
    Kind.DISCOUNT_REQUEST: [Direction.INBOUND],
    Kind.CANCELLATION: [Direction.INBOUND],
}

TOPICS = [
    "the invoice for {month}",
    "adding user seats",
    "the new reporting module",
    "the integration with their ERP",
    "delivery times",
    "pricing for next year",
    "the mobile app",
    "exporting their data",
    "training for new staff",
    "the upgrade to {next_plan}",
    "single sign-on",
    "the API rate limits",
]
SUBJECTS = {
    Kind.CALL: [
        "Check-in call with {first}",
        "Quarterly review call",
        "Call about {topic}",
        "Returned {first}'s call",
        "Renewal call",
        "Follow-up call on {topic}",
    ],
    Kind.EMAIL: [
        "Re: {topic}",
        "Question about {topic}",
        "Sent the {month} usage report",
        "Re: your {plan} plan",
        "Welcome pack and next steps",
        "Follow-up: {topic}",
    ],
    Kind.MEETING: [
        "Business review with {first}",
        "On-site visit at {company}",
        "Workshop: {topic}",
        "Planning meeting for next quarter",
    ],
    Kind.NOTE: [
        "Internal note: {topic}",
        "{first} prefers email over phone",
        "Budget cycle starts in {month}",
        "Decision maker changed",
        "Possible upsell: {next_plan}",
    ],
    Kind.SERVICE_REQUEST: [
        "Cannot log in",
        "Help with {topic}",
        "Report shows wrong totals",
        "Request: change billing address",
        "Password reset for a colleague",
        "Import failed with an error",
    ],
    Kind.COMPLAINT: [
        "Complaint: invoice charged twice",
        "Complaint: support took {days} days to answer",
        "Unhappy with {topic}",
        "Complaint: outage during business hours",
        "Complaint: promised feature still missing",
    ],
    Kind.PURCHASE: [
        "Purchase: {seats} extra seats",
        "Annual prepayment",
        "Bought the {addon} add-on",
        "Order: training package",
        "Upgrade to {next_plan}",
    ],
    Kind.DISCOUNT_REQUEST: [
        "Asked for a discount on renewal",
        "Discount request: {percent}% off",
        "Wants a better price than {competitor}",
    ],
    Kind.CANCELLATION: ["Cancellation: {reason}"],
}
BODIES = {
    Kind.CALL: [
        "Talked through {topic}. {first} sounded {mood}. Agreed to follow up {when}.",
        "Short call. No open issues; {first} asked about {topic}.",
        "{first} called back about {topic}. Sent a summary afterwards.",
    ],
    Kind.EMAIL: [
        "Answered {first}'s questions about {topic} and attached the documentation.",
        "Sent an overview of {topic}. Waiting for a reply.",
        "{first} confirmed by email; nothing else needed for now.",
    ],
    Kind.MEETING: [
        "Went through the last quarter with {first} and their team. Main topic: {topic}.",
        "Demoed {topic}. Good questions from the team; next step {when}.",
    ],
    Kind.NOTE: [
        "Keep in mind for the renewal conversation.",
        "From the last conversation: {topic} matters most to them.",
        "",
    ],
    Kind.SERVICE_REQUEST: [
        "Support ticket opened. Solved within the day after a screen share.",
        "Escalated to second level; {first} was informed.",
        "Walked {first} through {topic}. Closed.",
    ],
    Kind.COMPLAINT: [
        "{first} is frustrated and mentioned looking at {competitor}. Needs a call {when}.",
        "Apologised and promised a credit note. {first} still not happy.",
        "Second complaint this quarter. Flagged to the account manager.",
    ],
    Kind.PURCHASE: [
        "Order confirmed by {first}. Invoice sent.",
        "Paid by bank transfer.",
        "",
    ],
    Kind.DISCOUNT_REQUEST: [
        "{first} says {competitor} offers a lower price. Asked for {percent}% off.",
        "Budget is tight this year; asked whether we can keep last year's price.",
    ],
    Kind.CANCELLATION: [
        "{first} cancelled the {plan} plan. Reason given: {reason}.",
    ],
}
MOODS = ["happy", "relaxed", "busy", "a bit impatient", "positive", "hesitant"]
WHEN = ["next week", "in two weeks", "after their board meeting", "before the renewal", "on Monday"]
ADDONS = ["Analytics", "Extra storage", "Premium support", "Multi-site", "API access"]
COMPETITORS = ["Acme CRM", "Salesbook", "Clientwise", "Pipewell"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NEXT_PLAN = {"Starter": "Growth", "Growth": "Pro", "Pro": "Enterprise", "Enterprise": "Enterprise"}

WORD_CHOICES = {"mood": MOODS, "when": WHEN, "addon": ADDONS, "competitor": COMPETITORS}


def weighted(rng: random.Random, weights: dict):
    """One key of `weights`, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]
