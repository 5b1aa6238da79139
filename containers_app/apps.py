from django.apps import AppConfig
from django.core import checks


class ContainersAppConfig(AppConfig):
    name = "containers_app"
    verbose_name = "Berth"

    def ready(self) -> None:
        from containers_app import compat

        # The versions of Django, Channels and daphne compat.py was written for.
        checks.register(compat.check_versions)
        # Once per process, before any stream's reader thread starts.
        compat.set_switch_interval()
