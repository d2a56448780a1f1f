"""Whether a username is taken in any case (``staff.services.usernames_taken``: after an import
that created accounts, and when support changes a username in Django admin) is a lookup of
``lower(username)``. Without an index on that expression PostgreSQL read the whole accounts table
for it: 0.4 s at 1,000,000 accounts, after every import that created even one account.

Built CONCURRENTLY on PostgreSQL (``naviance_sync.concurrent_index``): every staff import writes
the accounts table.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

from naviance_sync.concurrent_index import ConcurrentIndex

INDEX = models.Index(Lower("username"), name="user_username_lower")
BUILD = ConcurrentIndex("staff", "User", INDEX, "ON staff_user (lower(username))")


def forwards(apps, schema_editor):
    BUILD.forwards(apps, schema_editor)


def backwards(apps, schema_editor):
    BUILD.backwards(apps, schema_editor)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("staff", "0007_s7load_staff_search_indexes")]

    operations = [BUILD.operation(forwards, backwards)]
