"""Containers: the list's filters and bulk actions, `docker commit`, recreate and `docker exec`."""

import re
import shlex

from django import forms
from django.core.exceptions import ValidationError

from containers_app import access
from containers_app.engine.containers import ACTIONS, STATES
from containers_app.forms.common import CONTAINER_REF, IMAGE_REFERENCE, _lines

LABEL_FILTER = re.compile(r"^[^=\s]+(=.*)?$")

CONTAINER_SORTS = {
    "name": lambda c: c.name,
    "image": lambda c: c.image,
    "created": lambda c: c.created.timestamp() if c.created else 0,
    "state": lambda c: c.state,
    "status": lambda c: c.status,
}


class ContainerFilterForm(forms.Form):
    """The filters and sort of `docker ps`."""

    all = forms.BooleanField(required=False)
    name = forms.CharField(required=False, max_length=128, strip=True)
    state = forms.ChoiceField(
        required=False, choices=[("", "any state")] + [(s, s) for s in STATES]
    )
    label = forms.CharField(required=False, max_length=256, strip=True)
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in CONTAINER_SORTS])
    desc = forms.BooleanField(required=False)

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        if label and not LABEL_FILTER.match(label):
            raise ValidationError("Write a label as key or key=value.")
        return label

    def filters(self) -> dict:
        """Keyword arguments for engine.containers.container_list and cli.container_list."""
        data = self.cleaned_data
        return {
            "all": data["all"],
            "name": data["name"],
            "state": data["state"],
            "label": data["label"],
        }

    def sort_key(self):
        return CONTAINER_SORTS.get(self.cleaned_data.get("sort") or "")


