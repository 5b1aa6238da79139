from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("containers_app", "0012_screen_engines"),
    ]

    operations = [
        migrations.AddField(
            model_name="engine",
            name="cli_context",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
