"""Reading the amounts and dates people's spreadsheets and shops write, cell by cell.

`parse_decimal` reads "12.99", "$12.99", "1.286,01 €", "NT$1,200", "(12.99)" with the
decimal separator the user chose at the mapping step; `parse_date` and
`parse_datetime` read ISO 8601 always and "31/01/2024", "1/31/2024", "31.01.2024",
"20240131" in the chosen date order. Each raises ValueError with a message for the
user. `guess_decimal_separator` and `guess_date_order` pick a separator and an order
from a file's own cells, ties going to the business's language (LANGUAGE_CODE).

These run on every cell of a file of a million rows: the regular expressions are
compiled once, the plain forms ("12.99", "2024-01-31") take a fast path, and nothing
here does locale work per call. No floats: amounts are built as Decimal from text.
"""

import re
from datetime import date, datetime, time, tzinfo
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

YMD, DMY, MDY = "YMD", "DMY", "MDY"
DATE_ORDERS = (YMD, DMY, MDY)
POINT, COMMA = ".", ","
DECIMAL_SEPARATORS = (POINT, COMMA)

# --- Amounts -------------------------------------------------------------------------

_PLAIN = {POINT: re.compile(r"[+-]?\d+(?:\.\d+)?"), COMMA: re.compile(r"[+-]?\d+(?:,\d+)?")}
_SYMBOLS = "$€£¥₺₹₩₽₪₫₱₦₴₸₼₾฿¢₡₲₵₭₮"
# A currency before or after the number: an ISO code (USD, TRY), a symbol with an
# optional country prefix (NT$, US$, HK$, R$), or a local abbreviation (TL, kr, zł).
_CURRENCY = rf"(?:[A-Z]{{3}}|TL|kr|Kr|zł|Kč|Ft|Fr\.|lei|元|圓|円|руб\.?|[A-Z]{{0,2}}[{_SYMBOLS}])"
_MINUS = r"\-−"  # hyphen-minus (escaped for a character class) and U+2212
# (Only the signs and the number are groups: match.groups() is the fastest way out.)
_AMOUNT = re.compile(
    rf"""\(?\s*
    (?P<sign1>[+{_MINUS}])?\s*
    (?:{_CURRENCY}\s*)?
    (?P<sign2>[+{_MINUS}])?\s*
    (?P<body>[\d.,][\d.,'’\s]*?)
    \s*(?:{_CURRENCY})?\s*
    (?P<sign3>[{_MINUS}])?\s*\)?""",
    re.VERBOSE,
)
# The integer part with thousands separators: one kind of separator, groups of three.
_GROUPED = re.compile(r"\d{1,3}(?P<sep>[.,'’\s])\d{3}(?:(?P=sep)\d{3})*")
_NON_DIGITS = re.compile(r"\D")


def parse_decimal(text: str, decimal_separator: str) -> Decimal:
    """The amount written in `text`; ValueError (a message for the user) if it is none."""
    text = text.strip()
    if _PLAIN[decimal_separator].fullmatch(text):
        return Decimal(text if decimal_separator == POINT else text.replace(",", "."))
    found = _read_amount(text, decimal_separator)
    if found is not None:
        return found
    other = COMMA if decimal_separator == POINT else POINT
    if text and _read_amount(text, other) is not None:
        if other == COMMA:
            message = _(
                "“%(value)s” is not an amount with a decimal point; "
                "is the decimal separator a comma?"
            )
        else:
            message = _(
                "“%(value)s” is not an amount with a decimal comma; "
                "is the decimal separator a point?"
            )
    else:
        message = _("“%(value)s” is not an amount, e.g. %(example)s.")
    raise ValueError(message % {"value": text[:50], "example": example_decimal(decimal_separator)})


def _read_amount(text: str, decimal_separator: str) -> Decimal | None:
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    sign1, sign2, body, sign3 = match.groups()
    signs = (sign1 or "") + (sign2 or "") + (sign3 or "")
    parenthesised = text[0] == "("
    if parenthesised != (text[-1] == ")") or len(signs) > 1 or (parenthesised and signs):
        return None
    whole, _point, fraction = body.rstrip().partition(decimal_separator)
    if not (fraction.isdigit() or not fraction) or not (whole or fraction):
        return None
    if not whole.isdigit() and whole:
        if _GROUPED.fullmatch(whole) is None:
            return None
        whole = _NON_DIGITS.sub("", whole)
    negative = parenthesised or (signs and signs != "+")
    return Decimal(f"{'-' if negative else ''}{whole or '0'}{'.' if fraction else ''}{fraction}")


