"""`python manage.py engines add|list|test|grant|remove`: the engines Berth manages, from a shell
or a provisioning script, through the same checks as the engines page. Keys and certificates
are read from files and stored encrypted; an SSH host key is pinned by its fingerprint,
which the script must give (`--ssh-host-key SHA256:...`, as `ssh-keygen -lf` prints it on the
host): nobody is there to compare it."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from containers_app import audit, cli, engines, health
from containers_app.models import Team


class Command(BaseCommand):
    help = "Add, list, test, grant and remove the Docker Engines Berth manages."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
        add = commands.add_parser("add", help="register an engine")
        add.add_argument("slug", help="its name in URLs: /engines/<slug>/")
        add.add_argument("address", help="unix:///path, tcp://host:2376 or ssh://user@host[:port]")
        add.add_argument("--name", default="")
        add.add_argument("--description", default="")
        add.add_argument("--tls-ca", type=Path, help="the CA that signed the engine's certificate")
        add.add_argument("--tls-cert", type=Path, help="Berth's client certificate")
        add.add_argument("--tls-key", type=Path, help="its key")
        add.add_argument("--ssh-key", type=Path, help="a private key without a passphrase")
        add.add_argument("--ssh-host-key", default="", help="the host key's SHA256:... to pin")
        add.add_argument(
            "--timeout",
            type=int,
            default=None,
            help="seconds a call to it may take (default: BERTH_DOCKER_TIMEOUT)",
        )
        add.add_argument(
            "--context",
            default="",
            help="the docker context its users have for it: commands shown name it",
        )
        self._teams(add)
        commands.add_parser("list", help="every engine, a line each, with its health")
        test = commands.add_parser("test", help="ask an engine now whether it answers")
        test.add_argument("slug")
        grant = commands.add_parser("grant", help="set the teams that may use an engine")
        grant.add_argument("slug")
        self._teams(grant)
        pin = commands.add_parser("pin", help="pin an SSH engine's new host key")
        pin.add_argument("slug")
        pin.add_argument("ssh_host_key", help="SHA256:..., as ssh-keygen -lf prints it on the host")
        context = commands.add_parser(
            "context", help="set the docker context the commands shown name (none: clear it)"
        )
        context.add_argument("slug")
        context.add_argument("context", nargs="?", default="")
        remove = commands.add_parser("remove", help="forget an engine (its objects stay)")
        remove.add_argument("slug")

    @staticmethod
    def _teams(parser: CommandParser) -> None:
        parser.add_argument("--team", action="append", default=[], help="a team (repeatable)")
        parser.add_argument("--every-team", action="store_true", help="every team may use it")

    def handle(self, *args, subcommand: str, **options) -> None:
        try:
            getattr(self, subcommand)(**options)
        except (engines.EngineRefused, engines.NoSuchEngine) as error:
            raise CommandError(str(error) or f"No engine {options.get('slug')}.") from None

    def add(self, *, slug, address, name, description, **options) -> None:
        given = engines.Credentials(
            tls_ca=_read(options["tls_ca"]),
            tls_cert=_read(options["tls_cert"]),
            tls_key=_read(options["tls_key"]),
            ssh_key=_read(options["ssh_key"]),
            ssh_host_key=options["ssh_host_key"].strip(),
        )
        engine = engines.engine_add(
            slug=slug,
            address=address,
            name=name,
            description=description,
            given=given,
            teams=_teams(options["team"]),
            every_team=options["every_team"],
            cli_context=options["context"],
            timeout=options["timeout"],
        )
        command = cli.engine_add(slug, engine.base_url, engine.cli_context)
        audit.engine_change(user=None, slug=slug, action="engine add", command=command)
        self.stdout.write(f"Added engine {slug} ({engine.base_url}); test it: engines test {slug}")

    def list(self, **options) -> None:
        for engine in engines.listed():
            now = health.check(engine)
            teams = "every team" if engine.every_team else ",".join(sorted(engine.teams)) or "-"
            default = " (default)" if engine.slug == settings.BERTH_DEFAULT_ENGINE else ""
            said = (
                f"{now.state} {now.version} {now.round_trip_ms} ms"
                if now.state != "down"
                else (f"down: {now.reason}")
            )
            self.stdout.write(f"{engine.slug}{default}\t{engine.base_url}\t{teams}\t{said}")

    def test(self, *, slug, **options) -> None:
        engine = engines.get(slug)
        now = health.check(engine)
        if now.state == health.DOWN:
            raise CommandError(f"{slug} is down: {now.reason}")
        self.stdout.write(
            f"{slug} is {now.state}: Docker {now.version}, {now.round_trip_ms} ms round trip"
        )

    def grant(self, *, slug, team, every_team, **options) -> None:
        teams = _teams(team)
        engines.engine_grant(slug=slug, teams=teams, every_team=every_team)
        audit.engine_change(
            user=None,
            slug=slug,
            action="engine grant",
            command=cli.engine_grant(slug, team, every_team),
        )
        said = "every team" if every_team else ", ".join(team) or "no team (superusers only)"
        self.stdout.write(f"{slug} may be used by {said}.")

    def pin(self, *, slug, ssh_host_key, **options) -> None:
        engines.engine_pin(slug=slug, ssh_host_key=ssh_host_key.strip())
        audit.engine_change(
            user=None, slug=slug, action="engine pin", command=cli.engine_pin(slug, ssh_host_key)
        )
        self.stdout.write(f"{slug} now accepts the host key {ssh_host_key.strip()} only.")

    def context(self, *, slug, context, **options) -> None:
        engine = engines.engine_set_context(slug=slug, cli_context=context)
        audit.engine_change(
            user=None,
            slug=slug,
            action="engine context",
            command=cli.engine_context(slug, engine.cli_context),
        )
        if engine.cli_context:
            self.stdout.write(
                f"Commands shown for {slug} say docker --context {engine.cli_context}."
            )
        else:
            self.stdout.write(f"Commands shown for {slug} name its address again.")

    def remove(self, *, slug, **options) -> None:
        engines.engine_remove(slug=slug)
        audit.engine_change(
            user=None, slug=slug, action="engine remove", command=cli.engine_remove(slug)
        )
        self.stdout.write(f"Removed engine {slug}; its objects stay on it.")


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path} cannot be read: {error}") from None


def _teams(slugs: list[str]) -> list[Team]:
    found = list(Team.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {team.slug for team in found})
    if missing:
        raise CommandError(f"No such team: {', '.join(missing)}")
    return found
