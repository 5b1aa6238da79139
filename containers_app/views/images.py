"""Image pages: `docker images`, `docker image inspect` with `docker history`, `docker rmi`,
`docker tag`, `docker image prune`, `docker save`; `docker pull` and `docker push`, which
run as jobs (see jobs.py) and answer with the job's page."""

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, cli, credentials, job_work, jobs, masking
from containers_app.engine import NotFound
from containers_app.engine import images as engine_images
from containers_app.engine.convert import short_id
from containers_app.forms import (
    ImageListForm,
    ImagePruneForm,
    ImagePullForm,
    ImagePushForm,
    ImageRemoveForm,
    ImageTagForm,
)
from containers_app.streams.downloads import StreamedBody
from containers_app.views.common import action_done, can_change, can_view, engine_for, render_list
from containers_app.views.errors import bad_request


@can_view
@require_GET
def image_list(request: HttpRequest) -> HttpResponse:
    form = ImageListForm(request.GET)
    dangling = form.is_valid() and form.cleaned_data["dangling"]
    images = engine_images.image_list(engine=engine_for(request), dangling=dangling)
    context = {
        "images": images,
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
    image = engine_images.image_inspect(engine=engine_for(request), image_id=ref)
    if not access.allowed(request.user, access.SEE_SECRETS):
        image = masking.masked_image(image)
    context = {
        "image": image,
        "inspect_command": cli.inspect("image", image.short_id),
        "history_command": cli.image_history(image.short_id),
        "remove_command": cli.image_remove([image.short_id]),
        "force_remove_command": cli.image_remove([image.short_id], force=True),
        "untag_commands": [(tag, cli.image_remove([tag])) for tag in image.tags],
        "tag_command": cli.image_tag(image.short_id, "<repository>:<tag>"),
        "save_command": cli.image_save(image.short_id),
    }
    return render(request, "images/detail.html", context)


@can_change
@require_POST
def image_remove(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker rmi [-f] <id>`; with `tag` posted, `docker rmi <tag>` untags just that one."""
    form = ImageRemoveForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    force, tag = form.cleaned_data["force"], form.cleaned_data["tag"]
    engine = engine_for(request)
    if tag and not engine_images.image_has_tag(engine=engine, image_id=ref, tag=tag):
        form.add_error("tag", f"{tag} is not a tag of image {ref}.")
        return bad_request(request, form)
    reference = tag or ref
    command = cli.image_remove([reference], force=force)
    effects = actions.perform(
        request,
        engine=engine,
        action="rmi",
        target=reference,
        command=command,
        call=lambda: engine_images.image_remove(engine=engine, reference=reference, force=force),
    )
    summary = ", ".join(effects[:4]) + (f" and {len(effects) - 4} more" if len(effects) > 4 else "")
    untagged_only = all(e.startswith("Untagged") for e in effects)
    fallback = (
        reverse("images:detail", args=[ref]) if tag and untagged_only else reverse("images:list")
    )
    return action_done(request, message=f"{command}: {summary}", fallback=fallback)


@can_change
@require_POST
def image_tag(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker tag <id> <target>`; a target without a tag means `:latest`, as the CLI does."""
    form = ImageTagForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    engine = engine_for(request)
    target, repository, tag = (form.cleaned_data[k] for k in ("target", "repository", "tag"))
    command = cli.image_tag(short_id(ref), target)
    actions.perform(
        request,
        engine=engine,
        action="tag",
        target=target,
        command=command,
        call=lambda: engine_images.image_tag(
            engine=engine, image_id=ref, repository=repository, tag=tag
        ),
    )
    return action_done(
        request, message=f"Tagged: {command}", fallback=reverse("images:detail", args=[ref])
    )


@can_change
@require_POST
def image_prune(request: HttpRequest) -> HttpResponse:
    """`docker image prune [-a]`, with the space it gave back."""
    form = ImagePruneForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    engine = engine_for(request)
    every = form.cleaned_data["all"] == "1"
    command = cli.image_prune(all=every)
    result = actions.perform(
        request,
        engine=engine,
        action="image prune",
        target="unused images" if every else "dangling images",
        command=command,
        call=lambda: engine_images.image_prune(engine=engine, all=every),
    )
    removed = sum(line.startswith("Deleted") for line in result.removed)
    message = (
        f"{command}: removed {removed} image layer{'s' * (removed != 1)}, "
        f"reclaimed {filesizeformat(result.reclaimed)}."
    )
    return action_done(request, message=message, fallback=reverse("images:list"))


@can_change
@require_GET
def image_save(request: HttpRequest, ref: str) -> StreamingHttpResponse:
    """`docker save <id>`: the image as a tar, streamed as the engine writes it. Staff only,
    like a terminal: the layers hold whatever the image holds, secrets included."""
    stream = engine_images.image_save(engine=engine_for(request), image_id=ref)
    response = StreamingHttpResponse(StreamedBody(stream), content_type="application/x-tar")
    response["Content-Disposition"] = f'attachment; filename="{short_id(ref)}.tar"'
    return response


def _pull_page(request: HttpRequest, form: ImagePullForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "command": cli.image_pull("<name>[:tag]")}
    return render(request, "images/pull.html", context, status=status)


@can_change
@require_GET
def image_pull_form(request: HttpRequest) -> HttpResponse:
    return _pull_page(request, ImagePullForm(initial=request.GET.dict()))


@can_change
@require_POST
def image_pull(request: HttpRequest) -> HttpResponse:
    """`docker pull` as a job, with the user's login to that registry if they stored one. A
    pull of an image already being pulled joins it: reloading never starts a second one."""
    form = ImagePullForm(request.POST)
    if not form.is_valid():
        return _pull_page(request, form, status=400)
    reference, repository, tag = (form.cleaned_data[k] for k in ("reference", "repository", "tag"))
    job = start_pull(request, reference=reference, repository=repository, tag=tag)
    return redirect("jobs:detail", job_id=job.pk)


def start_pull(request: HttpRequest, *, reference: str, repository: str, tag: str):
    engine = engine_for(request)
    return jobs.start(
        user=request.user,
        engine=engine,
        kind="pull",
        target=reference,
        command=cli.image_pull(reference),
        work=job_work.pull(
            engine=engine,
            repository=repository,
            tag=tag,
            auth=credentials.registry_auth(request.user, reference),
        ),
        key=(engine, "pull", reference),
    )


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
    try:
        tagged = engine_images.image_has_tag(engine=engine, image_id=ref, tag=reference)
    except NotFound:
        tagged = False
    if not tagged:
        actions.perform(
            request,
            engine=engine,
            action="tag",
            target=reference,
            command=cli.image_tag(short_id(ref), reference),
            call=lambda: engine_images.image_tag(
                engine=engine, image_id=ref, repository=repository, tag=tag
            ),
        )
    job = jobs.start(
        user=request.user,
        engine=engine,
        kind="push",
        target=reference,
        command=cli.image_push(reference),
        work=job_work.push(
            engine=engine,
            repository=repository,
            tag=tag,
            auth=credentials.registry_auth(request.user, reference),
        ),
        key=(engine, "push", reference),
    )
    return redirect("jobs:detail", job_id=job.pk)
