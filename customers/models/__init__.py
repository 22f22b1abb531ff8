"""The customer database: customers, their companies, tags and interactions."""

from .customers import Company, Customer, CustomerQuerySet, Tag, build_search_text, normalize_phone
from .imports import ImportJob
from .interactions import Interaction
from .membership import MembershipBuild, MembershipDay, MembershipSpell, StatusChange
from .usage import UsageDay

__all__ = [
    "Company",
    "Customer",
    "CustomerQuerySet",
    "ImportJob",
    "Interaction",
    "MembershipBuild",
    "MembershipDay",
    "MembershipSpell",
    "StatusChange",
    "Tag",
    "UsageDay",
    "build_search_text",
    "normalize_phone",
]
