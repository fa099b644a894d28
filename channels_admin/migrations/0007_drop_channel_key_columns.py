# The channel's own key columns, now kept as ChannelKey rows (0006). The default first, so
# that going back can add the column to existing rows before 0006 fills it again.

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels_admin", "0006_channel_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="key_encrypted",
            field=models.TextField(default=""),
        ),
        migrations.RemoveField(model_name="channel", name="key_encrypted"),
        migrations.RemoveField(model_name="channel", name="key_mask"),
    ]
