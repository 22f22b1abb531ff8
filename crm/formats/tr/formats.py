# Turkish: numeric dates with dots, as on Turkish forms and invoices.
DATE_FORMAT = SHORT_DATE_FORMAT = "d.m.Y"  # 09.03.2026
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 09.03.2026 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"  # Mart 2026
MONTH_DAY_FORMAT = "j F"  # 9 Mart
