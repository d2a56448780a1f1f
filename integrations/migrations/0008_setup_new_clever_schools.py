from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0007_setup_class_year_offsets"),
    ]

    operations = [
        migrations.AddField(
            model_name="cleverschool",
            name="new_since_setup",
            field=models.BooleanField(default=False),
        ),
    ]
