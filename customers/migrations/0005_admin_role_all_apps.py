"""The Admin role also gets the permissions of the retention and surveys apps."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Admin")
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["customers", "retention", "surveys"])
    )


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_customer_current_name_idx"), ("retention", "0001_initial")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
