"""Image pages: `docker images`, `docker image inspect` with `docker history`, `docker rmi`,
`docker tag`, `docker image prune`, `docker save`; `docker pull`, `docker push`,
`docker build` and `docker load`, which run as jobs (see jobs.py) and answer with the job's
page.

Images are the host's, shared by every team: everyone signed in sees them; a team's admin
adds them (pull, build, load, tag, push) and removes one that no other team's container uses;
a superuser prunes them."""

import dataclasses
import functools

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_POST

from containers_app import (
    access,
    actions,
    cli,
    credentials,
    dockerfiles,
    image_origins,
    job_work,
    masking,
    policy,
    rules,
    team_networks,
    teams,
    uploads,
)
from containers_app.engine import Engine, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.find import Found
from containers_app.forms import (
    ImageBuildForm,
    ImageListForm,
    ImageLoadForm,
    ImagePruneForm,
    ImagePullForm,
    ImagePushForm,
    ImageRemoveForm,
    ImageTagForm,
)
from containers_app.models import Team
from containers_app.rows import image_rows
from containers_app.streams.downloads import StreamedBody
from containers_app.views.common import (
    action_done,
    actor_of,
    can_change,
    can_view,
    engine_for,
    engine_url,
    refused,
    render_list,
    typed,
)
from containers_app.views.errors import bad_request
from containers_app.views.objects import found as found_object
from containers_app.views.objects import found_to_change, image_with_users

# Any image, for what does not depend on which: adding one (pull, build, load, tag, push) is
# for the admins of some team, pruning for superusers.
ANY_IMAGE = access.Target(access.IMAGE)
ADD_REFUSED = "Only a team's admins may pull, build, load, tag or push images."
SAVE_REFUSED = (
    "Only the teams that made or brought an image may save it: its layers hold whatever it "
    "holds, secrets included."
)


def _may(request: HttpRequest, action: str, target: access.Target = ANY_IMAGE) -> bool:
    return access.allowed(actor_of(request), action, target)


def _check_adding(request: HttpRequest, *, engine: Engine, action: str, target: str, command: str):
    """A 403, recorded as denied, unless the actor may add images to the host."""
    actions.check(
        request,
        engine=engine,
        needs=access.ADMINISTER,
        on=ANY_IMAGE,
        action=action,
        target=target,
        command=command,
    )


def _offer_adding(request: HttpRequest) -> None:
    """A form page (pull, build, load) is a 403 to whoever may not send it."""
    if not _may(request, access.ADMINISTER):
        raise refused(request, ADD_REFUSED)


@can_view
@require_GET
def image_list(request: HttpRequest) -> HttpResponse:
    form = ImageListForm(request.GET)
    dangling = form.is_valid() and form.cleaned_data["dangling"]
    engine = engine_for(request)
    images = engine_images.image_list(engine=engine, dangling=dangling)
    actor = actor_of(request)
    context = {
        "images": image_rows(
            images,
            actor=actor,
            containers=engine_containers.container_list(engine=engine, all=True),
        ),
        "actor": actor,
        "may_add": access.allowed(actor, access.ADMINISTER, ANY_IMAGE),
        "may_prune": access.allowed(actor, access.PRUNE, ANY_IMAGE),
        "dangling": dangling,
        "command": cli.image_list(dangling=dangling),
        "total_size": sum(i.size for i in images),
        "prune_command": cli.image_prune(),
        "prune_all_command": cli.image_prune(all=True),
    }
    return render_list(request, "images/list.html", "images/_rows.html", context)


@can_view
@require_GET
def image_detail(request: HttpRequest, ref: str) -> HttpResponse:
    actor = actor_of(request)
    found = image_with_users(request, found_object(request, access.IMAGE, ref))
    engine, image, target = found.engine, found.obj, found.target
    may_see_secrets = access.allowed(actor, access.SEE_SECRETS, target)
    if not may_see_secrets:
        # Another team's image: every value is theirs; an image nobody recorded: its
        # secret-looking values are masked for all but superusers.
        foreign = bool(target.made_by) and not target.made_by & set(actor.roles)
        image = masking.masked_image(image, everything=foreign)
    # Every team sees the image, but only the containers using it that they may see.
    users = engine_containers.container_list(engine=engine, ancestor=image.id)
    seen = {c.name for c in access.visible(actor, access.CONTAINER, users)}
    shown = tuple(name for name in image.containers if name in seen)
    context = {
        "image": dataclasses.replace(image, containers=shown),
        "other_users": len(image.containers) - len(shown),
        "actor": actor,
        "may_add": access.allowed(actor, access.ADMINISTER, ANY_IMAGE),
        "may_remove": access.allowed(actor, access.ADMINISTER, target),
        "may_save": may_see_secrets,
        # `docker run` of it: for the admins of some team (views/run.py checks which).
        "may_run": access.allowed(actor, access.ADMINISTER),
        "inspect_command": cli.inspect("image", image.short_id),
        "history_command": cli.image_history(image.short_id),
        "remove_command": cli.image_remove([image.short_id]),
        "force_remove_command": cli.image_remove([image.short_id], force=True),
        "untag_commands": [(tag, cli.image_remove([tag])) for tag in image.tags],
        "tag_command": cli.image_tag(image.short_id, "<repository>:<tag>"),
        "save_command": cli.image_save(image.short_id, image.tags),
    }
    return render(request, "images/detail.html", context)


