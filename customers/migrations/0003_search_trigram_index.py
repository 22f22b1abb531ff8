"""A trigram index for the customer search on PostgreSQL (substring search stays fast).

SQLite has no such index; there the search scans, which is fine at demo sizes.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_search_trgm_idx "
        "ON customers_customer USING gin (search_text gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_roles")]

    operations = [migrations.RunPython(create_index, drop_index)]
