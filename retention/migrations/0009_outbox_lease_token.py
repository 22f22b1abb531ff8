from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0008_risk_run_chunks"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="lease_token",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