@can_change
@require_POST
def image_remove(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker rmi [-f] <id>`; with `tag` posted, `docker rmi <tag>` untags just that one.
    A team's admin may do either only while no container of another team (or of no team)
    uses the image; a superuser always."""
    form = ImageRemoveForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    force, tag = form.cleaned_data["force"], form.cleaned_data["tag"]
    image = image_with_users(request, found_to_change(request, access.IMAGE, ref, action="rmi"))
    engine = image.engine
    if tag and not engine_images.image_has_tag(engine=engine, image_id=image.id, tag=tag):
        form.add_error("tag", f"{tag} is not a tag of image {image.short_id}.")
        return bad_request(request, form)
    command = cli.image_remove([tag or image.short_id], force=force)
    _refuse_removal_in_use(request, image=image, command=command)
    # An untag names the tag checked above; a removal, the image checked, by its full id.
    effects = actions.perform(
        request,
        on=image,
        needs=access.ADMINISTER,
        action="rmi",
        command=command,
        call=lambda full_id: engine_images.image_remove(
            engine=engine, reference=tag or full_id, force=force
        ),
    )
    summary = ", ".join(effects[:4]) + (f" and {len(effects) - 4} more" if len(effects) > 4 else "")
    untagged_only = all(e.startswith("Untagged") for e in effects)
    fallback = (
        engine_url(request, "images:detail", image.id)
        if tag and untagged_only
        else engine_url(request, "images:list")
    )
    return action_done(request, message=f"{typed(request, command)}: {summary}", fallback=fallback)


def _refuse_removal_in_use(request: HttpRequest, *, image: Found, command: str) -> None:
    """A 403, recorded as denied, saying why, to a team's admin removing an image that a
    container of another team, or of no team, uses. Those containers are not named: the
    actor may not know them. Anyone else is left to actions.perform's own refusal."""
    actor, on = actor_of(request), image.target
    if access.allowed(actor, access.ADMINISTER, on) or not access.allowed(
        actor, access.ADMINISTER, ANY_IMAGE
    ):
        return
    others = on.used_by - set(access.teams_for(actor, access.ADMINISTER))
    whose = " and by a container of ".join(
        [*(["another team"] if others - {""} else []), *(["no team"] if "" in others else [])]
    )
    who_may = (
        "only a superuser may remove it"
        if "" in others
        else "only a superuser, or an admin of every team whose containers use it, may remove it"
    )
    reason = f"Image {image.label} is used by a container of {whose}: {who_may}."
    refusal = actions.denied(
        request,
        engine=image.engine,
        action="rmi",
        command=command,
        team=access.owner(actor, on) or "",
        reason=reason,
        on=image,
    )
    raise PermissionDenied(refusal.reason)


@can_change
@require_POST
def image_tag(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker tag <id> <target>`; a target without a tag means `:latest`, as the CLI does."""
    form = ImageTagForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    image = found_to_change(request, access.IMAGE, ref, action="tag")
    target, repository, tag = (form.cleaned_data[k] for k in ("target", "repository", "tag"))
    command = _tag(request, image, target=target, repository=repository, tag=tag)
    return action_done(
        request,
        message=f"Tagged: {typed(request, command)}",
        fallback=engine_url(request, "images:detail", image.id),
    )


def _tag(request: HttpRequest, image: Found, *, target: str, repository: str, tag: str) -> str:
    """`docker tag <image> <target>` of the image found, by its full id; its command line."""
    command = cli.image_tag(image.short_id, target)
    _refuse_takeover(
        request, image.engine, [target], new_image=image.id, action="tag", command=command
    )
    actions.perform_new(
        request,
        engine=image.engine,
        needs=access.ADMINISTER,
        on=ANY_IMAGE,
        action="tag",
        target=target,
        object_id=image.id,
        command=command,
        call=lambda: engine_images.image_tag(
            engine=image.engine, image_id=image.id, repository=repository, tag=tag
        ),
    )
    return command


@can_change
@require_POST
def image_prune(request: HttpRequest) -> HttpResponse:
    """`docker image prune [-a]`, with the space it gave back. A superuser's alone: it
    removes every team's unused images."""
    form = ImagePruneForm(request.POST)
    valid = form.is_valid()
    engine = engine_for(request)
    every = valid and form.cleaned_data["all"] == "1"
    command = cli.image_prune(all=every)
    prune = {
        "engine": engine,
        "needs": access.PRUNE,
        "on": ANY_IMAGE,
        "action": "image prune",
        "target": "unused images" if every else "dangling images",
        "command": command,
    }
    # Refused whatever was sent: what others may not do, they need not get right first.
    actions.check(request, **prune)
    if not valid:
        return bad_request(request, form)
    result = actions.perform_new(
        request,
        **prune,
        call=lambda: engine_images.image_prune(engine=engine, all=every),
    )
    removed = sum(line.startswith("Deleted") for line in result.removed)
    message = (
        f"{typed(request, command)}: removed {removed} image layer{'s' * (removed != 1)}, "
        f"reclaimed {filesizeformat(result.reclaimed)}."
    )
    return action_done(request, message=message, fallback=engine_url(request, "images:list"))


@can_change
@require_GET
def image_save(request: HttpRequest, ref: str) -> StreamingHttpResponse:
    """`docker save <id>`: the image as a tar, streamed as the engine writes it. Only for
    those who may see its secrets: the layers hold whatever the image holds."""
    image = found_object(request, access.IMAGE, ref)
    if not _may(request, access.SEE_SECRETS, image.target):
        raise refused(request, SAVE_REFUSED)
    stream = engine_images.image_save(engine=image.engine, image_id=image.id)
    response = StreamingHttpResponse(StreamedBody(stream), content_type="application/x-tar")
    response["Content-Disposition"] = f'attachment; filename="{image.short_id}.tar"'
    return response


def _refuse_takeover(
    request: HttpRequest,
    engine: Engine,
    names: list[str],
    *,
    new_image: str | None = None,
    action: str,
    command: str,
) -> None:
    """A 403, recorded as denied, if a name the request would point at a new image is the
    image name of another team's container, or of one of no team (rules.name_takeover)."""
    actor = actor_of(request)
    reasons = image_origins.name_refusals(actor, engine, names, new_image=new_image)
    if not actor.superuser and names:
        policies = teams.policies_of(origin_teams(request))
        reasons += [r for r in [policy.repository_refusal(policies, names)] if r]
    actions.refuse_if(
        request,
        reasons,
        engine=engine,
        action=action,
        command=command,
        target=", ".join(names),
        team=(access.teams_for(actor, access.ADMINISTER) or [""])[0],
    )


def refuse_registry(
    request: HttpRequest,
    *,
    server: str,
    teams_of: list[str],
    action: str,
    command: str,
    engine: Engine | None = None,
) -> None:
    """A 403, recorded as denied, if none of the teams the user acts for (`teams_of`) may
    reach the registry `server` (policy.registry_refusal); superusers reach any. `engine`:
    the one the registry would be reached through, if not the page's."""
    actor = actor_of(request)
    if actor.superuser:
        return
    reason = policy.registry_refusal(teams.policies_of(teams_of), server)
    actions.refuse_if(
        request,
        [reason] if reason else [],
        engine=engine or engine_for(request),
        action=action,
        command=command,
        target=server,
        team=(teams_of or [""])[0],
    )


def _refuse_dockerfile(
    request: HttpRequest,
    engine: Engine,
    text: str,
    spec: engine_images.BuildSpec,
    *,
    command: str,
    target: str,
) -> None:
    """A 403, recorded as denied, for a Dockerfile a team's admin may not build
    (rules.build_refusals): read after its build args and ARG defaults are substituted."""
    actor = actor_of(request)
    if actor.superuser:
        return
    found = dockerfiles.instructions(text, spec.build_args)
    bases = {
        image: engine_images.image_triggers(engine=engine, reference=image)
        for image in dockerfiles.base_images(found)
    }
    reasons = rules.build_refusals(
        actor,
        labels=dockerfiles.labels(found),
        remote_sources=dockerfiles.remote_sources(found),
        bases_missing=[image for image, triggers in bases.items() if triggers is None],
        bases_with_triggers=[image for image, triggers in bases.items() if triggers],
    )
    actions.refuse_if(
        request,
        reasons,
        engine=engine,
        action="build",
        command=command,
        target=target,
        team=(access.teams_for(actor, access.ADMINISTER) or [""])[0],
    )


def origin_teams(request: HttpRequest) -> list[str]:
    """The teams an image the user pulls, builds or loads is recorded for: those they are an
    admin of; a superuser of no team, "" (no team)."""
    actor = actor_of(request)
    return access.teams_for(actor, access.ADMINISTER) or ([""] if actor.superuser else [])


def _pull_page(request: HttpRequest, form: ImagePullForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "command": cli.image_pull("NAME:TAG")}
    return render(request, "images/pull.html", context, status=status)


@can_change
@require_GET
def image_pull_form(request: HttpRequest) -> HttpResponse:
    _offer_adding(request)
    return _pull_page(request, ImagePullForm(initial=request.GET.dict()))


@can_change
@require_POST
def image_pull(request: HttpRequest) -> HttpResponse:
    """`docker pull` as a job, with the user's login to that registry if they stored one. A
    pull of an image already being pulled joins it: reloading never starts a second one."""
    form = ImagePullForm(request.POST)
    if not form.is_valid():
        return _pull_page(request, form, status=400)
    reference = form.cleaned_data["reference"]
    _check_adding(
        request,
        engine=engine_for(request),
        action="pull",
        target=reference,
        command=cli.image_pull(reference),
    )
    return _transfer(request, "pull", form)


def _transfer(request: HttpRequest, kind: str, form: ImagePullForm) -> HttpResponse:
    """Starts a pull or push of the form's reference as a job, with the user's own login to
    its registry, and answers with the job's page. One of the same reference already running
    is joined instead of started again. The caller has checked that the actor may."""
    engine = engine_for(request)
    reference, repository, tag = (form.cleaned_data[k] for k in ("reference", "repository", "tag"))
    refuse_registry(
        request,
        server=credentials.server_of(reference),
        teams_of=origin_teams(request),
        action=kind,
        command=(cli.image_pull if kind == "pull" else cli.image_push)(reference),
    )
    work, command = {
        "pull": (functools.partial(job_work.pull, teams=origin_teams(request)), cli.image_pull),
        "push": (job_work.push, cli.image_push),
    }[kind]
    job = actions.perform_job(
        request,
        on=ANY_IMAGE,
        needs=access.ADMINISTER,
        engine=engine,
        kind=kind,
        target=reference,
        command=command(reference),
        work=work(
            engine=engine,
            repository=repository,
            tag=tag,
            auth=credentials.registry_auth(request.user, reference),
        ),
        # Joined only by the same user: another's pull runs with their own login.
        key=(engine, kind, reference, request.user.pk),
    )
    return redirect("jobs:detail", job_id=job.pk)


@can_change
@require_POST
def image_push(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker push <reference>` as a job. A reference that is not yet a tag of this image
    is tagged first (`docker tag`), as one would before pushing."""
    form = ImagePushForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    engine = engine_for(request)
    reference, repository, tag = (form.cleaned_data[k] for k in ("reference", "repository", "tag"))
    _check_adding(
        request, engine=engine, action="push", target=reference, command=cli.image_push(reference)
    )
    refuse_registry(
        request,
        server=credentials.server_of(reference),
        teams_of=origin_teams(request),
        action="push",
        command=cli.image_push(reference),
    )
    image = found_object(request, access.IMAGE, ref)
    try:
        tagged = engine_images.image_has_tag(engine=engine, image_id=image.id, tag=reference)
    except NotFound:
        tagged = False
    if not tagged:
        _tag(request, image, target=reference, repository=repository, tag=tag)
    return _transfer(request, "push", form)


def _build_page(request: HttpRequest, form: ImageBuildForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "command": cli.image_build(tags=["NAME:TAG"])}
    return render(request, "images/build.html", context, status=status)


@can_change
@require_GET
def image_build_form(request: HttpRequest) -> HttpResponse:
    _offer_adding(request)
    return _build_page(request, ImageBuildForm())


@can_change
@require_POST
def image_build(request: HttpRequest) -> HttpResponse:
    """`docker build` as a job, from a typed Dockerfile, an uploaded context, or both. The
    FROM lines pull with the user's own stored logins. The command line masks the values of
    secret-looking build args: it is kept in the audit trail."""
    form = ImageBuildForm(request.POST, request.FILES)
    if not form.is_valid():
        return _build_page(request, form, status=400)
    data = form.cleaned_data
    upload, dockerfile = data["context"], data["dockerfile"]
    spec = engine_images.BuildSpec(
        tags=data["tag"],
        build_args=data["build_arg"],
        target=data["target"],
        no_cache=data["no_cache"],
        pull=data["pull"],
    )
    command = cli.image_build(
        tags=spec.tags,
        build_args=spec.build_args,
        target=spec.target,
        no_cache=spec.no_cache,
        pull=spec.pull,
        force_rm=spec.force_rm,
        context=upload.name if upload else "",
        dockerfile=bool(dockerfile),
    )
    engine = engine_for(request)
    target = spec.tags[0] if spec.tags else "image"
    # Before the context is put together: a refused build leaves no file behind.
    _check_adding(request, engine=engine, action="build", target=target, command=command)
    _refuse_takeover(request, engine, list(spec.tags), action="build", command=command)
    spec = _within_team(engine, spec, origin_teams(request))
    try:
        context, dockerfile_name = uploads.build_context(upload=upload, dockerfile=dockerfile)
    except uploads.Unreadable as error:
        form.add_error("context", f"{upload.name}: {error}")
        return _build_page(request, form, status=400)
    try:
        with uploads.discarded_on_error(context):
            text = dockerfile or uploads.dockerfile_in(context, dockerfile_name)
            _refuse_dockerfile(request, engine, text, spec, command=command, target=target)
    except uploads.Unreadable as error:
        form.add_error("context", f"{upload.name}: {error}")
        return _build_page(request, form, status=400)
    spec = dataclasses.replace(spec, dockerfile=dockerfile_name)
    job = _start_sending(
        request,
        context,
        engine=engine,
        kind="build",
        target=target,
        command=command,
        work=job_work.build(
            engine=engine,
            spec=spec,
            context=context,
            auth=credentials.registry_auths(request.user),
            teams=origin_teams(request),
        ),
    )
    return redirect("jobs:detail", job_id=job.pk)


def _within_team(
    engine: Engine, spec: engine_images.BuildSpec, builders: list[str]
) -> engine_images.BuildSpec:
    """`spec` as a build for `builders` (the user's teams) runs: its RUN steps within their
    strictest memory and CPU caps, on the first one's own network (as its containers run, not
    beside every team's on the engine's default bridge)."""
    memory, nano_cpus = policy.build_caps(Team.objects.filter(slug__in=builders))
    first = builders[0] if builders else ""
    network = team_networks.team_network(engine=engine, team=first) if first else ""
    return dataclasses.replace(spec, memory=memory, nano_cpus=nano_cpus, network=network)


def _load_page(request: HttpRequest, form: ImageLoadForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "command": cli.image_load("<file>.tar")}
    return render(request, "images/load.html", context, status=status)


@can_change
@require_GET
def image_load_form(request: HttpRequest) -> HttpResponse:
    _offer_adding(request)
    return _load_page(request, ImageLoadForm())


@can_change
@require_POST
def image_load(request: HttpRequest) -> HttpResponse:
    """`docker load --input <file>` as a job: the uploaded tar, sent as it is read."""
    form = ImageLoadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _load_page(request, form, status=400)
    upload = form.cleaned_data["input"]
    engine = engine_for(request)
    command = cli.image_load(upload.name)
    _check_adding(request, engine=engine, action="load", target=upload.name, command=command)
    tar = uploads.taken(upload)
    try:
        with uploads.discarded_on_error(tar):
            # The names it would take, read from its manifest before the engine gets it.
            names = uploads.image_names(tar)
            _refuse_takeover(request, engine, names, action="load", command=command)
    except uploads.Unreadable as error:
        form.add_error("input", f"{upload.name}: {error}.")
        return _load_page(request, form, status=400)
    job = _start_sending(
        request,
        tar,
        engine=engine,
        kind="load",
        target=upload.name,
        command=command,
        work=job_work.load(engine=engine, tar=tar, teams=origin_teams(request)),
    )
    return redirect("jobs:detail", job_id=job.pk)


def _start_sending(request: HttpRequest, payload: uploads.Payload, **job):
    """Starts a job that sends `payload`, which the job deletes when it ends (or here, if it
    could not start)."""
    return actions.perform_job(
        request, on=ANY_IMAGE, needs=access.ADMINISTER, cleanup=payload.discard, **job
    )
