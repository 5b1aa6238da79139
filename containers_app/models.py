"""What the engine does not keep: the engines themselves, teams and their members, the audit
trail of who did what through Berth, jobs, and registry logins."""

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One change made through Berth, with the `docker` command it stands for."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    engine = models.CharField(max_length=255)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255)
    # The full id of the object acted on, beside the name in `target`.
    object_id = models.CharField(max_length=80, blank=True, db_index=True)
    command = models.TextField()
    succeeded = models.BooleanField()
    message = models.TextField(blank=True)
    # A terminal's entry: the exit code of its process once it ended, and the nonce of the
    # single-use ticket that opened it (unique, so a ticket opens one terminal only).
    exit_code = models.IntegerField(null=True, blank=True)
    ticket = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The team the object belongs to (its slug, kept when the team is gone), and whether
    # this entry is an attempt that access refused.
    team = models.CharField(max_length=63, blank=True, db_index=True)
    denied = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.username}: {self.command}"


class Job(models.Model):
    """A long operation (pull, push, build, load, commit, recreate) that outlives the page
    that started it: its progress and output, kept current while it runs."""

    QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
    STATES = [(s, s) for s in (QUEUED, RUNNING, DONE, FAILED, CANCELLED)]

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    finished = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    engine = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    target = models.CharField(max_length=512)
    command = models.TextField()
    state = models.CharField(max_length=16, choices=STATES, default=QUEUED)
    # The overall percentage and each layer's line, as the job page draws them.
    progress = models.JSONField(default=dict, blank=True)
    # The newest output lines (capped), and what the job ended with: a digest, an image id,
    # a container, or the engine's error.
    output = models.TextField(blank=True)
    result = models.TextField(blank=True)
    # The process running it, "host:pid:start": a job whose process is gone was interrupted.
    runner = models.CharField(max_length=255, blank=True)
    # The team of the object it makes or changes (its audit entries' team); blank: none.
    team = models.CharField(max_length=63, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.state})"

    @property
    def ended(self) -> bool:
        return self.state in (self.DONE, self.FAILED, self.CANCELLED)


class RegistryCredential(models.Model):
    """A user's login to one registry (`docker login`), its password encrypted at rest with
    a key that is neither in the database nor the Django secret key (see credentials.py)."""

    created = models.DateTimeField(auto_now_add=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registry_credentials"
    )
    server = models.CharField(max_length=255)
    username = models.CharField(max_length=255)
    secret = models.TextField()

    class Meta:
        ordering = ["server", "username"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "server"], name="one_login_per_registry")
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.server}"


class Team(models.Model):
    """People who share the objects labelled berth.team=<slug> on the host, and the policy
    their containers are run under (blank: no limit; see policy.py)."""

    created = models.DateTimeField(auto_now_add=True)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=150)
    # Image references the team may run, one shell-style pattern per line (nginx:*, *).
    image_patterns = models.TextField(blank=True)
    # The host ports `--publish` may bind, inclusive.
    port_min = models.PositiveIntegerField(null=True, blank=True)
    port_max = models.PositiveIntegerField(null=True, blank=True)
    # Caps per container: `--memory` in bytes and `--cpus`; a container must set them within.
    memory_max = models.PositiveBigIntegerField(null=True, blank=True)
    cpus_max = models.FloatField(null=True, blank=True)
    # How many containers (any state) the team may have at once.
    containers_max = models.PositiveIntegerField(null=True, blank=True)
    # Registries the team pulls from, pushes to and logs in to (host[:port] patterns, one a
    # line); empty: any but loopback, link-local and private addresses.
    registries = models.TextField(blank=True)
    # Image names the team may point at its images (tag, commit, build, load), patterns one a
    # line; empty: any name no other team's container uses.
    repositories = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A user's role in a team: viewer (look), operator (also start, stop, terminal...),
    admin (also run, remove, build, push, networks, volumes, members and policy)."""

    VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
    ROLES = [(r, r) for r in (VIEWER, OPERATOR, ADMIN)]

    created = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLES)

    class Meta:
        ordering = ["team__slug", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_role_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


class ProjectAssignment(models.Model):
    """A compose project handed to a team: its containers, networks and volumes (by their
    com.docker.compose.project label) belong to the team, however often compose recreates them."""

    created = models.DateTimeField(auto_now_add=True)
    engine = models.CharField(max_length=255)
    project = models.CharField(max_length=255)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")

    class Meta:
        ordering = ["project"]
        constraints = [
            models.UniqueConstraint(fields=["engine", "project"], name="one_team_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project} to {self.team}"


class Screen(models.Model):
    """A wall screen: a read-only view of a team's containers (or every team's, with no
    team), opened by a secret link. Only the token's SHA-256 is kept."""

    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=150)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="screens"
    )
    # Only this compose project's containers; blank: all of the team's.
    project = models.CharField(max_length=255, blank=True)
    show_logs = models.BooleanField(default=False)
    # The engines whose containers it shows (those of them its team may use); an engine
    # removed from Berth leaves its screens.
    engines = models.ManyToManyField("Engine", blank=True, related_name="screens")
    token_hash = models.CharField(max_length=64, unique=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImageOrigin(models.Model):
    """A team that made or brought an image onto an engine through Berth (commit, build,
    load, pull), by the image's id. Never read from a label: base images pass their labels
    on, and two teams pulling the same image get the same id (both are recorded)."""

    created = models.DateTimeField(auto_now_add=True)
    engine = models.CharField(max_length=255)
    image_id = models.CharField(max_length=80)
    # The team's slug, kept when the team is gone; "" for a superuser acting for no team.
    team = models.CharField(max_length=63, blank=True)
    how = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["engine", "image_id", "team"], name="one_origin_a_team")
        ]
        indexes = [models.Index(fields=["engine", "image_id"])]

    def __str__(self) -> str:
        return f"{self.image_id} on {self.engine}: {self.team or '(no team)'} ({self.how})"


