# The Logs page finds a record by its request id (exact match) at a million rows.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0003_aggregates"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="usagerecord",
            index=models.Index(fields=["request_id"], name="usage_request_id"),
        ),
    ]
