import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("naviance_sync", "0003_deletionrecord"),
    ]

    operations = [
        migrations.AddField(
            model_name="district",
            name="confirmed_clever_district_id",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="The Clever district ID confirmed with the district: its admins can "
                "connect only this Clever district.",
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9]*$", "A Clever district ID has only letters and digits."
                    )
                ],
                verbose_name="Clever district ID confirmed by support",
            ),
        ),
    ]
