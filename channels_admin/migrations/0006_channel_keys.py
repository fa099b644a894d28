# Channels with many keys: each key becomes a ChannelKey row; a channel's one key moves to
# index 0. The old columns go in 0007, a migration (and transaction) of its own: PostgreSQL
# refuses to alter a table while the rows just inserted here have FK checks pending.

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def keys_to_rows(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("channels_admin", "Channel")
    ChannelKey = apps.get_model("channels_admin", "ChannelKey")
    rows = []
    for channel in Channel.objects.all().only("pk", "key_encrypted", "key_mask"):
        rows.append(
            ChannelKey(
                channel_id=channel.pk,
                index=0,
                key_encrypted=channel.key_encrypted,
                key_mask=channel.key_mask,
            )
        )
    ChannelKey.objects.bulk_create(rows, batch_size=500)
    Channel.objects.update(next_key_index=1)


def rows_to_keys(apps: Any, schema_editor: Any) -> None:
    """Back to one key per channel: the lowest-index enabled key (else the lowest)."""
    Channel = apps.get_model("channels_admin", "Channel")
    ChannelKey = apps.get_model("channels_admin", "ChannelKey")
    for channel in Channel.objects.all():
        keys = list(ChannelKey.objects.filter(channel_id=channel.pk).order_by("index"))
        chosen = next((k for k in keys if k.status == "enabled"), keys[0] if keys else None)
        if chosen is not None:
            channel.key_encrypted = chosen.key_encrypted
            channel.key_mask = chosen.key_mask
            channel.save(update_fields=["key_encrypted", "key_mask"])


class Migration(migrations.Migration):
    dependencies = [
        ("channels_admin", "0005_channel_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="key_mode",
            field=models.CharField(
                choices=[("random", "At random"), ("round_robin", "In turn")],
                default="random",
                max_length=20,
                verbose_name="key mode",
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="next_key_index",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="ChannelKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.PositiveIntegerField()),
                ("key_encrypted", models.TextField()),
                ("key_mask", models.CharField(default="", max_length=20)),
                (
                    "status",
                    models.CharField(
                        choices=[("enabled", "Enabled"), ("disabled", "Disabled")],
                        default="enabled",
                        max_length=20,
                    ),
                ),
                ("reason", models.CharField(blank=True, default="", max_length=300)),
                ("changed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="keys",
                        to="channels_admin.channel",
                    ),
                ),
            ],
            options={
                "ordering": ["channel_id", "index"],
                "constraints": [
                    models.UniqueConstraint(fields=("channel", "index"), name="channel_key_index")
                ],
            },
        ),
        migrations.RunPython(keys_to_rows, rows_to_keys),
    ]
