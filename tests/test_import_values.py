"""Amounts and dates as shops and spreadsheets write them, read with the file's formats."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from customers.importing.values import (
    COMMA,
    DMY,
    MDY,
    POINT,
    YMD,
    example_date,
    example_decimal,
    guess_date_order,
    guess_decimal_separator,
    parse_date,
    parse_datetime,
    parse_decimal,
)

# --- Amounts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("12.99", POINT, "12.99"),
        ("12,99", COMMA, "12.99"),
        ("12", POINT, "12"),
        ("$12.99", POINT, "12.99"),
        ("12,99 €", COMMA, "12.99"),
        ("12,99€", COMMA, "12.99"),
        ("€ 1.286,01", COMMA, "1286.01"),
        ("NT$1,200", POINT, "1200"),
        ("₺45,50", COMMA, "45.50"),
        ("TRY 45,50", COMMA, "45.50"),
        ("45,50 TL", COMMA, "45.50"),
        ("USD 12.99", POINT, "12.99"),
        ("12.99 USD", POINT, "12.99"),
        ("£3", POINT, "3"),
        ("1,286.01", POINT, "1286.01"),
        ("1.286,01", COMMA, "1286.01"),
        ("1 286,01", COMMA, "1286.01"),
        ("1\u00a0286,01", COMMA, "1286.01"),  # no-break space
        ("1\u202f286,01", COMMA, "1286.01"),  # narrow no-break space
        ("1'286.01", POINT, "1286.01"),
        ("1,000,000", POINT, "1000000"),
        ("1.000.000", COMMA, "1000000"),
        ("1,286", POINT, "1286"),  # a group of three: thousands
        ("1.286", COMMA, "1286"),
        ("1.286", POINT, "1.286"),
        ("-12.99", POINT, "-12.99"),
        ("\u221212.99", POINT, "-12.99"),  # U+2212 minus sign
        ("(12.99)", POINT, "-12.99"),
        ("($12.99)", POINT, "-12.99"),
        ("-$12.99", POINT, "-12.99"),
        ("$-12.99", POINT, "-12.99"),
        ("12,99-", COMMA, "-12.99"),
        ("+12.99", POINT, "12.99"),
        ("  12.99  ", POINT, "12.99"),
        (".5", POINT, "0.5"),
        ("0.10", POINT, "0.10"),
    ],
)
def test_amounts_in_the_forms_shops_write_them_are_read_exactly(text, separator, expected):
    """Currency signs and codes, thousands separators, minus signs and parentheses."""
    value = parse_decimal(text, separator)
    assert isinstance(value, Decimal)
    assert value == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "separator"),
    [
        ("1.2.3", COMMA),
        ("1.2.3", POINT),
        ("1,28,6", POINT),
        ("1,2864", POINT),
        ("abc", POINT),
        ("", POINT),
        ("-", POINT),
        ("(12.99", POINT),
        ("--12", POINT),
        ("-(12.99)", POINT),
        ("12.99.", POINT),
        ("1e5", POINT),
        ("NaN", POINT),
        ("Infinity", POINT),
        ("12 apples", POINT),
    ],
)
def test_garbage_and_ambiguous_amounts_are_refused(text, separator):
    with pytest.raises(ValueError, match="is not an amount"):
        parse_decimal(text, separator)


def test_a_decimal_comma_read_with_a_point_says_the_separator_is_probably_a_comma():
    """Given the separator "." and "12,99" (not a thousands group), the message says so."""
    with pytest.raises(ValueError, match="decimal separator a comma"):
        parse_decimal("12,99", POINT)
    with pytest.raises(ValueError, match="decimal separator a comma"):
        parse_decimal("1.286,01 €", POINT)
    with pytest.raises(ValueError, match="decimal separator a point"):
        parse_decimal("$1,286.01", COMMA)


def test_a_huge_cell_is_quoted_short_in_the_message():
    with pytest.raises(ValueError) as raised:
        parse_decimal("x" * 10_000, POINT)
    assert len(str(raised.value)) < 200


# --- Dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("2024-01-31", DMY),
        ("2024-01-31", MDY),
        ("2024-01-31", YMD),
        ("31/01/2024", DMY),
        ("31.01.2024", DMY),
        ("31-01-2024", DMY),
        ("31. 01. 2024", DMY),
        ("31.1.2024", DMY),
        ("1/31/2024", MDY),
        ("01-31-2024", MDY),
        ("2024/01/31", YMD),
        ("2024/1/31", DMY),  # a four-digit first number is the year in any order
        ("2024年1月31日", YMD),
        ("20240131", DMY),
        ("20240131", MDY),
        ("  2024-01-31  ", DMY),
        ("2024-01-31 00:00", DMY),
        ("2024-01-31T14:30:00+02:00", DMY),
        ("31/01/2024 14:30", DMY),
        ("1/31/2024 2:30 PM", MDY),
    ],
)
def test_dates_are_read_in_the_chosen_order_iso_and_compact_in_any(text, order):
    assert parse_date(text, order) == date(2024, 1, 31)


def test_the_order_decides_between_day_and_month():
    assert parse_date("02/03/2024", DMY) == date(2024, 3, 2)
    assert parse_date("02/03/2024", MDY) == date(2024, 2, 3)


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("31/01/24", DMY, "four-digit year"),
        ("1/2/03", MDY, "four-digit year"),
        ("31/01/2024", MDY, "is the order day, month, year"),
        ("1/31/2024", DMY, "is the order month, day, year"),
        ("13/13/2024", DMY, "is not a date when read as day, month, year"),
        ("31/01/2024", YMD, "does not start with the year"),
        ("2024-02-30", DMY, "is not a date"),
        ("2023-02-29", YMD, "is not a date"),
        ("20241301", DMY, "is not a date"),
        ("yesterday", DMY, "is not a date"),
        ("", DMY, "is not a date"),
        ("31/01-2024", DMY, "is not a date"),  # two kinds of separator
        ("2024-01-31 soon", DMY, "is not a date"),
    ],
)
def test_wrong_dates_are_refused_with_a_message_that_helps(text, order, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text, order)


def test_the_leap_day_is_a_date():
    assert parse_date("29.02.2024", DMY) == date(2024, 2, 29)


# --- Date and time --------------------------------------------------------------------


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override(ZoneInfo("Europe/Berlin")):
        yield ZoneInfo("Europe/Berlin")


def test_an_iso_time_keeps_its_offset(berlin):
    moment = parse_datetime("2024-05-01T14:30:00+02:00", DMY)
    assert moment.utcoffset() == timedelta(hours=2)
    assert moment == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert parse_datetime("2024-05-01T12:30:00Z", MDY) == moment


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-01-31", DMY, datetime(2024, 1, 31)),
        ("2024-01-31 14:30", MDY, datetime(2024, 1, 31, 14, 30)),
        ("31/01/2024", DMY, datetime(2024, 1, 31)),
        ("31.01.2024 14:30", DMY, datetime(2024, 1, 31, 14, 30)),
        ("31.01.2024 14:30:15", DMY, datetime(2024, 1, 31, 14, 30, 15)),
        ("1/31/2024 2:30 PM", MDY, datetime(2024, 1, 31, 14, 30)),
        ("1/31/2024 2:30 p.m.", MDY, datetime(2024, 1, 31, 14, 30)),
        ("1/31/2024 12:05 AM", MDY, datetime(2024, 1, 31, 0, 5)),
        ("1/31/2024 12:05 PM", MDY, datetime(2024, 1, 31, 12, 5)),
        ("20240131", YMD, datetime(2024, 1, 31)),
        ("2024年1月31日 09:00", YMD, datetime(2024, 1, 31, 9)),
    ],
)
def test_a_time_without_an_offset_is_in_the_current_time_zone(berlin, text, order, expected):
    """A date alone is midnight; naive times are the CRM's time zone, as the import does."""
    moment = parse_datetime(text, order)
    assert timezone.is_aware(moment)
    assert moment == expected.replace(tzinfo=berlin)


