"""The team pages: superusers create teams, superusers and each team's admins manage its
members, everyone else in a team only looks, and those outside it cannot tell it exists."""

import pytest
from django.test import Client

from containers_app.models import AuditEntry, Membership, ProjectAssignment, Team
from tests.conftest import unique
from tests.engine.markup import data_ids, page, row, shows


@pytest.fixture
def team(db):
    """Makes a team with a prefixed random slug."""

    def make(name: str = "") -> Team:
        slug = unique("team")
        return Team.objects.create(slug=slug, name=name or slug)

    return make


@pytest.fixture
def person(django_user_model):
    """A signed-in client for a new user, with a role in each team given: person(dev="admin")."""

    def make(*, superuser: bool = False, staff: bool = False, **roles: str):
        user = django_user_model.objects.create_user(
            username=unique("user"), is_staff=staff or superuser, is_superuser=superuser
        )
        for slug, role in roles.items():
            Membership.objects.create(team=Team.objects.get(slug=slug), user=user, role=role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


def member(team: Team, user, role: str) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def role_of(user, team: Team) -> str | None:
    return Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()


def add(client: Client, team: Team, username: str, role: str):
    return client.post(f"/teams/{team.slug}/members/", {"username": username, "role": role})


def remove(client: Client, team: Team, username: str):
    return client.post(f"/teams/{team.slug}/members/{username}/remove/")


def main(response) -> str:
    """What a page says, without what differs between any two responses (the CSRF token)."""
    return page(response).partition("<main>")[2]


# A superuser creates teams and adds members


def test_a_superuser_creates_a_team_and_lands_on_its_page(admin_client, admin_user):
    slug = unique("team")

    response = admin_client.post("/teams/", {"slug": slug, "name": "Web developers"})

    assert response.status_code == 302, page(response)
    assert response["Location"] == f"/teams/{slug}/"
    assert Team.objects.get(slug=slug).name == "Web developers"
    entry = AuditEntry.objects.get(action="team create")
    assert (entry.user, entry.username) == (admin_user, admin_user.username)
    assert (entry.target, entry.team, entry.succeeded) == (slug, slug, True)
    assert entry.command == f"python manage.py teams create {slug} --name 'Web developers'"
    followed = admin_client.get(response["Location"])
    assert shows(followed, f"Created team {slug}")
    assert shows(followed, "Web developers")


def test_a_superuser_adds_members_with_their_roles(admin_client, team, django_user_model):
    dev = team()
    alice = django_user_model.objects.create_user(username=unique("alice"))
    bob = django_user_model.objects.create_user(username=unique("bob"))

    first = add(admin_client, dev, alice.username, "admin")
    second = add(admin_client, dev, bob.username, "operator")

    assert (first.status_code, second.status_code) == (302, 302)
    assert (role_of(alice, dev), role_of(bob, dev)) == ("admin", "operator")
    shown = admin_client.get(f"/teams/{dev.slug}/")
    assert data_ids(shown) == sorted([alice.username, bob.username])
    assert "operator" in row(shown, bob.username)
    commands = set(AuditEntry.objects.filter(action="team add").values_list("command", flat=True))
    assert commands == {
        f"python manage.py teams add {dev.slug} {alice.username} --role admin",
        f"python manage.py teams add {dev.slug} {bob.username} --role operator",
    }


def test_a_superuser_sees_every_team_with_its_number_of_members(admin_client, team, person):
    dev, ops = team(), team()
    person(**{dev.slug: "admin"})
    person(**{dev.slug: "viewer"})

    response = admin_client.get("/teams/")

    assert response.status_code == 200
    assert {dev.slug, ops.slug} <= set(data_ids(response))
    assert "<td>2</td>" in row(response, dev.slug)
    assert "<td>0</td>" in row(response, ops.slug)
    assert 'id="team-create"' in page(response)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"slug": "Dev", "name": "x"}, "not a team slug"),
        ({"slug": "a" * 64}, "at most 63"),
        ({"slug": ""}, "required"),
        ({"name": "not a valid name!", "target": "NOT VALID"}, "required"),
    ],
)
def test_a_bad_slug_is_a_400_naming_the_problem(admin_client, db, body, why):
    before = Team.objects.count()

    response = admin_client.post("/teams/", body)

    assert response.status_code == 400
    assert why in page(response)
    assert Team.objects.count() == before