class Engine(models.Model):
    """A Docker Engine Berth manages, reached as the docker CLI reaches it: a unix socket,
    tcp:// with TLS client certificates, or ssh:// with a key. Keys and certificates are
    encrypted at rest (credentials.encrypt) and never shown again; `ssh_host_key` is the
    pinned host key's SHA256 fingerprint. Objects on the engine carry no reference to it:
    other rows name an engine by its slug, so the audit trail outlives a removed engine."""

    created = models.DateTimeField(auto_now_add=True)
    # Changed whenever the address or a credential changes: clients built before are dropped.
    updated = models.DateTimeField(auto_now=True)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=150)
    address = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    tls_ca = models.TextField(blank=True)
    tls_cert = models.TextField(blank=True)
    tls_key = models.TextField(blank=True)
    ssh_key = models.TextField(blank=True)
    ssh_host_key = models.CharField(max_length=100, blank=True)
    # The docker context its users have for it, if any: the commands Berth shows name it
    # (`docker --context NAME ...`) instead of the engine's address.
    cli_context = models.CharField(max_length=64, blank=True)
    # Seconds an engine call may take before it is given up; none: BERTH_DOCKER_TIMEOUT.
    timeout = models.PositiveIntegerField(null=True, blank=True)
    # The teams that may use it (or every team, as the one engine of an install that had
    # one); superusers use every engine.
    every_team = models.BooleanField(default=False)
    teams = models.ManyToManyField(Team, blank=True, related_name="engines")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Application(models.Model):
    """A compose application Berth deploys: compose project `name` on engine `engine` (a
    slug), of `team`. `compose` and `env` are what the next deploy takes (an edit changes
    them, a deploy records them as a Revision); `env` is encrypted at rest. `adopted`: found
    on the engine (started with the compose CLI) and taken in by a superuser, whose
    `project_directory` (its own folder) relative paths in the YAML lead to."""

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    engine = models.CharField(max_length=63)
    name = models.CharField(max_length=63)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    compose = models.TextField()
    env = models.TextField(blank=True)
    project_directory = models.CharField(max_length=1024, blank=True)
    adopted = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["engine", "name"]
        constraints = [
            models.UniqueConstraint(fields=["engine", "name"], name="one_application_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.engine}"


class Revision(models.Model):
    """One deploy of an application (all of it, one service, or a rollback): the YAML and
    .env it took (encrypted), who, when, how it ended, and what each service ended up
    running: `images` (service: image name, id, digest when it has one) and `hashes`
    (service: compose's configuration hash, which its containers are labelled with)."""

    DEPLOY, REDEPLOY, ROLLBACK = "deploy", "redeploy", "rollback"
    RUNNING, DEPLOYED, FAILED = "running", "deployed", "failed"
    STATES = [(RUNNING, "running"), (DEPLOYED, "deployed"), (FAILED, "failed")]

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=16, default=DEPLOY)
    # The one service a redeploy made again; "" for the whole application.
    service = models.CharField(max_length=255, blank=True)
    # The revision a rollback deployed again, with its images pinned.
    rollback_of = models.PositiveIntegerField(null=True, blank=True)
    compose = models.TextField()
    env = models.TextField(blank=True)
    # service: the image id it is pinned to (a rollback's), by an override of Berth's.
    pinned = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=STATES, default=RUNNING)
    result = models.TextField(blank=True)
    images = models.JSONField(default=dict, blank=True)
    hashes = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.application} #{self.number}"
