"""Networks: `docker network create`."""

import ipaddress

from django import forms
from django.core.exceptions import ValidationError

from containers_app.forms.common import FULL_ID, OBJECT_NAME, parse_labels

NETWORK_DRIVERS = ("bridge", "ipvlan", "macvlan", "overlay")


class NetworkCreateForm(forms.Form):
    """`docker network create`."""

    name = forms.CharField(max_length=128)
    driver = forms.ChoiceField(choices=[(d, d) for d in NETWORK_DRIVERS], initial="bridge")
    subnet = forms.CharField(required=False, max_length=64, help_text="CIDR, e.g. 172.30.0.0/24")
    gateway = forms.CharField(required=False, max_length=64)
    internal = forms.BooleanField(required=False)
    attachable = forms.BooleanField(required=False)
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not OBJECT_NAME.match(name):
            raise ValidationError(
                "A network name starts with a letter or digit and holds only letters, digits, _ . -"
            )
        if FULL_ID.match(name):
            raise ValidationError("A network name may not be 64 hex digits, as an id is.")
        return name

    def clean_subnet(self) -> str:
        subnet = self.cleaned_data["subnet"].strip()
        if subnet:
            try:
                return str(ipaddress.ip_network(subnet, strict=True))
            except ValueError as error:
                raise ValidationError(f"Not a subnet in CIDR form: {error}") from error
        return subnet

    def clean_gateway(self) -> str:
        gateway = self.cleaned_data["gateway"].strip()
        if gateway:
            try:
                return str(ipaddress.ip_address(gateway))
            except ValueError as error:
                raise ValidationError(f"Not an IP address: {error}") from error
        return gateway

    def clean_labels(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data["labels"])

    def clean(self) -> dict:
        data = super().clean()
        subnet, gateway = data.get("subnet"), data.get("gateway")
        if gateway and not subnet and "subnet" not in self.errors:
            self.add_error("gateway", "A gateway needs a subnet.")
        elif (
            gateway and subnet and ipaddress.ip_address(gateway) not in ipaddress.ip_network(subnet)
        ):
            self.add_error("gateway", f"{gateway} is not in {subnet}.")
        return data