def test_a_non_iso_date_with_an_offset_keeps_it(berlin):
    moment = parse_datetime("31/01/2024 14:30 +05:30", DMY)
    assert moment.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("31/01/2024 25:00", DMY),
        ("31/01/2024 13:00 PM", DMY),
        ("31/01/2024 noon", DMY),
        ("31/01/24 14:30", DMY),
        ("31/01/2024", MDY),
        ("", DMY),
    ],
)
def test_wrong_date_times_are_refused(berlin, text, order):
    with pytest.raises(ValueError):
        parse_datetime(text, order)


# --- Guesses --------------------------------------------------------------------------


def test_the_decimal_separator_is_guessed_from_the_cells(settings):
    settings.LANGUAGE_CODE = "en"
    assert guess_decimal_separator(["12,99", "3,50", "1.286,01"]) == COMMA
    assert guess_decimal_separator(["12.99", "1,286.01"]) == POINT
    assert guess_decimal_separator(["1.000.000"]) == COMMA  # the point is the thousands one
    assert guess_decimal_separator(["€ 7,5"]) == COMMA


def test_cells_that_do_not_tell_leave_the_business_language_to_decide(settings):
    """ "1,286" and "12" say nothing: en -> point, de and tr -> comma, zh-hant -> point."""
    undecided = ["1,286", "12", ""]
    for code, expected in [("en", POINT), ("de", COMMA), ("tr", COMMA), ("zh-hant", POINT)]:
        settings.LANGUAGE_CODE = code
        assert guess_decimal_separator(undecided) == expected, code
    settings.LANGUAGE_CODE = "de"
    assert guess_decimal_separator(["1.5", "2,5"]) == COMMA  # a tie


