"""Departed staff: the role the not-in-Clever rule replaced, and deactivating who already left.

Before this, an import gave accounts that left Clever the not-in-Clever role (District Site
Manager: import rights) and left them able to sign in. Accounts Clever linked and an import made
inactive are deactivated here and their sessions end, as an import now does; their earlier role
was overwritten without a trace, so it cannot be given back.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F


def deactivate_departed(apps, schema_editor):
    User = apps.get_model("staff", "User")
    User.objects.filter(
        clever_id__isnull=False, inactive_since__isnull=False, is_active=True
    ).update(is_active=False, session_generation=F("session_generation") + 1)


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_user_session_generation"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="replaced_role",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="staff.role",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="replaced_role_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("keyword", "Title keyword rule"),
                    ("default", "Default for titles without a keyword"),
                    ("manual", "Set by hand"),
                    ("not_in_clever", "Not in Clever"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(deactivate_departed, migrations.RunPython.noop),
    ]
