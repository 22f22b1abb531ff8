import django.db.models.deletion
from django.db import migrations, models

# An import's file moves from one text column to chunk rows read as a stream.
CHUNK_CHARS = 1_000_000


def move_contents_into_chunks(apps, schema_editor):
    """Jobs uploaded before the change keep their file (one in progress can still run)."""
    job_model = apps.get_model("customers", "ImportJob")
    chunk_model = apps.get_model("customers", "ImportFileChunk")
    for job_id, content in job_model.objects.values_list("id", "content").iterator():
        chunks = [
            chunk_model(job_id=job_id, index=index, text=content[start : start + CHUNK_CHARS])
            for index, start in enumerate(range(0, len(content), CHUNK_CHARS))
        ]
        chunk_model.objects.bulk_create(chunks)
        job_model.objects.filter(pk=job_id).update(size=len(content))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_usage_days"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportFileChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.PositiveIntegerField()),
                ("text", models.TextField()),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="customers.importjob",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job", "index"), name="import_chunk_once_per_index"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="importjob",
            name="size",
            field=models.PositiveBigIntegerField(default=0, verbose_name="characters"),
        ),
        migrations.RunPython(move_contents_into_chunks, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="importjob",
            name="content",
        ),
    ]
