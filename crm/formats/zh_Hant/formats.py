# Traditional Chinese (Taiwan and Hong Kong): year, month, day with their characters.
DATE_FORMAT = SHORT_DATE_FORMAT = "Y年n月j日"  # 2026年3月9日
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年3月9日 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y年n月"  # 2026年3月
MONTH_DAY_FORMAT = "n月j日"  # 3月9日
# Django's zh_Hant groups nothing; Taiwan, Hong Kong and CLDR (the money, via Babel)
# write 1,286.01, so counts and amounts on one page agree.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
