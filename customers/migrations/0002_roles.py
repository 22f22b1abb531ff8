"""Create the three staff roles as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Staff": [
        "customers.view_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_company",
        "customers.view_tag",
    ],
    "Account manager": [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_company",
        "customers.add_company",
        "customers.view_tag",
        "customers.add_tag",
        "customers.import_customers",
        "customers.export_customers",
    ],
    "Admin": "__all_customers__",
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codenames == "__all_customers__":
            permissions = Permission.objects.filter(content_type__app_label="customers")
        else:
            permissions = [
                Permission.objects.get(
                    content_type__app_label=name.split(".")[0], codename=name.split(".")[1]
                )
                for name in codenames
            ]
        group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