def test_the_date_order_is_guessed_from_a_day_over_12(settings):
    settings.LANGUAGE_CODE = "en-us"
    assert guess_date_order(["01/02/2024", "31/01/2024"]) == DMY
    assert guess_date_order(["01/02/2024", "1/31/2024"]) == MDY
    assert guess_date_order(["2024/01/31"]) == YMD
    assert guess_date_order(["31.01.2024 14:30"]) == DMY


def test_dates_that_do_not_tell_leave_the_business_language_to_decide(settings):
    """ISO dates, days up to 12, or cells that contradict each other."""
    for code, expected in [("de", DMY), ("tr", DMY), ("zh-hant", YMD), ("en", DMY), ("en-us", MDY)]:
        settings.LANGUAGE_CODE = code
        assert guess_date_order(["01/02/2024", "2024-05-01", "junk"]) == expected, code
        assert guess_date_order(["13/01/2024", "01/13/2024"]) == expected, code


def test_the_examples_are_read_back_by_their_own_format():
    assert example_decimal(COMMA) == "1.286,01"
    assert example_date(DMY) == "31.01.2026"
    for separator in (POINT, COMMA):
        assert parse_decimal(example_decimal(separator), separator) == Decimal("1286.01")
    for order in (YMD, DMY, MDY):
        assert parse_date(example_date(order), order) == date(2026, 1, 31)


def test_a_caller_reading_a_whole_file_can_pass_the_time_zone_once(berlin):
    """The same moment as with the current time zone, without looking it up per cell."""
    istanbul = ZoneInfo("Europe/Istanbul")
    assert parse_datetime("31/01/2024 14:30", DMY, tz=istanbul) == datetime(
        2024, 1, 31, 14, 30, tzinfo=istanbul
    )
    assert parse_datetime("2024-01-31", DMY, tz=istanbul).tzinfo is istanbul
    assert parse_datetime("2024-01-31T14:30+02:00", DMY, tz=istanbul).utcoffset() == timedelta(
        hours=2
    )