def test_a_team_that_exists_already_is_a_409(admin_client, team):
    dev = team("Developers")

    response = admin_client.post("/teams/", {"slug": dev.slug, "name": "Other"})

    assert response.status_code == 409
    assert shows(response, f"A team {dev.slug} exists already.")
    assert Team.objects.get(slug=dev.slug).name == "Developers"


def test_staff_who_are_not_superusers_may_not_create_teams(staff_client, staff_user, db):
    slug = unique("team")

    response = staff_client.post("/teams/", {"slug": slug})

    assert response.status_code == 403
    assert not Team.objects.filter(slug=slug).exists()
    entry = AuditEntry.objects.get(action="team create")
    assert (entry.user, entry.team, entry.succeeded, entry.denied) == (
        staff_user,
        slug,
        False,
        True,
    )


# Members see their own teams


def test_a_user_sees_only_the_teams_they_are_in_with_their_role(team, person):
    dev, ops, hidden = team(), team(), team()
    client = person(**{dev.slug: "operator", ops.slug: "viewer"})

    response = client.get("/teams/")

    assert response.status_code == 200
    assert set(data_ids(response)) == {dev.slug, ops.slug}
    assert "operator" in row(response, dev.slug)
    assert hidden.slug not in page(response)
    assert 'id="team-create"' not in page(response)


def test_a_user_in_no_team_is_told_how_to_join_one(person):
    response = person().get("/teams/")

    assert response.status_code == 200
    assert data_ids(response) == []
    assert "You are not in any team" in page(response)


def test_the_navigation_links_to_the_teams(viewer_client):
    assert 'href="/teams/"' in page(viewer_client.get("/containers/"))


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_member_sees_the_team_s_members_without_the_forms_to_change_them(team, person, role):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    client = person(**{dev.slug: role})

    response = client.get(f"/teams/{dev.slug}/")

    assert response.status_code == 200
    assert set(data_ids(response)) == {admin.user.username, client.user.username}
    assert 'id="member-add"' not in page(response)
    assert "/remove/" not in page(response)


def test_a_team_s_page_is_a_404_to_those_outside_it_as_if_it_did_not_exist(
    team, person, staff_client
):
    dev = team("Secret project")
    outsider = person(**{team().slug: "admin"})

    for client in (outsider, staff_client):
        existing = client.get(f"/teams/{dev.slug}/")
        missing = client.get(f"/teams/{unique('team')}/")
        assert (existing.status_code, missing.status_code) == (404, 404)
        assert main(existing) == main(missing)
        assert "Secret project" not in page(existing)


def test_team_names_are_shown_escaped(admin_client, team):
    dev = team('<script>alert("x")</script>')

    response = admin_client.get(f"/teams/{dev.slug}/")

    assert "<script>alert" not in page(response)
    assert shows(response, '<script>alert("x")</script>')


# A team's admin manages its members


def test_a_team_admin_adds_changes_and_removes_members_of_their_team(
    team, person, django_user_model
):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    carol = django_user_model.objects.create_user(username=unique("carol"))

    added = add(admin, dev, carol.username, "viewer")
    assert added.status_code == 302
    assert role_of(carol, dev) == "viewer"

    changed = add(admin, dev, carol.username, "operator")
    assert changed.status_code == 302
    assert role_of(carol, dev) == "operator"
    assert shows(admin.get(changed["Location"]), "is now operator (was viewer)")

    removed = remove(admin, dev, carol.username)
    assert removed.status_code == 302
    assert removed["Location"] == f"/teams/{dev.slug}/"
    assert role_of(carol, dev) is None

    entries = AuditEntry.objects.filter(team=dev.slug).order_by("pk")
    assert [(e.action, e.username, e.target, e.succeeded) for e in entries] == [
        ("team add", admin.user.username, dev.slug, True),
        ("team add", admin.user.username, dev.slug, True),
        ("team remove", admin.user.username, dev.slug, True),
    ]
    assert entries.last().command == f"python manage.py teams remove {dev.slug} {carol.username}"