def example_decimal(separator: str) -> str:
    """An amount written with this decimal separator, to show: "1.286,01"."""
    return "1.286,01" if separator == COMMA else "1,286.01"


# --- Dates and times -----------------------------------------------------------------

# A date, then maybe a time: 20240131; three numbers with one kind of separator
# (31/01/2024, 31.01.2024, 31. 01. 2024, 2024/01/31, 1-31-2024); the CJK 2024年1月31日.
_DATE_TIME = re.compile(
    r"(?:(?P<y8>\d{4})(?P<m8>\d{2})(?P<d8>\d{2})"
    r"|(?P<a>\d{1,4})(?P<sep>\s*[-/.]\s*|\s+)(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})\.?"
    r"|(?P<yc>\d{4})\s*年\s*(?P<mc>\d{1,2})\s*月\s*(?P<dc>\d{1,2})\s*日)"
    r"(?:(?:\s*[T,]\s*|\s+)(?P<time>.+))?"
)
_TIME = re.compile(
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
    r"\s*(?P<half>[AaPp]\.?\s?[Mm]\.?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?"
)


def _order_words(order: str) -> str:
    if order == YMD:
        return _("year, month, day")
    if order == DMY:
        return _("day, month, year")
    return _("month, day, year")


def _read_date(text: str, order: str) -> tuple[date, re.Match]:
    """The date at the start of `text` and the match (for its time part); ValueError."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        message = _("“%(value)s” is not a date, e.g. %(example)s.")
        raise ValueError(message % {"value": text[:50], "example": example_date(order)})
    if match["y8"]:
        return _valid_date(text, match["y8"], match["m8"], match["d8"], YMD), match
    if match["yc"]:
        return _valid_date(text, match["yc"], match["mc"], match["dc"], YMD), match
    first, second, third = match["a"], match["b"], match["c"]
    if len(first) == 4:
        return _valid_date(text, first, second, third, YMD), match
    if len(third) != 4:
        message = _("“%(value)s” has no four-digit year; write the year in full, e.g. %(example)s.")
        raise ValueError(message % {"value": text[:50], "example": example_date(order)})
    if order == YMD:
        message = _(
            "“%(value)s” does not start with the year; choose the date order "
            "day, month, year or month, day, year."
        )
        raise ValueError(message % {"value": text[:50]})
    day, month = (first, second) if order == DMY else (second, first)
    return _valid_date(text, third, month, day, order), match


def _valid_date(text: str, year: str, month: str, day: str, order: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        pass
    message = _("“%(value)s” is not a date when read as %(order)s.")
    other = MDY if order == DMY else DMY
    if order != YMD:
        try:
            date(int(year), int(day), int(month))
        except ValueError:
            pass
        else:
            message = _("“%(value)s” is not a date when read as %(order)s; is the order %(other)s?")
    values = {"value": text[:50], "order": _order_words(order), "other": _order_words(other)}
    raise ValueError(message % values)


def parse_date(text: str, order: str) -> date:
    """The date in `text`, read in `order` (YMD, DMY or MDY) unless it is ISO 8601 or
    YYYYMMDD; a time after the date is allowed and left out. Two-digit years are refused:
    01/02/03 could be any of three dates in three centuries."""
    text = text.strip()
    if len(text) == 10 and text[4] == "-" == text[7]:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # 2024-02-30, or not digits: the message comes from the full reading
    day, match = _read_date(text, order)
    if match["time"] and _TIME.fullmatch(match["time"]) is None:
        raise ValueError(_("“%(value)s” is not a date.") % {"value": text[:50]})
    return day


def parse_datetime(text: str, order: str, tz: tzinfo | None = None) -> datetime:
    """The moment in `text`, aware: ISO 8601 with its offset, or a date in `order` with an
    optional time ("14:30", "14:30:00", "2:30 PM"); without an offset, in `tz` (default:
    the current time zone); a date alone is midnight.

    Looking up the current time zone costs more than the rest of a call (~7 µs, Django's
    context-local): a caller reading a whole file passes it once as `tz`."""
    text = text.strip()
    if text[:4].isdigit() and (text[4:5] == "-" or text[8:9] == "T"):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=tz or _current_zone())
    day, match = _read_date(text, order)
    time_text = match["time"]
    if not time_text:
        return datetime.combine(day, time(), tzinfo=tz or _current_zone())
    found = _TIME.fullmatch(time_text)
    if found is None:
        message = _("“%(value)s” is not a time, e.g. 14:30 or 2:30 PM.")
        raise ValueError(message % {"value": time_text[:50]})
    hour, minute = int(found["hour"]), int(found["minute"])
    if found["half"]:
        if not 1 <= hour <= 12:
            raise ValueError(_("“%(value)s” is not a time.") % {"value": time_text[:50]})
        hour = hour % 12 + (12 if found["half"][0] in "Pp" else 0)
    microsecond = int((found["fraction"] or "0").ljust(6, "0"))
    try:
        moment = datetime.combine(day, time(hour, minute, int(found["second"] or 0), microsecond))
    except ValueError:
        raise ValueError(_("“%(value)s” is not a time.") % {"value": time_text[:50]}) from None
    if found["zone"]:
        return datetime.fromisoformat(f"{moment.isoformat()}{_iso_offset(found['zone'])}")
    return moment.replace(tzinfo=tz or _current_zone())


def _current_zone() -> tzinfo:
    return timezone.get_current_timezone()


def _iso_offset(zone: str) -> str:
    if zone == "Z":
        return "+00:00"
    digits = zone[1:].replace(":", "")
    return f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"


def example_date(order: str) -> str:
    """31 January 2026 written in this order, to show: "31.01.2026"."""
    return {YMD: "2026/01/31", DMY: "31.01.2026", MDY: "01/31/2026"}[order]


# --- Guessing from a file's cells ----------------------------------------------------


def default_date_order() -> str:
    """The business's usual order when a file's dates do not tell (every day ≤ 12).

    Chinese writes the year first; American English (en-us) the month; German, Turkish
    and also British, Irish, Australian or Indian English the day. LANGUAGE_CODE "en"
    says nothing about the country: day first, as most English-speaking countries and
    this CRM's British examples write it; the mapping page shows the guess with an
    example from the file, so a US file with only early days is corrected in one click.
    """
    code = settings.LANGUAGE_CODE.lower()
    if code.startswith(("zh", "ja", "ko", "hu", "lt")):
        return YMD
    if code in ("en-us", "en-ph"):
        return MDY
    return DMY


def default_decimal_separator() -> str:
    """The business's usual decimal separator: a point in English and Chinese (and
    Japanese, Korean, Hebrew, Thai), a comma in German, Turkish and most of Europe."""
    code = settings.LANGUAGE_CODE.lower()
    if code.startswith(("en", "zh", "ja", "ko", "he", "th", "ms", "hi")) or code == "de-ch":
        return POINT
    return COMMA


def guess_decimal_separator(samples: list[str]) -> str:
    """The separator the amounts in `samples` use: the last of "." and "," in a cell
    with both, a separator followed by other than three digits, or the other one of a
    separator seen twice. Cells that do not tell ("1,286", "12") do not vote."""
    votes = {POINT: 0, COMMA: 0}
    for sample in samples:
        text = sample.strip()
        last_point, last_comma = text.rfind(POINT), text.rfind(COMMA)
        if last_point < 0 and last_comma < 0:
            continue
        if last_point >= 0 and last_comma >= 0:
            votes[POINT if last_point > last_comma else COMMA] += 1
            continue
        separator = POINT if last_point >= 0 else COMMA
        other = COMMA if separator == POINT else POINT
        if text.count(separator) > 1:
            votes[other] += 1
            continue
        after = re.match(r"\d*", text[max(last_point, last_comma) + 1 :]).group()
        if len(after) != 3:
            votes[separator] += 1
    if votes[POINT] == votes[COMMA]:
        return default_decimal_separator()
    return POINT if votes[POINT] > votes[COMMA] else COMMA


def guess_date_order(samples: list[str]) -> str:
    """The order the dates in `samples` are written in: a first number over 12 means day
    first, a second number over 12 month first, a four-digit first number year first.
    When the cells say nothing (ISO dates, or every day ≤ 12) or contradict each other:
    the business's usual order."""
    day_first = month_first = year_first = 0
    for sample in samples:
        match = _DATE_TIME.fullmatch(sample.strip())
        if match is None or not match["a"]:
            continue
        first, second, third = match["a"], match["b"], match["c"]
        if len(first) == 4:
            year_first += match["sep"].strip() != "-"  # ISO says nothing: read in any order
        elif len(third) == 4:
            if int(first) > 12:
                day_first += 1
            elif int(second) > 12:
                month_first += 1
    if day_first and not month_first:
        return DMY
    if month_first and not day_first:
        return MDY
    if year_first and not (day_first or month_first):
        return YMD
    return default_date_order()
