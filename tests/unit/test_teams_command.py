"""`python manage.py teams`: creating teams and giving users roles from a shell, its errors,
and the audit entries it leaves."""

import io

import pytest
from django.core.management import CommandError, call_command

from containers_app.management.commands.teams import Command
from containers_app.models import AuditEntry, Membership, ProjectAssignment, Team


def teams(*args: str) -> tuple[str, str]:
    """Runs `manage.py teams <args>`; its standard output and error."""
    out, err = io.StringIO(), io.StringIO()
    call_command("teams", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(username="bob")


@pytest.fixture
def dev(db) -> Team:
    return Team.objects.create(slug="dev", name="Developers")


def role_of(user, team: Team) -> str | None:
    return Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()


# Creating teams


def test_it_creates_a_team_named_after_its_slug(db):
    out, _ = teams("create", "dev")

    team = Team.objects.get(slug="dev")
    assert team.name == "dev"
    assert "Created team dev" in out


def test_it_creates_a_team_with_a_name_and_audits_it_as_the_shell(db):
    teams("create", "web-2", "--name", "Web team")

    assert Team.objects.get(slug="web-2").name == "Web team"
    entry = AuditEntry.objects.get()
    assert (entry.user, entry.username) == (None, "(shell)")
    assert (entry.action, entry.target, entry.team) == ("team create", "web-2", "web-2")
    assert entry.command == "python manage.py teams create web-2 --name 'Web team'"
    assert entry.succeeded is True
    assert entry.denied is False


@pytest.mark.parametrize(
    ("slug", "why"),
    [
        ("Dev", "lower-case"),
        ("dev team", "lower-case"),
        ("dev!", "lower-case"),
        ("dév", "lower-case"),
        ("a" * 64, "at most 63"),
        ("", "required"),
    ],
)
def test_it_refuses_a_slug_that_is_not_a_lower_case_slug_of_63_characters_at_most(db, slug, why):
    with pytest.raises(CommandError, match=why):
        teams("create", slug)

    assert not Team.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_slug_of_63_characters_is_accepted(db):
    teams("create", "a" * 63)

    assert Team.objects.filter(slug="a" * 63).exists()


def test_it_refuses_a_team_that_exists_already_and_records_the_failure(dev):
    with pytest.raises(CommandError, match="A team dev exists already"):
        teams("create", "dev", "--name", "Other")

    assert Team.objects.get().name == "Developers"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.team, entry.succeeded) == ("team create", "dev", False)


def test_it_refuses_a_name_on_more_than_one_line(db):
    with pytest.raises(CommandError, match="one line"):
        teams("create", "dev", "--name", "Dev\tteam")

    assert not Team.objects.exists()


# Adding and changing members


def test_it_adds_a_user_with_a_role_and_audits_it(dev, alice):
    out, _ = teams("add", "dev", "alice", "--role", "operator")

    assert role_of(alice, dev) == "operator"
    assert "Added alice to dev as operator" in out
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.target, entry.team) == (
        "(shell)",
        "team add",
        "dev",
        "dev",
    )
    assert entry.command == "python manage.py teams add dev alice --role operator"
    assert entry.succeeded is True


def test_adding_a_member_again_changes_their_role(dev, alice):
    teams("add", "dev", "alice", "--role", "viewer")

    out, _ = teams("add", "dev", "alice", "--role", "admin")

    assert role_of(alice, dev) == "admin"
    assert Membership.objects.filter(user=alice).count() == 1
    assert "now admin in dev (was viewer)" in out
    assert AuditEntry.objects.filter(action="team add").count() == 2


@pytest.mark.parametrize("role", ["owner", "Admin", ""])
def test_it_refuses_an_unknown_role(dev, alice, role):
    with pytest.raises(CommandError, match="invalid choice"):
        teams("add", "dev", "alice", "--role", role)

    assert role_of(alice, dev) is None


def test_a_role_must_be_given(dev, alice):
    with pytest.raises(CommandError, match="--role"):
        teams("add", "dev", "alice")

    assert role_of(alice, dev) is None


def test_it_refuses_an_unknown_user(dev):
    with pytest.raises(CommandError, match="no user named carol"):
        teams("add", "dev", "carol", "--role", "viewer")

    assert not Membership.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_unknown_team(alice):
    with pytest.raises(CommandError, match="There is no team ops"):
        teams("add", "ops", "alice", "--role", "viewer")

    assert not Membership.objects.exists()


def test_it_names_a_bad_slug_as_such_rather_than_as_an_unknown_team(alice):
    with pytest.raises(CommandError, match="not a team slug"):
        teams("add", "Dev", "alice", "--role", "viewer")


