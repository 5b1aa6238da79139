"""Volumes: `docker volume create`."""

import re

from django import forms
from django.core.exceptions import ValidationError

from containers_app import rules
from containers_app.forms.common import OBJECT_NAME, parse_labels, parse_pairs


class VolumeCreateForm(forms.Form):
    """`docker volume create`. Without `any_volume` (access.ANY_VOLUME), only a volume that
    cannot reach the host's own files: see rules.host_volume_refusals."""

    name = forms.CharField(required=False, max_length=255, help_text="Empty: the engine picks one")
    driver = forms.CharField(initial="local", max_length=128)
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )

    def __init__(self, *args, any_volume: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.any_volume = any_volume

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name and (len(name) < 2 or not OBJECT_NAME.match(name)):
            raise ValidationError(
                "A volume name has at least two characters, starts with a letter or digit and "
                "holds only letters, digits, _ . -"
            )
        return name

    def clean_driver(self) -> str:
        driver = self.cleaned_data["driver"].strip()
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$", driver):
            raise ValidationError("Not a volume driver name.")
        return driver

    def clean_labels(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data["labels"])

    def clean_options(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data["options"], what="option")

    def clean(self) -> dict:
        data = super().clean()
        if not self.any_volume and "driver" in data:
            refusals = rules.host_volume_refusals(data["driver"], data.get("options") or {})
            for field, problems in refusals.items():
                for problem in problems:
                    self.add_error(field, problem)
        return data
