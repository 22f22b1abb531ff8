# English, for British and American readers alike: the month as a word, never 03/09.
DATE_FORMAT = SHORT_DATE_FORMAT = "j M Y"  # 9 Mar 2026
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 9 Mar 2026, 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "M Y"  # Mar 2026
MONTH_DAY_FORMAT = "j M"  # 9 Mar
