"""Images: `docker images`, rmi, tag, pull, push, image prune, build and load."""

import re

from django import forms
from django.core.exceptions import ValidationError

from containers_app import uploads
from containers_app.forms.common import IMAGE_REFERENCE, ForceForm, _lines, parse_env


class ImageListForm(forms.Form):
    dangling = forms.BooleanField(required=False)


class ImageRemoveForm(ForceForm):
    """`docker rmi [-f]`; with a tag, only that tag is removed (untagged)."""

    tag = forms.RegexField(
        required=False,
        max_length=255,
        regex=r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$",
        error_messages={"invalid": "Not an image tag."},
    )


def split_reference(reference: str) -> tuple[str, str]:
    """(repository, tag) of a reference; `name` alone means `name:latest`, as the CLI says."""
    repository, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon was a registry's port
        return reference, "latest"
    return repository, tag


class ImageTagForm(forms.Form):
    """`docker tag <image> <target>`: cleans `target` to repository:tag, and gives both parts
    as `repository` and `tag`, as the engine takes them."""

    target = forms.CharField(max_length=255, strip=True)

    def clean_target(self) -> str:
        target = self.cleaned_data["target"]
        if not IMAGE_REFERENCE.match(target):
            raise ValidationError(
                f"{target} is not an image reference: write [registry/]name[:tag], the name "
                "in lower case (letters, digits, . _ -)."
            )
        self.cleaned_data["repository"], self.cleaned_data["tag"] = split_reference(target)
        return "{repository}:{tag}".format(**self.cleaned_data)


DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImagePullForm(forms.Form):
    """`docker pull <reference>`: cleaned to repository:tag or repository@digest, and gives
    `repository` and `tag` (a tag or a digest) as the engine takes them. A name alone means
    name:latest, as the CLI says: never every tag."""

    reference = forms.CharField(max_length=512, strip=True)

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"]
        name, at, digest = reference.partition("@")
        if at and not DIGEST.match(digest):
            raise ValidationError(f"{digest} is not a digest: write sha256: and 64 hex digits.")
        if not IMAGE_REFERENCE.match(name):
            raise ValidationError(
                f"{reference} is not an image reference: write [registry/]name[:tag] or "
                "[registry/]name@sha256:…, the name in lower case (letters, digits, . _ -)."
            )
        if at:
            self.cleaned_data["repository"], self.cleaned_data["tag"] = name, digest
            return reference
        self.cleaned_data["repository"], self.cleaned_data["tag"] = split_reference(name)
        return "{repository}:{tag}".format(**self.cleaned_data)


class ImagePushForm(ImagePullForm):
    """`docker push <reference>`: a tag of the image (pushed by tag, never by digest)."""

    def clean_reference(self) -> str:
        reference = super().clean_reference()
        if "@" in reference:
            raise ValidationError("Push a tag (name:tag), not a digest.")
        return reference


class ImagePruneForm(forms.Form):
    """`docker image prune [-a]`: dangling images only, unless `all`."""

    all = forms.ChoiceField(required=False, choices=[("", "dangling images"), ("1", "all unused")])


# A build stage's name (`FROM … AS name`), which --target names.
BUILD_STAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


def parse_tags(text: str) -> tuple[str, ...]:
    """`-t` lines, one a line (or one alone), each cleaned to repository:tag as ImageTagForm
    does; the same tag twice is kept once."""
    tags: list[str] = []
    for number, line in _lines(text):
        if not IMAGE_REFERENCE.match(line):
            raise ValidationError(
                f"Line {number}: {line} is not an image reference: write [registry/]name[:tag], "
                "the name in lower case (letters, digits, . _ -)."
            )
        tag = "{}:{}".format(*split_reference(line))
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def parse_build_args(text: str) -> dict[str, str]:
    """`--build-arg` lines, KEY=value, read as `parse_env` reads variables."""
    build_args: dict[str, str] = {}
    for name, value in parse_env(text, where="Build argument line"):
        if name in build_args:
            raise ValidationError(f"Build argument {name} is given twice.")
        build_args[name] = value
    return build_args


class ImageBuildForm(forms.Form):
    """`docker build`, its fields named after the CLI's flags. The context is a typed
    Dockerfile, an uploaded tar (gzip allowed), or both: then the typed Dockerfile is added to
    the uploaded context (see uploads.context_with_dockerfile) and used instead of the
    context's own. Checks that the upload is a tar without reading more than its start."""

    dockerfile = forms.CharField(
        required=False, strip=False, max_length=256 * 1024, widget=forms.Textarea
    )
    context = forms.FileField(required=False)
    tag = forms.CharField(required=False, max_length=8192, widget=forms.Textarea)
    build_arg = forms.CharField(required=False, max_length=65536, widget=forms.Textarea)
    target = forms.CharField(required=False, max_length=128, strip=True)
    no_cache = forms.BooleanField(required=False)
    pull = forms.BooleanField(required=False)

    def clean_dockerfile(self) -> str:
        # Browsers send a textarea's lines ending in CRLF.
        dockerfile = self.cleaned_data["dockerfile"].replace("\r\n", "\n")
        return dockerfile if dockerfile.strip() else ""

    def clean_context(self):
        context = self.cleaned_data["context"]
        if context and (problem := uploads.tar_problem(context) or uploads.size_problem(context)):
            raise ValidationError(f"The context {context.name} cannot be used: {problem}")
        return context

    def clean_tag(self) -> tuple[str, ...]:
        return parse_tags(self.cleaned_data["tag"])

    def clean_build_arg(self) -> dict[str, str]:
        return parse_build_args(self.cleaned_data["build_arg"])

    def clean_target(self) -> str:
        target = self.cleaned_data["target"]
        if target and not BUILD_STAGE.match(target):
            raise ValidationError(
                f"{target} is not a build stage's name (FROM … AS name): letters, digits, . _ -."
            )
        return target

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not data.get("dockerfile") and not data.get("context"):
            raise ValidationError(
                "Type a Dockerfile, or upload a context: a tar (or .tar.gz) holding a Dockerfile."
            )
        return data


class ImageLoadForm(forms.Form):
    """`docker load --input <file>`: a tar written by `docker save`, gzip allowed."""

    input = forms.FileField(
        error_messages={"required": "Choose a tar file to load, as written by docker save."}
    )

    def clean_input(self):
        upload = self.cleaned_data["input"]
        if problem := uploads.tar_problem(upload) or uploads.size_problem(upload):
            raise ValidationError(f"{upload.name} cannot be loaded: {problem}")
        return upload
