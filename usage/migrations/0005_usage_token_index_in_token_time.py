# The token's own index goes: usage_token_time (token_id, created_at) serves every lookup by
# token on SQLite and PostgreSQL, and each index costs every record written.
#
# Dropped by name, not by AlterField's database side: on SQLite that copies the whole table
# (every record, every index rebuilt) to change nothing but this index.

import django.db.models.deletion
from django.db import migrations, models


def _token_indexes(model, schema_editor):
    """The single-column index(es) Django made for the key (as AlterField would find them)."""
    column = model._meta.get_field("token").column
    named = {index.name for index in model._meta.indexes}
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return [
        name
        for name, details in constraints.items()
        if details["index"]
        and details["columns"] == [column]
        and not details["unique"]
        and not details["primary_key"]
        and name not in named
    ]


def drop_token_index(apps, schema_editor):
    model = apps.get_model("usage", "UsageRecord")
    for name in _token_indexes(model, schema_editor):
        schema_editor.remove_index(model, models.Index(fields=["token"], name=name))


def restore_token_index(apps, schema_editor):
    model = apps.get_model("usage", "UsageRecord")
    if not _token_indexes(model, schema_editor):
        # What AlterField runs when a field gains db_index (the same name, too).
        field = model._meta.get_field("token")
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0003_spending'),
        ('usage', '0004_usage_request_id'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='usagerecord',
                    name='token',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tokens.token'),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_token_index, restore_token_index),
            ],
        ),
    ]
