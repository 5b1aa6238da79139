from django.conf import settings
from django.db import migrations, models


def on_the_default_engine(apps, schema_editor):
    """The screens made before a screen could show several engines showed the default one."""
    engine = apps.get_model("containers_app", "Engine").objects.filter(
        slug=settings.BERTH_DEFAULT_ENGINE
    )
    if engine.exists():
        for screen in apps.get_model("containers_app", "Screen").objects.all():
            screen.engines.add(engine.get())


class Migration(migrations.Migration):
    dependencies = [
        ("containers_app", "0011_engines"),
    ]

    operations = [
        migrations.AddField(
            model_name="screen",
            name="engines",
            field=models.ManyToManyField(
                blank=True, related_name="screens", to="containers_app.engine"
            ),
        ),
        migrations.RunPython(on_the_default_engine, migrations.RunPython.noop),
    ]
