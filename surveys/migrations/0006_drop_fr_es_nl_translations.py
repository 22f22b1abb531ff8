"""Surveys speak the app's languages only (issue 18): the French, Spanish and Dutch texts
(shipped with the default surveys, or written by staff) are removed from every survey,
question and choice, as no customer can be shown them any more and the translation editor
no longer offers those languages."""

from django.db import migrations

DROPPED = ("fr", "es", "nl")


def drop_translations(apps, schema_editor):
    for name in ("Survey", "Question", "Choice"):
        model = apps.get_model("surveys", name)
        changed = []
        for row in model.objects.only("pk", "translations").iterator(chunk_size=2000):
            translations = row.translations or {}
            if any(code in translations for code in DROPPED):
                row.translations = {k: v for k, v in translations.items() if k not in DROPPED}
                changed.append(row)
        model.objects.bulk_update(changed, ["translations"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0005_invitation_sent_index")]

    operations = [migrations.RunPython(drop_translations, migrations.RunPython.noop)]
