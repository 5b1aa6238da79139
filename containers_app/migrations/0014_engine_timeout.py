from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("containers_app", "0013_engine_cli_context"),
    ]

    operations = [
        migrations.AddField(
            model_name="engine",
            name="timeout",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