def test_a_team_admin_sees_the_forms_to_manage_members(team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})

    response = admin.get(f"/teams/{dev.slug}/")

    assert 'id="member-add"' in page(response)
    assert f"/teams/{dev.slug}/members/{admin.user.username}/remove/" in page(response)


def test_a_team_admin_may_not_manage_another_team_which_stays_hidden(
    team, person, django_user_model
):
    dev, ops = team(), team()
    admin = person(**{dev.slug: "admin"})
    ops_member = django_user_model.objects.create_user(username=unique("ops"))
    member(ops, ops_member, "viewer")

    added = add(admin, ops, admin.user.username, "admin")
    removed = remove(admin, ops, ops_member.username)

    assert (added.status_code, removed.status_code) == (404, 404)
    assert role_of(admin.user, ops) is None
    assert role_of(ops_member, ops) == "viewer"
    refused = AuditEntry.objects.filter(team=ops.slug)
    assert [(e.action, e.succeeded, e.denied) for e in refused.order_by("pk")] == [
        ("team add", False, True),
        ("team remove", False, True),
    ]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_a_member_who_is_not_its_admin_may_not_manage_the_team(
    team, person, django_user_model, role
):
    dev = team()
    client = person(**{dev.slug: role})
    other = django_user_model.objects.create_user(username=unique("other"))
    member(dev, other, "viewer")

    added = add(client, dev, client.user.username, "admin")
    removed = remove(client, dev, other.username)

    assert (added.status_code, removed.status_code) == (403, 403)
    assert role_of(client.user, dev) == role
    assert role_of(other, dev) == "viewer"
    assert AuditEntry.objects.filter(team=dev.slug, denied=True).count() == 2


def test_an_unknown_username_is_a_400_on_the_form(team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    before = Membership.objects.count()

    response = add(admin, dev, "nobody-" + unique(), "viewer")

    assert response.status_code == 400
    assert "There is no user named nobody-" in page(response)
    assert Membership.objects.count() == before


@pytest.mark.parametrize("body", [{"username": "x", "role": "owner"}, {"role": "viewer"}, {}])
def test_a_bad_role_or_no_username_is_a_400(team, person, body):
    dev = team()
    admin = person(**{dev.slug: "admin"})

    response = admin.post(f"/teams/{dev.slug}/members/", body)

    assert response.status_code == 400
    assert role_of(admin.user, dev) == "admin"


def test_removing_someone_who_is_not_a_member_is_a_404(team, person, viewer_user):
    dev = team()
    admin = person(**{dev.slug: "admin"})

    assert remove(admin, dev, viewer_user.username).status_code == 404
    assert remove(admin, dev, "nobody-" + unique()).status_code == 404


def test_nothing_changes_on_a_get(team, person, django_user_model):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    other = django_user_model.objects.create_user(username=unique("other"))
    member(dev, other, "viewer")

    asked = admin.get(f"/teams/{dev.slug}/members/", {"username": other.username, "role": "admin"})
    removing = admin.get(f"/teams/{dev.slug}/members/{other.username}/remove/")

    assert (asked.status_code, removing.status_code) == (405, 405)
    assert role_of(other, dev) == "viewer"


# The last admin


def test_a_team_admin_may_not_demote_or_remove_the_team_s_last_admin(team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})

    demoted = add(admin, dev, admin.user.username, "operator")
    removed = remove(admin, dev, admin.user.username)

    for response in (demoted, removed):
        assert response.status_code == 409
        assert shows(response, f"{admin.user.username} is the last admin of {dev.slug}")
    assert role_of(admin.user, dev) == "admin"
    refused = AuditEntry.objects.filter(team=dev.slug).order_by("pk")
    assert [(e.action, e.succeeded, e.denied) for e in refused] == [
        ("team add", False, True),
        ("team remove", False, True),
    ]


def test_a_team_admin_may_step_down_when_another_admin_remains(team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    person(**{dev.slug: "admin"})

    demoted = add(admin, dev, admin.user.username, "viewer")

    assert demoted.status_code == 302
    assert role_of(admin.user, dev) == "viewer"


def test_a_team_admin_who_removes_themselves_goes_back_to_the_list(team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})
    person(**{dev.slug: "admin"})

    response = remove(admin, dev, admin.user.username)

    assert response.status_code == 302
    assert response["Location"] == "/teams/"
    assert role_of(admin.user, dev) is None
    assert admin.get(f"/teams/{dev.slug}/").status_code == 404


