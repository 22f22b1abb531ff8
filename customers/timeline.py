"""A customer's 360° timeline, merged from every app that knows something about them.

Each app registers a *source* in its AppConfig.ready(): a function that returns
that app's entries for one customer, newest first, at or before a moment. The
timeline asks every source for one page, merges them and cuts the page, so a page
costs one query per source whatever the length of the history.

A page ends at a cursor (the last entry's moment and how many entries at exactly
that moment were already shown), so "load more" never repeats or skips an entry.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .models import Customer, Interaction
from .money import format_money
from .params import parse_id


@dataclass(frozen=True)
class TimelineEntry:
    occurred_at: datetime
    source: str  # the registered source's name, e.g. "interaction"
    pk: int
    kind: str  # a short machine name, e.g. "call", used for the icon and colour
    kind_label: str
    title: str
    body: str = ""
    actor: str = ""
    detail: str = ""  # e.g. an amount or a direction
    badge: str = "secondary"  # a Bootstrap colour name
    # Tickets (complaints, service requests) are open until resolved, at a time, by someone.
    has_state: bool = False
    resolved_at: datetime | None = None
    resolved_by: str = ""

    @property
    def sort_key(self) -> tuple:
        return (self.occurred_at, self.source, self.pk)

    @property
    def is_open(self) -> bool:
        return self.has_state and self.resolved_at is None

    @property
    def open_days(self) -> int:
        """Whole days an open ticket has waited so far (0 on its first day)."""
        return max(0, (timezone.now() - self.occurred_at).days)


# A source gets (customer, until, limit) and returns at most `limit` entries with
# occurred_at <= until (all when until is None), newest first.
TimelineSource = Callable[[Customer, datetime | None, int], list[TimelineEntry]]

_sources: dict[str, TimelineSource] = {}


def register_source(name: str, source: TimelineSource) -> None:
    _sources[name] = source


def registered_sources() -> dict[str, TimelineSource]:
    return dict(_sources)


@dataclass(frozen=True)
class Cursor:
    until: datetime
    skip: int  # entries at exactly `until` already shown

    def as_params(self) -> dict[str, str]:
        return {"until": self.until.isoformat(), "skip": str(self.skip)}

    @classmethod
    def from_params(cls, params) -> "Cursor | None":
        until = parse_datetime(params.get("until", "") or "")
        # A count of entries, not an id: 0 is allowed (parse_id refuses it).
        skip = parse_id(params.get("skip", "")) or 0
        return cls(until=until, skip=skip) if until else None


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: Cursor | None


def timeline_page(customer: Customer, *, cursor: Cursor | None, size: int) -> TimelinePage:
    until = cursor.until if cursor else None
    skip = cursor.skip if cursor else 0
    wanted = size + skip + 1  # one more than the page, to know whether there is a next one
    merged: list[TimelineEntry] = []
    for source in _sources.values():
        merged.extend(source(customer, until, wanted))
    merged.sort(key=lambda entry: entry.sort_key, reverse=True)
    if until is not None:
        merged = _drop_already_shown(merged, until, skip)
    has_more = len(merged) > size
    entries = merged[:size]
    next_cursor = None
    if has_more and entries:
        last = entries[-1].occurred_at
        shown_at_last = sum(1 for entry in entries if entry.occurred_at == last)
        if until is not None and last == until:
            shown_at_last += skip
        next_cursor = Cursor(until=last, skip=shown_at_last)
    return TimelinePage(entries=entries, next_cursor=next_cursor)


def _drop_already_shown(
    entries: list[TimelineEntry], until: datetime, skip: int
) -> list[TimelineEntry]:
    """Drop the first `skip` entries stamped exactly `until` (shown on earlier pages)."""
    result = []
    dropped = 0
    for entry in entries:
        if entry.occurred_at == until and dropped < skip:
            dropped += 1
            continue
        result.append(entry)
    return result


# --- The interactions source, owned by this app --------------------------------

_KIND_BADGES = {
    Interaction.Kind.COMPLAINT: "danger",
    Interaction.Kind.CANCELLATION: "danger",
    Interaction.Kind.SERVICE_REQUEST: "warning",
    Interaction.Kind.DISCOUNT_REQUEST: "warning",
    Interaction.Kind.PURCHASE: "success",
    Interaction.Kind.REFUND: "danger",  # money given back; its amount shows with a minus
    Interaction.Kind.CALL: "primary",
    Interaction.Kind.EMAIL: "info",
    Interaction.Kind.MEETING: "primary",
    Interaction.Kind.NOTE: "secondary",
}


def interaction_entries(
    customer: Customer, until: datetime | None, limit: int
) -> list[TimelineEntry]:
    rows = Interaction.objects.filter(customer=customer).select_related(
        "recorded_by", "resolved_by"
    )
    if until is not None:
        rows = rows.filter(occurred_at__lte=until)
    return [interaction_entry(row) for row in rows.order_by("-occurred_at", "-id")[:limit]]


def interaction_entry(interaction: Interaction) -> TimelineEntry:
    """One interaction as a timeline entry (its recorder and resolver selected with it)."""
    details = []
    if interaction.direction:
        details.append(str(interaction.get_direction_display()))
    if interaction.amount is not None:
        details.append(_("Amount: %(amount)s") % {"amount": format_money(interaction.amount)})
    if interaction.sentiment:
        details.append(str(interaction.get_sentiment_display()))
    return TimelineEntry(
        occurred_at=interaction.occurred_at,
        source="interaction",
        pk=interaction.pk,
        kind=interaction.kind,
        kind_label=str(interaction.get_kind_display()),
        title=interaction.subject,
        body=interaction.body,
        actor=_user_name(interaction.recorded_by),
        detail=" · ".join(details),
        badge=_KIND_BADGES.get(interaction.kind, "secondary"),
        has_state=interaction.kind in Interaction.KINDS_WITH_STATE,
        resolved_at=interaction.resolved_at,
        resolved_by=_user_name(interaction.resolved_by),
    )


def _user_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""
