"""Adding an engine and granting it to teams: the address, the credentials its transport
needs (pasted, never shown again), and the teams that may use it."""

from django import forms

from containers_app import engines
from containers_app.models import Team

PEM_HELP = "Paste the PEM text; it is stored encrypted and never shown again."


class EngineTeamsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            queryset=Team.objects.all(),
            to_field_name="slug",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="The teams whose members may use this engine (superusers use every one).",
            **kwargs,
        )


class EngineAddForm(forms.Form):
    slug = forms.CharField(max_length=63, help_text="In its URLs: /engines/<slug>/.")
    name = forms.CharField(max_length=150, required=False)
    address = forms.CharField(
        max_length=255,
        help_text="unix:///var/run/docker.sock, tcp://host:2376 (TLS) or ssh://user@host[:port]",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tls_ca = forms.CharField(
        label="TLS CA", required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=PEM_HELP
    )
    tls_cert = forms.CharField(
        label="TLS client certificate",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=PEM_HELP,
    )
    tls_key = forms.CharField(
        label="TLS client key",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=PEM_HELP,
    )
    ssh_key = forms.CharField(
        label="SSH private key",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Without a passphrase. " + PEM_HELP,
    )
    ssh_host_key = forms.CharField(
        label="SSH host key fingerprint",
        required=False,
        max_length=60,
        help_text="SHA256:…, as ssh-keygen -lf prints it on the host: it is pinned, and a "
        "changed host key is refused. Fetch it below and compare.",
    )
    cli_context = forms.CharField(
        label="Docker context",
        required=False,
        max_length=64,
        help_text="The docker context its users have for it, if any: the commands Berth shows "
        "then say docker --context <name> instead of its address.",
    )
    timeout = forms.IntegerField(
        label="Timeout (s)",
        required=False,
        min_value=1,
        max_value=engines.MAX_TIMEOUT,
        help_text="How long a call to it may take; empty: Berth's default. A distant host "
        "over SSH may want more.",
    )
    every_team = forms.BooleanField(required=False, label="Every team may use it")
    teams = EngineTeamsField()

    def clean_slug(self) -> str:
        try:
            return engines.check_slug(self.cleaned_data["slug"].strip())
        except engines.EngineRefused as error:
            raise forms.ValidationError(str(error)) from None

    def clean_cli_context(self) -> str:
        try:
            return engines.check_cli_context(self.cleaned_data["cli_context"])
        except engines.EngineRefused as error:
            raise forms.ValidationError(str(error)) from None

    def clean_address(self) -> str:
        try:
            return engines.check_address(self.cleaned_data["address"])
        except engines.EngineRefused as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict:
        data = super().clean()
        if "address" in data:
            try:
                engines.check_credentials(data["address"], self.credentials())
            except engines.EngineRefused as error:
                raise forms.ValidationError(str(error)) from None
        return data

    def credentials(self) -> engines.Credentials:
        data = self.cleaned_data
        return engines.Credentials(
            **{
                field: data.get(field, "").strip() + ("\n" if field != "ssh_host_key" else "")
                if data.get(field, "").strip()
                else ""
                for field in ("tls_ca", "tls_cert", "tls_key", "ssh_key", "ssh_host_key")
            }
        )


class EngineGrantForm(forms.Form):
    every_team = forms.BooleanField(required=False, label="Every team")
    teams = EngineTeamsField()


class HostKeyForm(forms.Form):
    address = forms.CharField(max_length=255)

    def clean_address(self) -> str:
        address = self.cleaned_data["address"]
        try:
            engines.check_address(address)
        except engines.EngineRefused as error:
            raise forms.ValidationError(str(error)) from None
        if not address.startswith("ssh://"):
            raise forms.ValidationError("Only an ssh:// engine has a host key to pin.")
        return address
