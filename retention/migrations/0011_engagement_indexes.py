# The dashboard's onboarding and loyalty figures filter these dates per period; the
# ledger's created_at index becomes covering (the points per period read only it).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('retention', '0010_risk_days'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='pointsentry',
            name='points_entry_created_idx',
        ),
        migrations.AddIndex(
            model_name='pointsentry',
            index=models.Index(fields=['created_at'], include=('customer', 'kind', 'points'), name='points_entry_period_idx'),
        ),
        migrations.AddIndex(
            model_name='checklist',
            index=models.Index(fields=['started_on'], name='checklist_started_idx'),
        ),
        migrations.AddIndex(
            model_name='checklist',
            index=models.Index(condition=models.Q(('status', 'completed')), fields=['completed_at'], name='checklist_completed_idx'),
        ),
        migrations.AddIndex(
            model_name='coupon',
            index=models.Index(condition=models.Q(('used_at__isnull', False)), fields=['used_at'], name='coupon_used_idx'),
        ),
    ]
