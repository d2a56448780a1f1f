"""One district per Clever district id.

Existing duplicates are not resolved silently (which tenant owns the data is support's call):
the migration stops and names them. Connections that already exist are support-confirmed: their
districts' confirmed Clever district id is set from them.
"""

from django.db import migrations, models
from django.db.models import Count


def refuse_duplicates(apps, schema_editor):
    CleverConnection = apps.get_model("integrations", "CleverConnection")
    dupes = (
        CleverConnection.objects.exclude(clever_district_id="")
        .values("clever_district_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    problems = []
    for row in dupes:
        districts = CleverConnection.objects.filter(
            clever_district_id=row["clever_district_id"]
        ).values_list("district__slug", flat=True)
        problems.append(f"{row['clever_district_id']}: {', '.join(sorted(districts))}")
    if problems:
        raise RuntimeError(
            "Cannot migrate: these Clever district ids are connected to more than one district. "
            "Confirm with each district which one owns the Clever district, reset the other "
            "connections' Clever district id in Django admin, then migrate again. "
            + "; ".join(problems)
        )


def confirm_existing(apps, schema_editor):
    CleverConnection = apps.get_model("integrations", "CleverConnection")
    District = apps.get_model("naviance_sync", "District")
    for conn in CleverConnection.objects.exclude(clever_district_id=""):
        District.objects.filter(pk=conn.district_id, confirmed_clever_district_id="").update(
            confirmed_clever_district_id=conn.clever_district_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0010_connect_token_lookup"),
        ("naviance_sync", "0004_sec2_confirmed_clever_district"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.RunPython(confirm_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="cleverconnection",
            constraint=models.UniqueConstraint(
                condition=models.Q(("clever_district_id", ""), _negated=True),
                fields=("clever_district_id",),
                name="connection_one_district_per_clever_district",
            ),
        ),
    ]