# Removing members


def test_it_removes_a_member_and_audits_it(dev, alice, bob):
    Membership.objects.create(team=dev, user=alice, role="admin")
    Membership.objects.create(team=dev, user=bob, role="viewer")

    out, err = teams("remove", "dev", "bob")

    assert role_of(bob, dev) is None
    assert role_of(alice, dev) == "admin"
    assert "Removed bob (viewer) from dev" in out
    assert err == ""
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target, entry.team) == ("team remove", "dev", "dev")
    assert entry.command == "python manage.py teams remove dev bob"


def test_it_refuses_to_remove_someone_who_is_not_a_member(dev, alice):
    with pytest.raises(CommandError, match="alice is not a member of dev"):
        teams("remove", "dev", "alice")

    assert not AuditEntry.objects.exists()


def test_it_refuses_to_remove_an_unknown_user_or_from_an_unknown_team(dev, alice):
    with pytest.raises(CommandError, match="no user named carol"):
        teams("remove", "dev", "carol")
    with pytest.raises(CommandError, match="There is no team ops"):
        teams("remove", "ops", "alice")


def test_the_shell_may_remove_a_team_s_last_admin_and_says_so(dev, alice, bob):
    Membership.objects.create(team=dev, user=alice, role="admin")
    Membership.objects.create(team=dev, user=bob, role="operator")

    _, err = teams("remove", "dev", "alice")

    assert role_of(alice, dev) is None
    assert "dev has no admin now" in err


def test_the_shell_may_demote_a_team_s_last_admin_and_says_so(dev, alice):
    Membership.objects.create(team=dev, user=alice, role="admin")

    _, err = teams("add", "dev", "alice", "--role", "viewer")

    assert role_of(alice, dev) == "viewer"
    assert "dev has no admin now" in err


# Listing


def test_it_lists_each_team_on_a_line_in_slug_order_with_members_in_name_order(db, alice, bob):
    ops = Team.objects.create(slug="ops", name="Operations")
    dev = Team.objects.create(slug="dev", name="Developers")
    Team.objects.create(slug="empty", name="empty")
    Membership.objects.create(team=dev, user=bob, role="viewer")
    Membership.objects.create(team=dev, user=alice, role="admin")
    Membership.objects.create(team=ops, user=bob, role="operator")

    out, _ = teams("list")

    assert out.splitlines() == [
        "dev\tDevelopers\talice:admin bob:viewer",
        "empty\tempty\t(no members)",
        "ops\tOperations\tbob:operator",
    ]
    assert not AuditEntry.objects.exists()


def test_listing_no_teams_prints_nothing(db):
    assert teams("list") == ("", "")


# From a real command line: the exit status a provisioning script sees


def test_an_error_exits_with_status_1_and_says_why(db, capsys):
    # Last in the test: run_from_argv closes the database connection when it ends.
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "teams", "create", "Dev"])

    assert exited.value.code == 1
    assert "not a team slug" in capsys.readouterr().err


def test_a_bad_role_exits_with_argparse_s_status_2(db, capsys):
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "teams", "add", "dev", "alice", "--role", "boss"])

    assert exited.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


# Compose projects


def test_it_assigns_a_compose_project_to_a_team_and_audits_it(dev):
    out, _ = teams("assign", "dev", "shop")

    assert out == "Compose project shop is dev's now.\n"
    assignment = ProjectAssignment.objects.get()
    assert (assignment.project, assignment.team) == ("shop", dev)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.team, entry.command) == (
        "team assign",
        "dev",
        "python manage.py teams assign dev shop",
    )


def test_assigning_a_project_again_moves_it_and_says_from_whom(dev):
    ops = Team.objects.create(slug="ops", name="ops")
    teams("assign", "dev", "shop")

    out, _ = teams("assign", "ops", "shop")

    assert out == "Compose project shop is ops's now (was dev's).\n"
    assert ProjectAssignment.objects.get().team == ops


def test_it_unassigns_a_project_and_refuses_one_that_is_not_assigned(dev):
    teams("assign", "dev", "shop")

    out, _ = teams("unassign", "shop")

    assert out == "Compose project shop is no longer dev's.\n"
    assert not ProjectAssignment.objects.exists()
    with pytest.raises(CommandError, match="Compose project shop is not assigned to any team"):
        teams("unassign", "shop")


@pytest.mark.parametrize("project", ["Shop", "_shop", "sh op", "shop!"])
def test_it_refuses_a_name_compose_would_not_give_a_project(dev, project):
    with pytest.raises(CommandError, match="lower-case letters, digits, - and _ only"):
        teams("assign", "dev", project)
    assert not ProjectAssignment.objects.exists()
