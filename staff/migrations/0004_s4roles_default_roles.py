"""The usual roles and functions for districts that have none (issue 16 item 4).

New districts get them when they are created (``staff.services.district_staff_defaults_create``);
this gives them to the districts made before. A district that already has roles (or functions)
keeps exactly what it has. The lists are frozen here, as they were when this ran.
"""

from django.db import migrations

ROLES = (
    ("District Site Manager", True, False),
    ("School Site Manager", False, False),
    ("School Administrator", False, False),
    ("Counselor", False, False),
    ("Teacher", False, False),
    ("Other School Staff", False, True),
    ("Other District Staff", False, True),
)
FUNCTIONS = ("Administrator", "Counselor", "Teacher", "Support Staff", "Other")


def add_defaults(apps, schema_editor):
    District = apps.get_model("naviance_sync", "District")
    Role = apps.get_model("staff", "Role")
    JobFunction = apps.get_model("staff", "JobFunction")
    with_roles = set(Role.objects.values_list("district_id", flat=True).distinct())
    with_functions = set(JobFunction.objects.values_list("district_id", flat=True).distinct())
    for district_id in District.objects.values_list("pk", flat=True):
        if district_id not in with_roles:
            Role.objects.bulk_create(
                Role(
                    district_id=district_id,
                    name=name,
                    can_import_district_data=can_import,
                    is_limited=limited,
                )
                for name, can_import, limited in ROLES
            )
        if district_id not in with_functions:
            JobFunction.objects.bulk_create(
                JobFunction(district_id=district_id, name=name) for name in FUNCTIONS
            )


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0003_staff_departed_accounts"),
        ("naviance_sync", "0004_sec2_confirmed_clever_district"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
