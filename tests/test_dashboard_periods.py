"""The dashboard's periods and its controls: which days a period covers, the one
before it, and what a bad choice falls back to."""

from datetime import date

import pytest

from dashboard.forms import OWNER_EVERYONE, OWNER_ME, DashboardForm
from dashboard.periods import CUSTOM, MONTH, QUARTER, YEAR, custom_period, period_containing
from dashboard.scope import EVERYONE, Scope

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("kind", "day", "start", "end"),
    [
        (MONTH, date(2024, 2, 10), date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        (MONTH, date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31)),
        (QUARTER, date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
        (QUARTER, date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
        (QUARTER, date(2026, 11, 15), date(2026, 10, 1), date(2026, 12, 31)),
        (YEAR, date(2026, 7, 4), date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_a_calendar_period_covers_whole_days_both_ends_included(kind, day, start, end):
    period = period_containing(kind, day)
    assert (period.start, period.end) == (start, end)
    assert period.contains(start) and period.contains(end)


def test_the_previous_period_is_the_previous_calendar_one_of_its_own_length():
    march = period_containing(MONTH, date(2026, 3, 15))
    assert (march.previous().start, march.previous().end) == (date(2026, 2, 1), date(2026, 2, 28))
    q1 = period_containing(QUARTER, date(2026, 1, 1))
    assert (q1.previous().start, q1.previous().end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert q1.previous().next() == q1


def test_a_custom_range_is_compared_with_the_same_number_of_days_just_before():
    period = custom_period(date(2026, 3, 10), date(2026, 3, 19))  # 10 days
    before = period.previous()
    assert (before.start, before.end, before.days) == (date(2026, 2, 28), date(2026, 3, 9), 10)


def test_trailing_periods_run_oldest_first_and_end_with_the_period():
    months = period_containing(MONTH, date(2026, 12, 1)).trailing(12)
    assert [m.label for m in (months[0], months[-1])] == ["2026-01", "2026-12"]
    assert len(months) == 12


def test_a_custom_range_must_end_after_it_starts_and_last_at_most_five_years():
    with pytest.raises(ValueError):
        custom_period(date(2026, 3, 10), date(2026, 3, 9))
    with pytest.raises(ValueError):
        custom_period(date(2020, 1, 1), date(2026, 1, 1))
    assert custom_period(date(2026, 3, 10), date(2026, 3, 10)).days == 1


def test_the_form_defaults_to_the_last_complete_month_and_the_roles_own_scope(admin_user, manager):
    """A month to date compared with a whole month would look like a fall every month."""
    period, scope, owner = DashboardForm(user=manager, today=TODAY).chosen()
    assert (period.kind, period.start, period.end) == (MONTH, date(2026, 11, 1), date(2026, 11, 30))
    assert (scope, owner) == (Scope(owner_id=manager.pk), OWNER_ME)
    _period, scope, owner = DashboardForm(user=admin_user, today=TODAY).chosen()
    assert (scope, owner) == (EVERYONE, OWNER_EVERYONE)


def test_the_form_reads_a_quarter_containing_a_day_and_an_owner(admin_user, manager):
    form = DashboardForm(
        {"period": QUARTER, "on": "2026-05-20", "owner": str(manager.pk)},
        user=admin_user,
        today=TODAY,
    )
    period, scope, _owner = form.chosen()
    assert (period.start, period.end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert scope == Scope(owner_id=manager.pk)
    period, _scope, _owner = DashboardForm(
        {"period": QUARTER}, user=admin_user, today=TODAY
    ).chosen()
    assert (period.start, period.end) == (date(2026, 7, 1), date(2026, 9, 30))  # last complete


def test_an_account_manager_cannot_pick_another_managers_book(manager, other_manager):
    form = DashboardForm({"owner": str(other_manager.pk)}, user=manager, today=TODAY)
    assert not form.is_valid() and "owner" in form.errors
    assert form.chosen()[1] == Scope(owner_id=manager.pk)  # falls back to their own


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"period": CUSTOM, "start": "2026-03-10", "end": "2026-03-01"}, "end"),
        ({"period": CUSTOM, "start": "2026-03-10"}, "__all__"),
        ({"period": CUSTOM, "start": "2019-01-01", "end": "2026-01-01"}, "end"),
        ({"on": "2026-02-30"}, "on"),
        ({"on": "²"}, "on"),
        ({"period": "decade"}, "period"),
    ],
)
def test_bad_input_is_a_field_error_and_the_page_shows_the_default(admin_user, data, field):
    form = DashboardForm(data, user=admin_user, today=TODAY)
    assert not form.is_valid()
    assert field in form.errors
    period, _scope, _owner = form.chosen()
    assert (period.kind, period.start) == (MONTH, date(2026, 11, 1))
