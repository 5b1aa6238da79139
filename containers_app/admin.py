from django import forms
from django.contrib import admin

from containers_app.forms import validate_team_slug
from containers_app.models import AuditEntry, Membership, Team


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


class TeamAdminForm(forms.ModelForm):
    """The slug rule of the team pages and `manage.py teams` (lower case), which the model's
    own SlugField does not enforce: one team must never go by two labels."""

    class Meta:
        model = Team
        fields = ("slug", "name")

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        validate_team_slug(slug)
        return slug


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Changes made here are not audited and skip the last-admin rule: the team pages and
    `manage.py teams` are the audited ways."""

    form = TeamAdminForm
    list_display = ("slug", "name", "created")
    search_fields = ("slug", "name")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "role", "created")
    list_filter = ("role", "team")
    search_fields = ("team__slug", "user__username")
    raw_id_fields = ("user",)
