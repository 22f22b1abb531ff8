"""One date style per language (settings.FORMAT_MODULE_PATH), so a page shows every date
the same way: DATE_FORMAT and SHORT_DATE_FORMAT are the same on purpose, as are
DATETIME_FORMAT and SHORT_DATETIME_FORMAT. Numbers and input formats: Django's own."""
