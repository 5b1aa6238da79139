"""Validated user input, as the typed arguments engine functions take; a module per resource."""

from containers_app.forms.apps import (
    ApplicationAdoptForm,
    ApplicationDownForm,
    ApplicationEditForm,
    ApplicationForm,
)
from containers_app.forms.audit import AuditFilterForm, parse_time
from containers_app.forms.common import (
    CONTAINER_REF,
    NO_TEAM,
    ForceForm,
    add_team_field,
    creation_arguments,
    parse_env,
    parse_labels,
    parse_pairs,
    validate_team_slug,
)
from containers_app.forms.containers import (
    CONTAINER_SORTS,
    ContainerBulkForm,
    ContainerCommitForm,
    ContainerFilterForm,
    ContainerRecreateForm,
    ExecForm,
)
from containers_app.forms.engines import EngineAddForm, EngineGrantForm, HostKeyForm
from containers_app.forms.images import (
    ImageBuildForm,
    ImageListForm,
    ImageLoadForm,
    ImagePruneForm,
    ImagePullForm,
    ImagePushForm,
    ImageRemoveForm,
    ImageTagForm,
    parse_build_args,
    parse_tags,
)
from containers_app.forms.logs import LogsForm
from containers_app.forms.networks import NetworkCreateForm
from containers_app.forms.registries import RegistryLoginForm
from containers_app.forms.run import ContainerRunForm, parse_mounts, parse_publish, parse_volumes
from containers_app.forms.screens import EVERY_TEAM, ScreenForm
from containers_app.forms.teams import (
    MembershipForm,
    ProjectAssignForm,
    TeamCreateForm,
    TeamPolicyForm,
)
from containers_app.forms.volumes import VolumeCreateForm

__all__ = [
    "CONTAINER_REF",
    "CONTAINER_SORTS",
    "EVERY_TEAM",
    "NO_TEAM",
    "ApplicationAdoptForm",
    "ApplicationDownForm",
    "ApplicationEditForm",
    "ApplicationForm",
    "AuditFilterForm",
    "ContainerBulkForm",
    "ContainerCommitForm",
    "ContainerFilterForm",
    "ContainerRecreateForm",
    "ContainerRunForm",
    "EngineAddForm",
    "EngineGrantForm",
    "ExecForm",
    "ForceForm",
    "HostKeyForm",
    "ImageBuildForm",
    "ImageListForm",
    "ImageLoadForm",
    "ImagePruneForm",
    "ImagePullForm",
    "ImagePushForm",
    "ImageRemoveForm",
    "ImageTagForm",
    "LogsForm",
    "MembershipForm",
    "NetworkCreateForm",
    "ProjectAssignForm",
    "RegistryLoginForm",
    "ScreenForm",
    "TeamCreateForm",
    "TeamPolicyForm",
    "VolumeCreateForm",
    "add_team_field",
    "creation_arguments",
    "parse_build_args",
    "parse_env",
    "parse_labels",
    "parse_mounts",
    "parse_pairs",
    "parse_publish",
    "parse_tags",
    "parse_time",
    "parse_volumes",
    "validate_team_slug",
]
