"""A wall screen in a real browser: opened by its link (made with `manage.py screens create`,
as a provisioning script would), its tiles kept live by the engine's events and stats, and
closed when it is revoked."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.conftest import manage, new_page, remote_engines
from tests.conftest import OTHER_TEAM, TEST_IMAGE, unique, wait_on_condition
from tests.served import Server

pytestmark = pytest.mark.browser

# Exits at once on SIGTERM, so `docker stop` takes no ten-second grace period.
QUICK_TO_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
# Some work, so its CPU sparkline has something to draw.
BUSY = [
    "sh",
    "-c",
    "trap 'exit 0' TERM; while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done;"
    " sleep 0.2; done & wait",
]
PROJECT_LABEL = "com.docker.compose.project"
# What a tile shows for a figure it has none of (a stopped container's CPU).
NO_FIGURE = "\N{EN DASH}"


def wall_team(server: Server) -> str:
    """A team of the test's own in the served Berth: its screen shows only what the test
    made, whatever other tests run on the same engine."""
    slug = unique("wall")
    manage(server, "teams", "create", slug)
    return slug


def screen_link(server: Server, team: str, *options: str) -> tuple[str, str]:
    """A new screen of `team` (with `options` of `screens create`): its name and link, as
    `manage.py screens create` prints it."""
    name = unique("screen")
    made = manage(
        server, "screens", "create", name, "--team", team, "--base-url", server.url, *options
    )
    link = re.search(rf"{re.escape(server.url)}/screens/[A-Za-z0-9_-]{{43}}/", made.stdout)
    assert link, made.stdout
    return name, link[0]


def tile_id(container_id: str, engine: str = settings.BERTH_DEFAULT_ENGINE) -> str:
    return f"tile-{engine}-{container_id}"


def tile(page: Page, container_id: str):
    return page.locator(f"#{tile_id(container_id)}")


def test_a_wall_screen_updates_live_when_a_container_stops(page, server, make, screenshots_dir):
    team = wall_team(server)
    shop = {PROJECT_LABEL: unique("shop").replace("-", "")}
    web = make.container(command=BUSY, name=unique("web"), labels=shop, team=team)
    worker = make.container(command=QUICK_TO_STOP, name=unique("worker"), labels=shop, team=team)
    loose = make.container(command=QUICK_TO_STOP, name=unique("cron"), team=team)
    failed = make.container(command=["sh", "-c", "exit 3"], name=unique("migrate"), team=team)
    make.api.wait(failed["Id"], timeout=30)
    theirs = make.container(command=QUICK_TO_STOP, labels=shop, team=OTHER_TEAM)
    _, link = screen_link(server, team)

    page.goto(link)

    # Sent on to an address without the token.
    page.wait_for_url(f"{server.url}/screen/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in page.url
    expect(page.locator("#link-state")).to_have_text("live")
    expect(page.locator("article.tile")).to_have_count(4)
    expect(tile(page, theirs["Id"])).to_have_count(0)
    # The failed one first, in its group, which comes first, marked as a problem in words.
    broken = tile(page, failed["Id"])
    expect(broken).to_have_class(re.compile(r"\bproblem\b"))
    expect(broken.locator(".problem-text")).to_have_text("failed")
    groups = page.locator("section.group")
    expect(groups.locator("h2")).to_have_text(["no compose project", shop[PROJECT_LABEL]])
    expect(groups.first.locator("article.tile").first).to_have_id(tile_id(failed["Id"]))
    expect(groups.first.locator(f"#{tile_id(loose['Id'])}")).to_have_count(1)
    # Stats arrive and the sparklines draw, at a fixed number of points at most.
    busy = tile(page, web["Id"])
    expect(busy.locator(".spark.cpu .value")).to_have_text(re.compile(r"%$"))
    expect(busy.locator(".spark.mem .value")).to_have_text(re.compile(r"B$"))
    points = busy.locator(".spark.cpu polyline")
    wait_on_condition(lambda: len(points.get_attribute("points").split()) >= 10, timeout=30)
    page.screenshot(path=screenshots_dir / "screen-wall-live.png")

    # Stopped behind the page's back: the tile changes without a reload.
    page.evaluate("window.notReloaded = true")
    make.api.stop(worker["Id"], timeout=5)

    stopped = tile(page, worker["Id"])
    expect(stopped.locator(".state")).to_have_text("exited (0)")
    expect(stopped).to_have_class(re.compile(r"\bstate-exited\b"))
    expect(stopped.locator(".uptime")).to_have_text(re.compile(r"^stopped \d+ s ago$"))
    expect(stopped.locator(".spark.cpu .value")).to_have_text(NO_FIGURE)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("article.tile")).to_have_count(4)
    # Within its group, the running one now comes before the stopped one.
    expect(groups.nth(1).locator("article.tile").first).to_have_id(tile_id(web["Id"]))

    # A container that fails while watched turns into a problem, and its group moves first.
    make.api.kill(web["Id"], signal="KILL")
    expect(busy).to_have_class(re.compile(r"\bproblem\b"))
    expect(busy.locator(".problem-text")).to_have_text("failed")
    expect(groups.locator("h2")).to_have_text([shop[PROJECT_LABEL], "no compose project"])
    expect(page.locator("#problems")).to_have_text("2")
    expect(page.locator("article.tile")).to_have_count(4)
    # As a wall's television shows it.
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.screenshot(path=screenshots_dir / "screen-wall.png")


def test_a_revoked_screen_empties_itself_and_says_so(page, server, make, console):
    team = wall_team(server)
    container = make.container(command=QUICK_TO_STOP, team=team)
    name, link = screen_link(server, team)
    page.goto(link)
    expect(tile(page, container["Id"])).to_be_visible()
    expect(page.locator("#link-state")).to_have_text("live")

    manage(server, "screens", "revoke", name)

    expect(page.locator("#alert")).to_contain_text("revoked or replaced")
    expect(page.locator("article.tile")).to_have_count(0)
    console.expect(r"status of 404 .*/screen/")
    page.reload()
    expect(page.locator("h1")).to_have_text("This screen link is not valid")


def test_a_link_opened_from_another_site_still_reaches_the_wall(page, server, make):
    team = wall_team(server)
    container = make.container(command=QUICK_TO_STOP, team=team)
    _, link = screen_link(server, team)
    # A chat or mail page on another site, with the link in it.
    page.route(
        "http://chat.example/**",
        lambda route: route.fulfill(
            content_type="text/html", body=f'<a id="wall" href="{link}">our wall</a>'
        ),
    )
    page.goto("http://chat.example/room")

    page.click("#wall")

    page.wait_for_url(f"{server.url}/screen/")
    expect(tile(page, container["Id"])).to_be_visible()
    expect(page.locator("#link-state")).to_have_text("live")


def test_a_wall_that_loses_its_connection_says_so_and_comes_back_by_itself(
    page, server, make, screenshots_dir
):
    team = wall_team(server)
    container = make.container(command=QUICK_TO_STOP, team=team)
    _, link = screen_link(server, team)
    opened = []

    def through(socket) -> None:
        opened.append((socket, socket.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/screen/$"), through)
    page.goto(link)
    expect(page.locator("#link-state")).to_have_text("live")

    # The server goes away (a restart, a proxy's timeout): both ends of the socket close.
    socket, upstream = opened[-1]
    upstream.close(code=1001)
    socket.close(code=1001)

    expect(page.locator("body")).to_have_class(re.compile(r"\bdisconnected\b"))
    expect(page.locator("#link-state")).to_have_text(re.compile(r"^disconnected · retrying in"))
    expect(page.locator("#alert")).to_contain_text("Disconnected from Berth")
    expect(tile(page, container["Id"])).to_be_visible()  # what was last known stays
    page.screenshot(path=screenshots_dir / "screen-disconnected.png")
    # Back by itself, on a new socket that works.
    expect(page.locator("#link-state")).to_have_text("live")
    assert len(opened) == 2
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bdisconnected\b"))
    expect(page.locator("#alert")).to_be_hidden()
    make.api.stop(container["Id"], timeout=5)
    expect(tile(page, container["Id"]).locator(".state")).to_have_text("exited (0)")


def test_a_screen_made_on_the_screens_page_opens_from_its_link(
    signed_in, server, make, browser, console, screenshots_dir
):
    page = signed_in
    team = wall_team(server)
    container = make.container(command=QUICK_TO_STOP, team=team)
    name = unique("lobby")
    page.get_by_role("link", name="Screens").click()
    page.wait_for_url(f"{server.url}/screens/")

    form = page.locator("form#screen-create")
    if not form.is_visible():  # folded away once some screen exists
        page.locator("summary", has_text="Make a screen").click()
    page.get_by_label("Name").fill(name)
    page.locator("select#id_team").select_option(team)
    # The default engine is chosen already.
    expect(
        page.locator("fieldset.choices", has_text="Engines").get_by_role("checkbox")
    ).to_be_checked()
    form.screenshot(path=screenshots_dir / "screens-form.png")
    page.get_by_role("button", name="Make screen").click()

    shown = page.get_by_label("Screen link")
    expect(shown).to_have_value(re.compile(rf"^{re.escape(server.url)}/screens/[\w-]{{43}}/$"))
    expect(page.locator("table.screens")).to_contain_text(name)
    page.screenshot(path=screenshots_dir / "screens-page.png", full_page=True)
    link = shown.input_value()
    wall = new_page(browser, server, console)
    wall.goto(link)
    expect(wall.locator("h1")).to_have_text(name)
    expect(tile(wall, container["Id"])).to_be_visible()
    # The link is shown once: the page's next load does not hold it.
    page.goto("/screens/")
    assert link not in page.content()
    wall.context.close()


@pytest.fixture
def tls_engine(server):
    """The TLS engine ("Far host") and a dead one, registered on the served Berth."""
    with remote_engines(server, "tls", "Far host") as registered:
        yield registered.slug, registered.dead, registered.api, registered.made


def test_a_wall_of_several_engines_shows_each_one_s_tiles_and_which_is_down(
    page, server, make, tls_engine, screenshots_dir
):
    slug, dead, api, made = tls_engine
    team = wall_team(server)
    here = make.container(command=QUICK_TO_STOP, name=unique("web"), team=team)
    there = api.create_container(
        TEST_IMAGE, command=QUICK_TO_STOP, name=unique("web"), labels={"berth.team": team}
    )
    made.append(there["Id"])
    api.start(there["Id"])
    on = ["--engine", settings.BERTH_DEFAULT_ENGINE, "--engine", slug, "--engine", dead]
    _, link = screen_link(server, team, *on)

    page.goto(link)

    expect(page.locator("article.tile")).to_have_count(2)
    far = page.locator(f"#{tile_id(there['Id'], slug)}")
    expect(far).to_be_visible()
    expect(tile(page, here["Id"])).to_be_visible()
    expect(page.locator("section.group h2")).to_have_text(
        ["no compose project · Local engine", "no compose project · Far host"]
    )
    engines_shown = page.locator("#engines li")
    expect(engines_shown).to_have_text(["Local engine", "Gone host", "Far host"])
    expect(page.locator(f'#engines li[data-engine="{dead}"]')).to_have_class("down")
    expect(page.locator("#alert")).to_contain_text("Engine Gone host is unavailable")
    expect(page.locator("#link-state")).to_have_text("1 of 3 engines unavailable")
    # Stopped on the far engine: its tile changes, the other's does not.
    api.stop(there["Id"], timeout=5)
    expect(far.locator(".state")).to_have_text("exited (0)")
    expect(tile(page, here["Id"]).locator(".state")).to_have_text("running")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.screenshot(path=screenshots_dir / "screen-wall-engines.png")
