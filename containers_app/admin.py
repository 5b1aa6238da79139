from django.contrib import admin

from containers_app.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is never edited or deleted through Berth."""

    list_display = ("created", "username", "command", "succeeded", "exit_code", "message")
    list_filter = ("succeeded", "action")
    search_fields = ("username", "command", "target")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
