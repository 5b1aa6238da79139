"""Team pages: the teams a user may see and their members; superusers create teams, and
superusers and each team's admins add, change and remove its members. The same changes as
`python manage.py teams`. Every signed-in user passes the route's rule (VIEW); who may do what
to one team is decided here, through access.py, from the user's role in it."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, audit, cli, policy, teams
from containers_app.forms import MembershipForm, ProjectAssignForm, TeamCreateForm, TeamPolicyForm
from containers_app.models import Team
from containers_app.views.common import actor_of, can_view

NO_SUCH_TEAM = "There is no such team, or you are not in it."
ADMINS_ONLY = "Only this team's admins (and superusers) may change its members."
SUPERUSERS_ONLY = "Only superusers may create teams."
ASSIGNERS_ONLY = "Only superusers may hand compose projects to teams."
POLICY_SUPERUSERS_ONLY = (
    "Only a superuser may change a team's policy: it binds the team, its admins included."
)


def _list_page(request: HttpRequest, form: TeamCreateForm, status: int = 200) -> HttpResponse:
    # Someone who may see a team without being in it (a superuser) sees every team.
    every = access.may_see_team(request.user, None)
    context = {
        "teams": teams.team_rows(request.user, every=every),
        "every": every,
        "can_create": access.may_create_team(request.user),
        "form": form,
        "command": cli.team_list(),
        "create_command": cli.team_create("SLUG", "NAME"),
    }
    return render(request, "teams/list.html", context, status=status)


def _visible_team(request: HttpRequest, slug: str) -> tuple[Team, str | None]:
    """The team and the user's role in it. A 404 for anyone who may not see it, whether or not
    it exists, so that team names do not leak."""
    team = Team.objects.filter(slug=slug).first()
    role = teams.role_in(request.user, team) if team else None
    if team is None or not access.may_see_team(request.user, role):
        raise Http404(NO_SUCH_TEAM)
    return team, role


def _managed_team(
    request: HttpRequest,
    slug: str,
    *,
    action: str,
    command: str,
    refusal: str = ADMINS_ONLY,
    may=access.may_manage_team,
) -> tuple[Team, str | None]:
    """The team, if the user may manage its members (and policy). Otherwise the attempt is
    audited as refused, and answered 404 (not in the team: it must not learn the team exists)
    or 403 with `refusal` (in it without the admin role). `command`: the line the attempt
    stood for."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404(NO_SUCH_TEAM)
    role = teams.role_in(request.user, team)
    if may(request.user, role):
        return team, role
    seen = access.may_see_team(request.user, role)
    audit.team_change(
        user=request.user,
        action=action,
        team=team.slug,
        command=command,
        error=refusal if seen else "not a member of this team",
        denied=True,
    )
    if seen:
        raise PermissionDenied(refusal)
    raise Http404(NO_SUCH_TEAM)


def _detail_page(
    request: HttpRequest,
    team: Team,
    role: str | None,
    form: MembershipForm,
    *,
    status: int = 200,
    error: str = "",
    project_form: ProjectAssignForm | None = None,
    policy_form: TeamPolicyForm | None = None,
) -> HttpResponse:
    members = [
        {
            "username": m.user.get_username(),
            "role": m.role,
            "since": m.created,
            "you": m.user_id == request.user.pk,
            "remove_command": cli.team_remove(team.slug, m.user.get_username()),
        }
        for m in teams.members_of(team)
    ]
    context = {
        "team": team,
        "role": role,
        "members": members,
        "can_manage": access.may_manage_team(request.user, role),
        "roles": access.ROLES,
        "form": form,
        "error": error,
        "command": cli.team_list(),
        "add_command": cli.team_add(team.slug, "USERNAME", "ROLE"),
        "projects": [
            {
                "name": assigned.project,
                "engine": assigned.engine,
                "remove_command": cli.team_unassign(assigned.project, assigned.engine),
            }
            for assigned in teams.assignments_of(team)
        ],
        "can_assign": access.allowed(actor_of(request), access.ASSIGN),
        "project_form": project_form or ProjectAssignForm(),
        "assign_command": cli.team_assign(team.slug, "PROJECT"),
        "policy_lines": policy.describe(team),
        "can_set_policy": access.may_set_team_policy(request.user),
        "policy_form": policy_form or TeamPolicyForm(initial=TeamPolicyForm.initial_of(team)),
    }
    return render(request, "teams/detail.html", context, status=status)


@can_view
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, TeamCreateForm())


@can_view
@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    if not access.may_create_team(request.user):
        slug, name = request.POST.get("slug", "")[:63], request.POST.get("name", "")[:150]
        audit.team_change(
            user=request.user,
            action="team create",
            team=slug,
            command=cli.team_create(slug, name),
            error=SUPERUSERS_ONLY,
            denied=True,
        )
        raise PermissionDenied(SUPERUSERS_ONLY)
    form = TeamCreateForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    try:
        team = teams.team_create(by=request.user, **form.cleaned_data)
    except teams.TeamExists as error:
        form.add_error("slug", str(error))
        return _list_page(request, form, status=409)
    command = cli.team_create(team.slug, team.name)
    messages.success(request, f"Created team {team.slug}: {command}")
    return redirect("teams:detail", slug=team.slug)


@can_view
@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team, role = _visible_team(request, slug)
    return _detail_page(request, team, role, MembershipForm())


