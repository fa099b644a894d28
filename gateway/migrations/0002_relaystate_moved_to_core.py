# RelayState now belongs to core (same table): drop it from this app's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("gateway", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RelayState")],
            database_operations=[],
        ),
    ]