class ContainerBulkForm(forms.Form):
    """One action on the selected rows of the containers list."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    ids = forms.CharField()

    def __init__(self, data=None, **kwargs) -> None:
        if data is not None and hasattr(data, "getlist"):
            data = {"action": data.get("action", ""), "ids": " ".join(data.getlist("ids"))}
        super().__init__(data, **kwargs)

    def clean_ids(self) -> list[str]:
        ids = list(dict.fromkeys(self.cleaned_data["ids"].split()))
        bad = [i for i in ids if not CONTAINER_REF.match(i)]
        if bad:
            raise ValidationError(f"Not a container id or name: {bad[0][:64]}")
        if len(ids) > 1000:
            raise ValidationError("Select at most 1,000 containers at once.")
        return ids


class ExecForm(forms.Form):
    """What a terminal runs: `docker exec -it [-u user] [-w workdir] <container> <cmd>`.
    An empty command means bash if the image has it, else sh."""

    cmd = forms.CharField(required=False, max_length=4096, strip=True)
    user = forms.CharField(required=False, max_length=256, strip=True)
    workdir = forms.CharField(required=False, max_length=4096, strip=True)

    def clean_cmd(self) -> list[str]:
        try:
            words = shlex.split(self.cleaned_data["cmd"])
        except ValueError as error:
            raise ValidationError(f"The command cannot be split into words: {error}.") from None
        if len(words) > 256:
            raise ValidationError("A command has at most 256 words.")
        return words


# The instructions `docker commit --change` takes (the engine refuses the others).
COMMIT_CHANGES = (
    "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR",
)  # fmt: skip
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
PAUSE_CHOICES = (
    ("1", "Pause it while committing (the default)"),
    ("0", "Do not pause it (--pause=false)"),
)
PAUSE_ON, PAUSE_OFF = ("", "1", "on", "true", "yes"), ("0", "off", "false", "no")


def _one_line(text: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValidationError(f"The {what} is one line, without control characters.")
    return text


def _label_change_keys(argument: str) -> list[str]:
    """The reserved keys (berth.*) a `LABEL key=value …` (or `LABEL key value`) change sets.
    One that cannot be split into words is taken as a whole, so quoting hides no key."""
    try:
        words = shlex.split(argument)
    except ValueError:
        hides = any(prefix in argument.lower() for prefix in access.RESERVED_LABEL_PREFIXES)
        return [argument.strip()] if hides else []
    if words and "=" not in words[0]:
        keys = words[:1]  # the old form: LABEL key value
    else:
        keys = [word.partition("=")[0] for word in words]
    return access.reserved_labels(keys)


class ContainerCommitForm(forms.Form):
    """`docker commit [--pause=false] [-m …] [-a …] [-c …] <container> repository[:tag]`:
    gives `repository`, `tag` and the whole `reference`, `pause` (on unless asked off, as the
    CLI: a select, as an unticked checkbox would send nothing) and `change`, a list."""

    repository = forms.CharField(
        max_length=255,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "[registry/]name[:tag]"}),
    )
    tag = forms.CharField(
        required=False,
        max_length=128,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "latest"}),
    )
    message = forms.CharField(label="Message (-m)", required=False, max_length=1024, strip=True)
    author = forms.CharField(label="Author (-a)", required=False, max_length=255, strip=True)
    pause = forms.CharField(
        required=False, max_length=8, widget=forms.Select(choices=PAUSE_CHOICES), initial="1"
    )
    change = forms.CharField(
        label="Changes (-c)",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": 'CMD ["sh"]\nENV KEY=value'}),
        help_text="One a line: " + ", ".join(COMMIT_CHANGES),
    )

    def clean_repository(self) -> str:
        repository = self.cleaned_data["repository"]
        if not IMAGE_REFERENCE.match(repository):
            raise ValidationError(
                f"{repository} is not a repository: write [registry/]name[:tag], the name in "
                "lower case (letters, digits, . _ -)."
            )
        name, colon, tag = repository.rpartition(":")
        if colon and "/" not in tag:  # a tag, not a registry's port
            self.cleaned_data["repository_tag"] = tag
            return name
        return repository

    def clean_tag(self) -> str:
        tag = self.cleaned_data["tag"]
        if tag and not IMAGE_TAG.match(tag):
            raise ValidationError(
                f"{tag} is not a tag: up to 128 letters, digits, _ . -, not starting with . or -."
            )
        return tag

    def clean_message(self) -> str:
        return _one_line(self.cleaned_data["message"], "message")

    def clean_author(self) -> str:
        return _one_line(self.cleaned_data["author"], "author")

    def clean_pause(self) -> bool:
        pause = self.cleaned_data["pause"].strip().lower()
        if pause not in PAUSE_ON + PAUSE_OFF:
            raise ValidationError("Pause is 1 (pause it while committing) or 0 (do not).")
        return pause in PAUSE_ON

    def clean_change(self) -> list[str]:
        changes = []
        for number, line in _lines(self.cleaned_data["change"]):
            instruction = line.split(None, 1)[0]
            argument = line[len(instruction) :]
            if instruction.upper() not in COMMIT_CHANGES:
                raise ValidationError(
                    f"Line {number}: docker commit --change takes "
                    f"{', '.join(COMMIT_CHANGES)}; not {instruction[:32]}."
                )
            if not argument.strip():
                raise ValidationError(f"Line {number}: {instruction.upper()} needs a value.")
            if instruction.upper() == "LABEL" and (reserved := _label_change_keys(argument)):
                raise ValidationError(
                    f"Line {number}: labels {access.RESERVED_LABELS_SAID} are set by Berth "
                    f"and Docker Compose only: {', '.join(reserved)}. A container run from the "
                    "image would inherit them."
                )
            changes.append(f"{instruction.upper()} {argument.strip()}")
        if len(changes) > 100:
            raise ValidationError("At most 100 changes.")
        return changes

    def clean(self) -> dict:
        data = super().clean()
        given = data.pop("repository_tag", "")
        tag = data.get("tag", "")
        if given and tag and given != tag:
            self.add_error("tag", f"The repository says tag {given} and the tag field {tag}.")
        elif "repository" in data and "tag" in data:
            data["tag"] = tag or given or "latest"
            data["reference"] = f"{data['repository']}:{data['tag']}"
        return data


class ContainerRecreateForm(forms.Form):
    """Recreate: `pull` pulls the image's reference first; `confirm`, onto an image its name
    now names that another team (or nobody Berth knows of) made."""

    pull = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)