@can_view
@require_POST
def team_member_set(request: HttpRequest, slug: str) -> HttpResponse:
    asked = cli.team_add(
        slug, request.POST.get("username", "")[:150], request.POST.get("role", "")[:16]
    )
    team, role = _managed_team(request, slug, action="team add", command=asked)
    form = MembershipForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, team, role, form, status=400)
    user, new_role = form.cleaned_data["user"], form.cleaned_data["role"]
    try:
        before = teams.member_set(
            by=request.user,
            team=team,
            user=user,
            role=new_role,
            may_leave_without_admin=access.may_leave_team_without_admin(request.user),
        )
    except teams.LastAdmin as error:
        return _detail_page(request, team, role, form, status=409, error=str(error))
    username = user.get_username()
    command = cli.team_add(team.slug, username, new_role)
    if before is None:
        messages.success(request, f"Added {username} to {team.slug} as {new_role}: {command}")
    elif before == new_role:
        messages.info(request, f"{username} is {new_role} in {team.slug} already.")
    else:
        messages.success(request, f"{username} is now {new_role} (was {before}): {command}")
    return redirect("teams:detail", slug=team.slug)


@can_view
@require_POST
def team_member_remove(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    team, role = _managed_team(
        request, slug, action="team remove", command=cli.team_remove(slug, username)
    )
    users = get_user_model()
    user = users._default_manager.filter(**{users.USERNAME_FIELD: username}).first()
    if user is None:
        raise Http404(f"{username} is not a member of {team.slug}.")
    try:
        removed_role = teams.member_remove(
            by=request.user,
            team=team,
            user=user,
            may_leave_without_admin=access.may_leave_team_without_admin(request.user),
        )
    except teams.NotMember as error:
        raise Http404(str(error)) from error
    except teams.LastAdmin as error:
        return _detail_page(request, team, role, MembershipForm(), status=409, error=str(error))
    command = cli.team_remove(team.slug, username)
    messages.success(request, f"Removed {username} ({removed_role}) from {team.slug}: {command}")
    # Someone who removed themselves may no longer see the team's page.
    still_sees = access.may_see_team(request.user, None if user == request.user else role)
    return redirect("teams:detail", slug=team.slug) if still_sees else redirect("teams:list")


def _assigning_team(request: HttpRequest, slug: str, *, action: str, command: str) -> Team:
    """The team, if the user may hand compose projects to it (superusers). Otherwise the
    attempt is audited as refused and answered 403 to its members, 404 to anyone else."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404(NO_SUCH_TEAM)
    if access.allowed(actor_of(request), access.ASSIGN):
        return team
    seen = access.may_see_team(request.user, teams.role_in(request.user, team))
    audit.team_change(
        user=request.user,
        action=action,
        team=team.slug,
        command=command,
        error=ASSIGNERS_ONLY if seen else "not a member of this team",
        denied=True,
    )
    if seen:
        raise PermissionDenied(ASSIGNERS_ONLY)
    raise Http404(NO_SUCH_TEAM)


@can_view
@require_POST
def team_project_assign(request: HttpRequest, slug: str) -> HttpResponse:
    asked = cli.team_assign(slug, request.POST.get("project", "")[:255])
    team = _assigning_team(request, slug, action="team assign", command=asked)
    form = ProjectAssignForm(request.POST)
    if not form.is_valid():
        role = teams.role_in(request.user, team)
        return _detail_page(request, team, role, MembershipForm(), status=400, project_form=form)
    project, engine = form.cleaned_data["project"], form.cleaned_data["engine"]
    was = teams.project_assign(by=request.user, engine=engine, team=team, project=project)
    command = cli.team_assign(team.slug, project, engine.slug)
    taken = f" (was {was}'s)" if was else ""
    messages.success(request, f"Compose project {project} is {team.slug}'s now{taken}: {command}")
    return redirect("teams:detail", slug=team.slug)


@can_view
@require_POST
def team_project_unassign(request: HttpRequest, slug: str, project: str) -> HttpResponse:
    form = ProjectAssignForm({"project": project, "engine": request.POST.get("engine", "")})
    command = cli.team_unassign(project, request.POST.get("engine", "")[:63])
    team = _assigning_team(request, slug, action="team unassign", command=command)
    engine = form.cleaned_data["engine"] if form.is_valid() else None
    if engine is None or project not in teams.projects_of(team, engine):
        raise Http404(f"Compose project {project} is not {team.slug}'s.")
    teams.project_unassign(by=request.user, engine=engine, project=project)
    messages.success(request, f"Compose project {project} is no longer {team.slug}'s: {command}")
    return redirect("teams:detail", slug=team.slug)


@can_view
@require_POST
def team_policy_set(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's policy (policy.py), set by superusers; the team's members read it."""
    team, role = _managed_team(
        request,
        slug,
        action="team policy",
        command=f"team policy {slug}",
        refusal=POLICY_SUPERUSERS_ONLY,
        may=lambda user, role: access.may_set_team_policy(user),
    )
    form = TeamPolicyForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, team, role, MembershipForm(), status=400, policy_form=form)
    before = policy.Policy.of(team)
    for field, value in form.settings().items():
        setattr(team, field, value)
    team.save(update_fields=list(form.settings()))
    line = policy.change_line(before, policy.Policy.of(team))
    audit.team_change(user=request.user, action="team policy", team=team.slug, command=line)
    messages.success(request, f"Saved the policy of {team.slug}: {line}")
    return redirect("teams:detail", slug=team.slug)
