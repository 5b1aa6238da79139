"""What the engine does not keep: the audit trail of who did what through Berth."""

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
    command = models.TextField()
    succeeded = models.BooleanField()
    message = models.TextField(blank=True)
    # A terminal's entry: the exit code of its process once it ended, and the nonce of the
    # single-use ticket that opened it (unique, so a ticket opens one terminal only).
    exit_code = models.IntegerField(null=True, blank=True)
    ticket = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.username}: {self.command}"