def test_a_superuser_may_remove_a_team_s_last_admin(admin_client, team, person):
    dev = team()
    admin = person(**{dev.slug: "admin"})

    response = remove(admin_client, dev, admin.user.username)

    assert response.status_code == 302
    assert role_of(admin.user, dev) is None
    assert AuditEntry.objects.get(team=dev.slug).succeeded is True


# Django's admin


def test_the_admin_shows_a_team_with_its_members_inline(admin_client, team, person):
    dev = team("Developers")
    admin = person(**{dev.slug: "admin"})

    listed = admin_client.get("/admin/containers_app/team/")
    edited = admin_client.get(f"/admin/containers_app/team/{dev.pk}/change/")

    assert listed.status_code == 200
    assert dev.slug in page(listed)
    assert edited.status_code == 200
    assert "memberships-TOTAL_FORMS" in page(edited)
    assert str(admin.user.pk) in page(edited)


def test_the_admin_refuses_a_slug_the_pages_would_refuse(admin_client, db):
    response = admin_client.post(
        "/admin/containers_app/team/add/",
        {
            "slug": "Dev",
            "name": "Developers",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "not a team slug" in page(response)
    assert not Team.objects.filter(slug__iexact="dev").exists()


# Compose projects: a superuser hands them to teams


def test_a_superuser_hands_a_compose_project_to_a_team_whose_members_then_see_its_containers(
    admin_client, team, person, make
):
    dev = team()
    project = unique("proj")
    container = make.container(team=None, labels={"com.docker.compose.project": project})
    viewer = person(**{dev.slug: "viewer"})
    assert viewer.get(f"/containers/{container['Id']}/").status_code == 404

    response = admin_client.post(f"/teams/{dev.slug}/projects/", {"project": project})

    assert response.status_code == 302
    assert shows(admin_client.get(response["Location"]), f"Compose project {project} is")
    assert viewer.get(f"/containers/{container['Id']}/").status_code == 200
    assert project in page(viewer.get(f"/teams/{dev.slug}/"))
    entry = AuditEntry.objects.get(action="team assign")
    assert (entry.team, entry.command) == (
        dev.slug,
        f"python manage.py teams assign {dev.slug} {project}",
    )


def test_taking_a_project_back_hides_its_containers_from_the_team_again(
    admin_client, team, person, make
):
    dev = team()
    project = unique("proj")
    container = make.container(team=None, labels={"com.docker.compose.project": project})
    viewer = person(**{dev.slug: "viewer"})
    admin_client.post(f"/teams/{dev.slug}/projects/", {"project": project})

    response = admin_client.post(f"/teams/{dev.slug}/projects/{project}/remove/")

    assert response.status_code == 302
    assert viewer.get(f"/containers/{container['Id']}/").status_code == 404
    assert AuditEntry.objects.filter(action="team unassign", team=dev.slug).exists()


def test_a_team_admin_may_not_hand_projects_to_their_team_and_others_do_not_learn_it_exists(
    team, person
):
    dev = team()
    admin, stranger = person(**{dev.slug: "admin"}), person()

    refused = admin.post(f"/teams/{dev.slug}/projects/", {"project": "shop"})
    hidden = stranger.post(f"/teams/{dev.slug}/projects/", {"project": "shop"})

    assert refused.status_code == 403
    assert shows(refused, "Only superusers may hand compose projects to teams.")
    assert hidden.status_code == 404
    assert not ProjectAssignment.objects.exists()
    assert AuditEntry.objects.filter(action="team assign", denied=True).count() == 2


def test_a_project_name_compose_would_not_give_is_refused_on_the_page(admin_client, team):
    dev = team()

    response = admin_client.post(f"/teams/{dev.slug}/projects/", {"project": "Not A Project"})

    assert response.status_code == 400
    assert shows(response, "lower-case letters, digits, - and _ only")
    assert not ProjectAssignment.objects.exists()
