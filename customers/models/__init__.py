"""The customer database: customers, their companies, tags and interactions."""

from .customers import Company, Customer, CustomerQuerySet, Tag, build_search_text, normalize_phone
from .imports import ImportFileChunk, ImportJob, ImportMapping, MappingOrigin
from .interactions import Interaction
from .membership import MembershipBuild, MembershipDay, MembershipSpell, StatusChange
from .usage import UsageDay

__all__ = [
    "Company",
    "Customer",
    "CustomerQuerySet",
    "ImportFileChunk",
    "ImportJob",
    "ImportMapping",
    "Interaction",
    "MappingOrigin",
    "MembershipBuild",
    "MembershipDay",
    "MembershipSpell",
    "StatusChange",
    "Tag",
    "UsageDay",
    "build_search_text",
    "normalize_phone",
]
