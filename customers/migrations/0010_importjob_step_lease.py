# The import job's background step lives in PostgreSQL: when it was queued, the lease of
# the worker running it, its attempts and the language of its messages.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_backfill_status_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="queued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="step queued at"),
        ),
        migrations.AddField(
            model_name="importjob",
            name="lease_token",
            field=models.CharField(blank=True, max_length=32, verbose_name="lease token"),
        ),
        migrations.AddField(
            model_name="importjob",
            name="lease_until",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="worker's lease until"
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AddField(
            model_name="importjob",
            name="language",
            field=models.CharField(
                blank=True, max_length=16, verbose_name="language of the messages"
            ),
        ),
    ]
