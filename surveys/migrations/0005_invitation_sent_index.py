# The dashboard's NPS invitations sent (and answered) per period read one index, on
# sent_at: links staff copied get the moment they were made (they reached the
# customer then), as new ones do (invitations.invitation_link_create).

from django.db import migrations, models
from django.db.models import F


def links_sent_when_made(apps, schema_editor):
    SurveyInvitation = apps.get_model("surveys", "SurveyInvitation")
    SurveyInvitation.objects.filter(status="link", sent_at__isnull=True).update(
        sent_at=F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0004_invitation_lease'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='surveyinvitation',
            index=models.Index(fields=['survey', 'sent_at', 'used_at'], name='invitation_sent_idx'),
        ),
        migrations.RunPython(links_sent_when_made, migrations.RunPython.noop),
    ]
