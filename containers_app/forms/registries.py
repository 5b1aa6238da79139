"""Registries: `docker login`."""

from django import forms
from django.core.exceptions import ValidationError

from containers_app.engine.registries import InvalidServer, normalise_server


class RegistryLoginForm(forms.Form):
    """`docker login --username <user> <server>`: `server` cleaned to the address the login is
    stored and checked under (Docker Hub when empty). The password is always asked for, so a
    login cannot be moved to another server without it, and is never drawn back into the page."""

    server = forms.CharField(
        required=False,
        max_length=300,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "host[:port]; empty for Docker Hub"}),
    )
    username = forms.CharField(max_length=255, strip=True)
    password = forms.CharField(
        max_length=8192,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_server(self) -> str:
        try:
            return normalise_server(self.cleaned_data["server"])
        except InvalidServer as error:
            raise ValidationError(str(error)) from None

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if any(ord(c) < 32 or ord(c) == 127 for c in username):
            raise ValidationError("A username holds no control characters.")
        return username
