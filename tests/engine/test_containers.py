"""Container pages and actions against the private engine: `docker ps`, inspect and the buttons."""

import html
import re
import time

import pytest
from django.test import Client

from containers_app.engine.containers import ACTIONS
from containers_app.models import AuditEntry
from tests.conftest import HOME_TEAM, STOPPABLE, TEST_IMAGE, owned, unique, wait_on_condition

ROW_ID = re.compile(r'<tr id="c-([0-9a-f]{64})" data-id="\1"')


# --- helpers -------------------------------------------------------------------------------


def text(response) -> str:
    """The response body as a person reads it: entities decoded."""
    return html.unescape(response.content.decode())


def row_ids(response) -> list[str]:
    """The full ids of the rows, in the order the page shows them."""
    return ROW_ID.findall(response.content.decode())


def row(response, container_id: str) -> str:
    """The `<tr>` of one container, or "" if the page does not show it."""
    found = re.search(
        rf'<tr id="c-{container_id}".*?</tr>', response.content.decode(), flags=re.DOTALL
    )
    return html.unescape(found.group(0)) if found else ""


def state_of(docker_api, container_id: str) -> str:
    return docker_api.inspect_container(container_id)["State"]["Status"]


def gone(docker_api, container_id: str) -> bool:
    return not docker_api.containers(all=True, filters={"id": container_id})


def created_with(make, *, start: bool = True, host_config: dict | None = None, **options) -> dict:
    """A container with options `make.container` does not take (environment, working dir),
    recorded in `make` so it is force-removed afterwards like every other."""
    api = make.api
    options["labels"] = owned(options.get("labels"), options.pop("team", HOME_TEAM))
    created = api.create_container(
        TEST_IMAGE,
        name=options.pop("name", None) or unique("c"),
        host_config=api.create_host_config(**(host_config or {})),
        **options,
    )
    make.containers.append(created["Id"])
    if start:
        api.start(created["Id"])
    return api.inspect_container(created["Id"])


def one_of_each_state(make) -> dict[str, str]:
    """Container ids by state: created, running, paused and exited."""
    return {
        state: make.container(state=state, command=STOPPABLE)["Id"]
        for state in ("created", "running", "paused", "exited")
    }


def post_action(client, container_id: str, action: str, **kwargs):
    return client.post(f"/containers/{container_id}/{action}/", **kwargs)


# --- the list: docker ps -------------------------------------------------------------------


def test_it_lists_running_and_paused_containers_as_docker_ps_does(admin_client, make):
    ids = one_of_each_state(make)

    response = admin_client.get("/containers/")

    assert response.status_code == 200
    shown = row_ids(response)
    assert ids["running"] in shown
    assert ids["paused"] in shown
    assert ids["created"] not in shown
    assert ids["exited"] not in shown
    assert (
        '<code class="cli" id="list-command" title="The equivalent command">docker ps</code>'
        in (response.content.decode())
    )


def test_it_lists_containers_in_every_state_with_all_as_docker_ps_a_does(
    admin_client, make, docker_api
):
    ids = one_of_each_state(make)

    response = admin_client.get("/containers/?all=1")

    assert response.status_code == 200
    assert set(ids.values()) <= set(row_ids(response))
    for state, container_id in ids.items():
        assert state_of(docker_api, container_id) == state
        tr = row(response, container_id)
        assert f'data-state="{state}"' in tr
        assert f'<span class="badge {state}">{state}</span>' in tr
    assert "Created" in row(response, ids["created"])
    assert "(Paused)" in row(response, ids["paused"])
    assert re.search(r"</span> Exited \(\d+\) ", row(response, ids["exited"]))
    assert re.search(r"</span> Up ", row(response, ids["running"]))
    assert ">docker ps -a</code>" in text(response)


def test_the_first_response_already_holds_every_row(admin_client, make):
    ids = [make.container(command=STOPPABLE)["Id"] for _ in range(3)]

    response = admin_client.get("/containers/")

    body = response.content.decode()
    tbody = body[body.index('<tbody id="rows">') : body.index("</tbody>")]
    for container_id in ids:
        assert f'data-id="{container_id}"' in tbody
    assert 'hx-trigger="load' not in body


def test_each_row_shows_what_docker_ps_shows(admin_client, make, docker_api):
    container = make.container(
        command=["sleep", "600"],
        port_bindings={80: ("127.0.0.1",)},
        labels={"berth.test": "row"},
    )
    container_id, name = container["Id"], container["Name"].lstrip("/")
    port = docker_api.inspect_container(container_id)["NetworkSettings"]["Ports"]["80/tcp"][0][
        "HostPort"
    ]

    response = admin_client.get("/containers/")

    tr = row(response, container_id)
    assert f'data-id="{container_id}"' in tr
    assert f">{container_id[:12]}</a>" in tr
    assert re.fullmatch(r"[0-9a-f]{12}", container_id[:12])
    assert f">{TEST_IMAGE}</td>" in tr
    assert '"sleep 600"' in tr
    assert re.search(r'<td title="\d{4}-\d\d-\d\dT[^"]+">[^<]* ago</td>', tr)
    assert re.search(r"</span> Up [^<]+</td>", tr)
    assert f"127.0.0.1:{port}->80/tcp" in tr
    assert f">{name}</a>" in tr
    assert '<span class="badge running">running</span>' in tr


def test_it_filters_by_name_and_shows_the_filter_in_the_command(admin_client, make):
    base = unique("c")
    wanted = make.container(name=f"{base}-wanted", command=STOPPABLE)["Id"]
    other = make.container(name=f"{base}-other", command=STOPPABLE)["Id"]

    response = admin_client.get("/containers/", {"name": f"{base}-wanted"})

    assert response.status_code == 200
    assert row_ids(response) == [wanted]
    assert other not in row_ids(response)
    assert f">docker ps --filter name={base}-wanted</code>" in text(response)


def test_it_filters_by_state(admin_client, make):
    ids = one_of_each_state(make)

    response = admin_client.get("/containers/", {"state": "exited"})

    shown = row_ids(response)
    assert ids["exited"] in shown
    assert not {ids["created"], ids["running"], ids["paused"]} & set(shown)
    assert all('data-state="exited"' in row(response, i) for i in shown)
    assert ">docker ps --filter status=exited</code>" in text(response)


def test_it_filters_by_label_key_and_by_key_and_value(admin_client, make):
    key = f"berth.test.{unique()}"
    blue = make.container(command=STOPPABLE, labels={key: "blue"})["Id"]
    green = make.container(command=STOPPABLE, labels={key: "green"})["Id"]
    make.container(command=STOPPABLE)

    by_key = admin_client.get("/containers/", {"label": key})
    by_value = admin_client.get("/containers/", {"label": f"{key}=green", "all": "1"})

    assert sorted(row_ids(by_key)) == sorted([blue, green])
    assert f">docker ps --filter label={key}</code>" in text(by_key)
    assert row_ids(by_value) == [green]
    assert f">docker ps -a --filter label={key}=green</code>" in text(by_value)


def test_filters_combine(admin_client, make):
    base = unique("c")
    key = f"berth.test.{unique()}"
    match = make.container(name=f"{base}-a", state="exited", labels={key: "x"})["Id"]
    make.container(name=f"{base}-b", state="running", command=STOPPABLE, labels={key: "x"})
    make.container(name=f"{base}-c", state="exited")

    response = admin_client.get("/containers/", {"name": base, "state": "exited", "label": key})

    assert row_ids(response) == [match]
    assert (
        f">docker ps --filter name={base} --filter status=exited --filter label={key}</code>"
        in text(response)
    )


def test_it_sorts_by_name_both_ways(admin_client, make):
    base = unique("c")
    ids = {
        letter: make.container(name=f"{base}-{letter}", command=STOPPABLE)["Id"] for letter in "bca"
    }

    ascending = admin_client.get("/containers/", {"name": base, "sort": "name"})
    descending = admin_client.get("/containers/", {"name": base, "sort": "name", "desc": "1"})

    assert row_ids(ascending) == [ids["a"], ids["b"], ids["c"]]
    assert row_ids(descending) == [ids["c"], ids["b"], ids["a"]]


def test_it_sorts_by_created_both_ways(admin_client, make, docker_api):
    base = unique("c")
    first = make.container(name=f"{base}-c", command=STOPPABLE)["Id"]
    first_second = docker_api.containers(filters={"id": first})[0]["Created"]
    # One container a whole second later, so not every order rests on ties.
    wait_on_condition(lambda: time.time() >= first_second + 1, timeout=3, step=0.05)
    second = make.container(name=f"{base}-a", command=STOPPABLE)["Id"]
    third = make.container(name=f"{base}-b", command=STOPPABLE)["Id"]

    ascending = admin_client.get("/containers/", {"name": base, "sort": "created"})
    descending = admin_client.get("/containers/", {"name": base, "sort": "created", "desc": "1"})

    assert row_ids(ascending) == [first, second, third]
    assert row_ids(descending) == [third, second, first]


def test_the_column_headers_link_to_their_sort_and_a_second_click_reverses_it(admin_client):
    once = admin_client.get("/containers/", {"all": "1"})
    twice = admin_client.get("/containers/", {"all": "1", "sort": "name"})

    assert '<a href="?all=1&amp;sort=name">Names</a>' in once.content.decode()
    assert '<a href="?all=1&amp;sort=name&amp;desc=1">Names</a>' in twice.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "bogus"}, "Select a valid choice. bogus is not one of the available choices."),
        ({"name": "x" * 300}, "Ensure this value has at most 128 characters (it has 300)."),
        ({"label": "=oops"}, "Write a label as key or key=value."),
        ({"label": "x" * 300}, "Ensure this value has at most 256 characters (it has 300)."),
        ({"sort": "bogus"}, "Select a valid choice. bogus is not one of the available choices."),
        ({"name": "a\x00b"}, "Null characters are not allowed."),
    ],
)
def test_bad_filters_are_a_400_with_a_message(admin_client, query, message):
    response = admin_client.get("/containers/", query)

    assert response.status_code == 400
    assert message in text(response)


@pytest.mark.parametrize("query", [{"state": "bogus"}, {"name": "x" * 300}])
def test_bad_filters_from_htmx_are_a_400_whose_rows_say_why(admin_client, htmx, query):
    response = admin_client.get("/containers/", query, HTTP_HX_TARGET="rows", **htmx)

    assert response.status_code == 400
    assert response.content.decode().startswith('<tbody id="rows">')
    assert ("Select a valid choice" in text(response)) or ("at most 128" in text(response))


def test_a_name_filter_that_is_not_a_valid_pattern_is_no_server_error(admin_client, make):
    make.container(command=STOPPABLE)

    response = admin_client.get("/containers/", {"name": "[", "all": "1"})

    assert response.status_code in (200, 400)
    assert ">docker ps -a --filter 'name=['</code>" in text(response)


def test_an_htmx_request_for_the_rows_gets_only_the_rows(admin_client, make, htmx):
    base = unique("c")
    container_id = make.container(name=base, command=STOPPABLE)["Id"]

    response = admin_client.get(
        "/containers/", {"name": base, "all": "1"}, HTTP_HX_TARGET="rows", **htmx
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<tbody id="rows">')
    assert "<html" not in body
    assert "<thead>" not in body
    assert row_ids(response) == [container_id]
    # The shown command follows the filters out of band.
    assert (
        f'<code class="cli" id="list-command" hx-swap-oob="true">docker ps -a --filter name={base}'
        in body
    )
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in response.headers["Vary"].split(",")}


def test_an_htmx_request_for_another_target_gets_the_whole_page(admin_client, htmx):
    response = admin_client.get("/containers/", HTTP_HX_TARGET="main", **htmx)

    assert response.status_code == 200
    assert "<html" in response.content.decode()


# --- the detail page: docker inspect -------------------------------------------------------


def test_the_detail_page_shows_what_docker_inspect_says(admin_client, make):
    volume = make.volume()["Name"]
    network = make.network()
    container = created_with(
        make,
        command=["sleep", "600"],
        environment={"GREETING": "hello <world>", "EMPTY": ""},
        labels={"berth.test": "detail", "tier": "web & api"},
        ports=[80],
        volumes=["/data"],
        working_dir="/tmp",
        host_config={
            "binds": [f"{volume}:/data"],
            "port_bindings": {80: ("127.0.0.1",)},
            "network_mode": network["Name"],
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 3},
        },
    )
    container_id, name = container["Id"], container["Name"].lstrip("/")
    port = container["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]

    response = admin_client.get(f"/containers/{container_id}/")

    page = text(response)
    assert response.status_code == 200
    assert f"<title>{name} · Berth</title>" in page
    assert '<span class="badge running">running</span>' in page
    assert f'<dd class="mono">{container_id}</dd>' in page
    assert f">{TEST_IMAGE}</a>" in page
    assert f'href="/images/{container["Image"]}/"' in page
    assert '<dt>Command</dt><dd class="mono">sleep 600</dd>' in page
    assert '<dt>Working dir</dt><dd class="mono">/tmp</dd>' in page
    assert '<dt>Restart policy</dt><dd class="mono">on-failure:3</dd>' in page
    assert '<td class="mono">GREETING</td><td class="mono wrap">hello <world></td>' in page
    assert "hello &lt;world&gt;" in response.content.decode()
    assert '<td class="mono">EMPTY</td><td class="mono wrap"></td>' in page
    assert f'<a href="/volumes/{volume}/">{volume}</a>' in page
    assert '<td class="mono">/data</td><td>rw' in page
    assert f'<a href="/networks/{network["Id"]}/">{network["Name"]}</a>' in page
    ip = container["NetworkSettings"]["Networks"][network["Name"]]["IPAddress"]
    assert f'<td class="mono">{ip}</td>' in page
    assert f"<li>127.0.0.1:{port}->80/tcp</li>" in page
    assert '<td class="mono">tier</td><td class="mono wrap">web & api</td>' in page
    assert f"docker container inspect {name}" in page
    assert f'"Id": "{container_id}"' in page
    assert '"GREETING=hello <world>"' in page


def test_a_viewer_sees_secret_environment_values_masked_and_staff_sees_them(
    viewer_client, staff_client, make, htmx
):
    container_id = created_with(
        make, command=["sleep", "600"], environment={"DB_PASSWORD": "hunter2", "PLAIN": "visible"}
    )["Id"]
    url = f"/containers/{container_id}/"

    # With htmx too: a live page's refresh asks this view again for its content.
    for response in (viewer_client.get(url), viewer_client.get(url, **htmx)):
        assert response.status_code == 200
        assert "hunter2" not in response.content.decode()
        assert '<td class="mono">DB_PASSWORD</td><td class="mono wrap">••••••</td>' in text(
            response
        )
        assert '<td class="mono">PLAIN</td><td class="mono wrap">visible</td>' in text(response)
        assert '"DB_PASSWORD=••••••"' in text(response)
        assert '"PLAIN=visible"' in text(response)

    staff = staff_client.get(url)
    assert '<td class="mono">DB_PASSWORD</td><td class="mono wrap">hunter2</td>' in text(staff)
    assert '"DB_PASSWORD=hunter2"' in text(staff)


def test_the_detail_page_of_an_exited_container_shows_its_exit_code(admin_client, make):
    container_id = make.container(state="exited")["Id"]

    response = admin_client.get(f"/containers/{container_id}/")

    assert response.status_code == 200
    assert '<span class="badge exited">exited</span>' in text(response)
    assert "exited · exit code 137" in text(response)
    assert "<dt>Finished</dt>" in text(response)


def test_the_detail_page_is_found_by_name_and_by_short_id(admin_client, make):
    container = make.container(state="created")
    container_id, name = container["Id"], container["Name"].lstrip("/")

    by_name = admin_client.get(f"/containers/{name}/")
    by_short_id = admin_client.get(f"/containers/{container_id[:12]}/")

    for response in (by_name, by_short_id):
        assert response.status_code == 200
        assert f'<dd class="mono">{container_id}</dd>' in text(response)
        assert '<span class="badge created">created</span>' in text(response)
        assert '<dt>Restart policy</dt><dd class="mono">no</dd>' in text(response)


def test_an_unknown_container_gives_a_404_page(admin_client):
    unknown = unique("c")

    response = admin_client.get(f"/containers/{unknown}/")

    assert response.status_code == 404
    assert "404 · Not found" in text(response)
    assert f"No such container: {unknown}" in text(response)


@pytest.mark.parametrize(
    "ref", ["-leading-dash", ".hidden", "has%20space", "semi;colon", "x" * 300, "%2E%2E"]
)
def test_a_malformed_ref_is_a_404_without_asking_the_engine(admin_client, ref):
    response = admin_client.get(f"/containers/{ref}/")

    assert response.status_code == 404
    assert "404 · Not found" in text(response)


# --- actions -------------------------------------------------------------------------------

# (state before, action in the URL, state after, the docker words of the command)
TRANSITIONS = [
    ("created", "start", "running", "start"),
    ("exited", "start", "running", "start"),
    ("running", "stop", "exited", "stop"),
    ("running", "restart", "running", "restart"),
    ("running", "pause", "paused", "pause"),
    ("paused", "unpause", "running", "unpause"),
    ("running", "kill", "exited", "kill"),
]


@pytest.mark.parametrize(("before", "action", "after", "words"), TRANSITIONS)
def test_an_htmx_action_redraws_the_row_and_flashes_the_command(
    admin_client, make, docker_api, htmx, before, action, after, words
):
    container = make.container(state=before, command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    response = post_action(admin_client, container_id, action, **htmx)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith(f'<tr id="c-{container_id}" data-id="{container_id}"')
    assert f'data-state="{after}"' in row(response, container_id)
    assert f'<span class="badge {after}">{after}</span>' in row(response, container_id)
    assert '<div id="messages" hx-swap-oob="innerHTML"' in body
    assert '<div class="flash success">' in body
    assert f"docker {words} {name}</div>" in text(response)
    assert state_of(docker_api, container_id) == after
    if action == "restart":
        started = docker_api.inspect_container(container_id)["State"]["StartedAt"]
        assert started != container["State"]["StartedAt"]
    if action == "kill":
        assert docker_api.inspect_container(container_id)["State"]["ExitCode"] == 137


@pytest.mark.parametrize(
    ("before", "action", "words"),
    [("exited", "remove", "rm"), ("created", "remove", "rm"), ("running", "force-remove", "rm -f")],
)
def test_an_htmx_removal_leaves_no_row_and_flashes_the_command(
    admin_client, make, docker_api, htmx, before, action, words
):
    container = make.container(state=before, command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    response = post_action(admin_client, container_id, action, **htmx)

    assert response.status_code == 200
    assert "<tr" not in response.content.decode()
    assert f"docker {words} {name}</div>" in text(response)
    assert gone(docker_api, container_id)


@pytest.mark.parametrize(("before", "action", "after", "words"), TRANSITIONS)
def test_a_plain_form_action_redirects_to_next_with_a_message(
    admin_client, make, docker_api, before, action, after, words
):
    container = make.container(state=before, command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")
    next_url = f"/containers/{container_id}/"

    response = post_action(admin_client, container_id, action, data={"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == next_url
    assert state_of(docker_api, container_id) == after
    page = admin_client.get(next_url)
    assert f"docker {words} {name}" in text(page)
    assert f'<span class="badge {after}">{after}</span>' in text(page)
    # A message is shown once.
    assert 'class="flash' not in text(admin_client.get(next_url))


def test_a_plain_form_action_without_next_goes_to_the_detail_page(admin_client, make):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, "stop")

    assert response.status_code == 302
    assert response["Location"] == f"/containers/{container_id}/"


@pytest.mark.parametrize(
    ("before", "action", "words"),
    [("exited", "remove", "rm"), ("running", "force-remove", "rm -f")],
)
def test_a_plain_form_removal_goes_to_the_list_with_a_message(
    admin_client, make, docker_api, before, action, words
):
    container = make.container(state=before, command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    with_next = post_action(admin_client, container_id, action, data={"next": "/containers/?all=1"})

    assert with_next.status_code == 302
    assert with_next["Location"] == "/containers/?all=1"
    assert gone(docker_api, container_id)
    page = admin_client.get(with_next["Location"])
    assert '<div class="flash success">' in page.content.decode()
    assert f"docker {words} {name}" in text(page)
    assert container_id not in row_ids(page)


def test_a_plain_form_removal_without_next_goes_to_the_list(admin_client, make):
    container_id = make.container(state="exited")["Id"]

    response = post_action(admin_client, container_id, "remove")

    assert response.status_code == 302
    assert response["Location"] == "/containers/"


@pytest.mark.parametrize(
    "next_url", ["https://example.com/", "//example.com/containers/", "javascript:alert(1)"]
)
def test_a_plain_form_never_redirects_off_the_site(admin_client, make, next_url):
    container_id = make.container(state="created")["Id"]

    response = post_action(admin_client, container_id, "start", data={"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == f"/containers/{container_id}/"


def test_the_detail_page_offers_every_action_as_a_plain_form(admin_client, make):
    container = make.container(state="running", command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    page = text(admin_client.get(f"/containers/{container_id}/"))

    for action in ACTIONS:
        assert f'<form method="post" action="/containers/{container_id}/{action}/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert f'title="docker rm -f {name}"' in page
    assert '<input type="hidden" name="next" value="/containers/?all=1">' in page


def test_the_list_rows_offer_the_actions_that_fit_the_state(admin_client, make):
    ids = one_of_each_state(make)

    response = admin_client.get("/containers/?all=1")

    running, paused = row(response, ids["running"]), row(response, ids["paused"])
    exited = row(response, ids["exited"])
    assert f'hx-post="{ids["running"]}/stop/"' in running
    assert f'hx-post="{ids["running"]}/start/"' not in running
    assert f'hx-post="{ids["paused"]}/unpause/"' in paused
    assert f'hx-post="{ids["exited"]}/start/"' in exited
    for container_id in ids.values():
        assert f'hx-post="{container_id}/force-remove/"' in row(response, container_id)


def test_removing_a_running_container_without_force_is_a_409_with_the_way_out(
    admin_client, make, docker_api
):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, "remove", data={"next": "/containers/"})

    assert response.status_code == 409
    page = text(response)
    assert "409 · Conflict" in page
    assert "You cannot remove a running container" in page
    assert "use the force option" in page
    assert state_of(docker_api, container_id) == "running"


def test_removing_a_running_container_from_htmx_is_a_409_flash_that_swaps_nothing_else(
    admin_client, make, docker_api, htmx
):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, "remove", **htmx)

    assert response.status_code == 409
    assert response["HX-Reswap"] == "none"
    body = text(response)
    assert body.startswith('<div id="messages" hx-swap-oob="innerHTML"')
    assert '<div class="flash error">Conflict: You cannot remove a running container' in body
    assert "<tr" not in body
    assert state_of(docker_api, container_id) == "running"


def test_force_remove_removes_a_running_container(admin_client, make, docker_api):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, "force_remove")

    assert response.status_code == 302
    assert gone(docker_api, container_id)


@pytest.mark.parametrize(
    ("before", "action", "reason"),
    [("paused", "pause", "is already paused"), ("exited", "kill", "is not running")],
)
def test_an_action_the_state_forbids_is_a_409_with_the_engine_reason(
    admin_client, make, docker_api, before, action, reason
):
    container_id = make.container(state=before, command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, action)

    assert response.status_code == 409
    assert reason in text(response)
    assert state_of(docker_api, container_id) == before


def test_unpausing_a_running_container_shows_the_engine_reason(admin_client, make, docker_api):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, "unpause")

    # Engine 20.10 answers 500 here (newer ones 409): an engine failure, not Berth's.
    assert response.status_code in (409, 502)
    assert f"Container {container_id} is not paused" in text(response)
    assert state_of(docker_api, container_id) == "running"


def test_an_action_may_name_the_container_instead_of_its_id(admin_client, make, docker_api, htmx):
    container = make.container(state="running", command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    response = post_action(admin_client, name, "stop", **htmx)

    assert response.status_code == 200
    assert response.content.decode().startswith(f'<tr id="c-{container_id}"')
    assert 'data-state="exited"' in row(response, container_id)
    assert f"docker stop {name}</div>" in text(response)
    assert state_of(docker_api, container_id) == "exited"


def test_an_action_by_short_id_redraws_that_container(admin_client, make, docker_api, htmx):
    container_id = make.container(state="created", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id[:12], "start", **htmx)

    assert response.status_code == 200
    assert response.content.decode().startswith(f'<tr id="c-{container_id}"')
    assert state_of(docker_api, container_id) == "running"


def test_an_action_on_an_unknown_container_is_a_404(admin_client):
    unknown = unique("c")

    response = post_action(admin_client, unknown, "stop")

    assert response.status_code == 404
    assert f"No such container: {unknown}" in text(response)


@pytest.mark.parametrize("action", ["explode", "rm", "force", "remove_"])
def test_an_unknown_action_is_a_404(admin_client, make, docker_api, action):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = post_action(admin_client, container_id, action)

    assert response.status_code == 404
    assert state_of(docker_api, container_id) == "running"


@pytest.mark.parametrize("action", ["stop", "remove", "force-remove"])
def test_an_action_url_refuses_get_with_405(admin_client, make, docker_api, action):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = admin_client.get(f"/containers/{container_id}/{action}/")

    assert response.status_code == 405
    assert state_of(docker_api, container_id) == "running"


# --- bulk actions --------------------------------------------------------------------------


def test_it_stops_several_containers_at_once_and_redraws_their_rows(
    admin_client, make, docker_api, htmx
):
    made = [make.container(state="running", command=STOPPABLE) for _ in range(3)]
    ids, names = [c["Id"] for c in made], [c["Name"].lstrip("/") for c in made]

    response = admin_client.post("/containers/bulk/", {"action": "stop", "ids": ids}, **htmx)

    assert response.status_code == 200
    body = text(response)
    for container_id in ids:
        assert state_of(docker_api, container_id) == "exited"
        assert re.search(
            rf'<template><tr id="c-{container_id}" data-id="{container_id}" '
            r'data-state="exited" hx-swap-oob="true">',
            body,
        )
    assert f"Stopped 3 of 3: docker stop {' '.join(names)}</div>" in body
    assert '<div class="flash success">' in body


def test_it_starts_several_containers_from_a_plain_form(admin_client, make, docker_api):
    made = [make.container(state=state, command=STOPPABLE) for state in ("created", "exited")]
    ids, names = [c["Id"] for c in made], [c["Name"].lstrip("/") for c in made]

    response = admin_client.post("/containers/bulk/", {"action": "start", "ids": ids})

    assert response.status_code == 302
    assert response["Location"] == "/containers/"
    assert [state_of(docker_api, i) for i in ids] == ["running", "running"]
    page = admin_client.get("/containers/")
    assert f"Started 2 of 2: docker start {' '.join(names)}" in text(page)


def test_it_removes_several_containers_and_deletes_their_rows(admin_client, make, docker_api, htmx):
    made = [make.container(state=state) for state in ("created", "exited")]
    ids, names = [c["Id"] for c in made], [c["Name"].lstrip("/") for c in made]

    response = admin_client.post("/containers/bulk/", {"action": "remove", "ids": ids}, **htmx)

    assert response.status_code == 200
    body = text(response)
    for container_id in ids:
        assert gone(docker_api, container_id)
        assert f'<div id="c-{container_id}" hx-swap-oob="delete"></div>' in body
    assert "<template>" not in body
    assert f"Removed 2 of 2: docker rm {' '.join(names)}</div>" in body


def test_a_bulk_action_reports_the_one_that_failed_by_name_and_does_the_others(
    admin_client, make, docker_api, htmx
):
    first = make.container(state="exited")["Id"]
    running = make.container(state="running", command=STOPPABLE)
    last = make.container(state="created")["Id"]
    running_id, running_name = running["Id"], running["Name"].lstrip("/")
    ids = [first, running_id, last]

    response = admin_client.post("/containers/bulk/", {"action": "remove", "ids": ids}, **htmx)

    assert response.status_code == 200
    body = text(response)
    assert gone(docker_api, first)
    assert gone(docker_api, last)
    assert state_of(docker_api, running_id) == "running"
    assert '<div class="flash warning">Removed 2 of 3' in body
    assert f"Failed: {running_name}: You cannot remove a running container" in body
    assert f'<div id="c-{first}" hx-swap-oob="delete">' in body
    assert f'<div id="c-{running_id}" hx-swap-oob="delete">' not in body


def test_a_bulk_action_may_name_its_containers(admin_client, make, docker_api):
    containers = [make.container(state="running", command=STOPPABLE) for _ in range(2)]
    names = [c["Name"].lstrip("/") for c in containers]

    response = admin_client.post("/containers/bulk/", {"action": "pause", "ids": names})

    assert response.status_code == 302
    assert [state_of(docker_api, c["Id"]) for c in containers] == ["paused", "paused"]
    assert f"Paused 2 of 2: docker pause {' '.join(names)}" in text(
        admin_client.get(response["Location"])
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "explode"}, "Select a valid choice. explode is not one of the available"),
        ({"action": ""}, "This field is required."),
        ({"action": "remove", "extra": "not-an-id!"}, "Not a container id or name: not-an-id!"),
        ({"action": "remove", "extra": "../etc"}, "Not a container id or name: ../etc"),
        ({"action": "remove", "extra": "-f"}, "Not a container id or name: -f"),
    ],
)
def test_a_bulk_request_with_bad_input_is_a_400_and_does_nothing(
    admin_client, make, docker_api, htmx, data, message
):
    ids = [make.container(state="exited")["Id"] for _ in range(2)]
    extra = [data.pop("extra")] if "extra" in data else []

    plain = admin_client.post("/containers/bulk/", {**data, "ids": ids + extra})
    from_htmx = admin_client.post("/containers/bulk/", {**data, "ids": ids + extra}, **htmx)

    assert plain.status_code == 400
    assert message in text(plain)
    assert "Nothing was done" in text(plain)
    assert from_htmx.status_code == 400
    assert from_htmx["HX-Reswap"] == "none"
    assert f'<div class="flash error">Nothing was done: {message}' in text(from_htmx)
    assert [state_of(docker_api, i) for i in ids] == ["exited", "exited"]
    assert not AuditEntry.objects.exists()


def test_a_bulk_request_without_ids_is_a_400(admin_client):
    response = admin_client.post("/containers/bulk/", {"action": "stop"})

    assert response.status_code == 400
    assert "This field is required." in text(response)


def test_a_bulk_request_of_more_than_a_thousand_containers_is_a_400(admin_client):
    ids = [f"{n:012x}" for n in range(1001)]

    # As many fields as that is more than Django reads at all; as one field the form says why.
    as_fields = admin_client.post("/containers/bulk/", {"action": "stop", "ids": ids})
    as_one_field = admin_client.post("/containers/bulk/", {"action": "stop", "ids": " ".join(ids)})

    assert as_fields.status_code == 400
    assert as_one_field.status_code == 400
    assert "Select at most 1,000 containers at once." in text(as_one_field)
    assert not AuditEntry.objects.exists()


def test_the_bulk_url_refuses_get_with_405(admin_client):
    assert admin_client.get("/containers/bulk/").status_code == 405


# --- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/containers/"),
        ("get", "/containers/?all=1"),
        ("get", "/containers/{id}/"),
        ("post", "/containers/{id}/stop/"),
        ("post", "/containers/{id}/force-remove/"),
        ("post", "/containers/bulk/"),
    ],
)
def test_anonymous_people_are_sent_to_sign_in(client, make, docker_api, method, path):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]
    path = path.format(id=container_id)
    data = {"action": "stop", "ids": [container_id]} if method == "post" else None

    response = getattr(client, method)(path, data)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert state_of(docker_api, container_id) == "running"


def test_a_viewer_sees_the_list_without_action_buttons(viewer_client, make):
    ids = one_of_each_state(make)

    response = viewer_client.get("/containers/?all=1")

    assert response.status_code == 200
    body = response.content.decode()
    assert set(ids.values()) <= set(row_ids(response))
    assert "hx-post" not in body
    assert 'id="bulk"' not in body
    assert 'name="ids"' not in body
    assert "(read-only)" in body


def test_a_viewer_sees_the_detail_page_without_action_buttons(viewer_client, make):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    response = viewer_client.get(f"/containers/{container_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'<dd class="mono">{container_id}</dd>' in body
    for action in ACTIONS:
        assert f"/containers/{container_id}/{action}/" not in body
    assert "docker rm" not in body


@pytest.mark.parametrize("action", [*ACTIONS, "force-remove"])
def test_a_viewer_gets_403_on_every_action(viewer_client, make, docker_api, htmx, action):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]

    plain = post_action(viewer_client, container_id, action)
    from_htmx = post_action(viewer_client, container_id, action, **htmx)

    assert plain.status_code == 403
    removal = action.replace("-", "_") in ("remove", "force_remove")
    who = "admins" if removal else "operators and admins"
    assert f"Only the team's {who} may do this." in text(plain)
    assert from_htmx.status_code == 403
    assert state_of(docker_api, container_id) == "running"
    # Nothing done, so no change in the trail: only the refused attempts, with the team, so
    # the team's admins read them.
    assert not AuditEntry.objects.filter(denied=False).exists()
    assert set(AuditEntry.objects.values_list("team", "object_id")) == {(HOME_TEAM, container_id)}


@pytest.mark.parametrize("action", ["stop", "force_remove"])
def test_a_viewer_s_bulk_action_is_refused_for_each_container_with_its_team(
    viewer_client, make, docker_api, action
):
    ids = [make.container(state="running", command=STOPPABLE)["Id"] for _ in range(2)]

    response = viewer_client.post("/containers/bulk/", {"action": action, "ids": ids}, follow=True)

    assert [state_of(docker_api, i) for i in ids] == ["running", "running"]
    assert "0 of 2" in text(response)
    assert "Only the team's" in text(response)
    # Nothing done, so no change in the trail: the refused attempts, each with its team, so
    # the team's admins read them.
    assert not AuditEntry.objects.filter(denied=False).exists()
    refused = AuditEntry.objects.filter(denied=True)
    assert sorted(refused.values_list("object_id", "team")) == sorted((i, HOME_TEAM) for i in ids)


def test_actions_need_the_csrf_token(admin_user, make, docker_api):
    container_id = make.container(state="running", command=STOPPABLE)["Id"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    without = client.post(f"/containers/{container_id}/stop/")
    bulk_without = client.post("/containers/bulk/", {"action": "stop", "ids": [container_id]})

    assert without.status_code == 403
    assert bulk_without.status_code == 403
    assert state_of(docker_api, container_id) == "running"
    assert not AuditEntry.objects.exists()

    # The page hands htmx the token in hx-headers; with it the same request works.
    page = client.get("/containers/").content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    with_token = client.post(
        f"/containers/{container_id}/stop/", HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    assert with_token.status_code == 200
    assert state_of(docker_api, container_id) == "exited"


# --- the audit trail -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "action", "words"),
    [
        ("created", "start", "start"),
        ("running", "stop", "stop"),
        ("running", "restart", "restart"),
        ("running", "pause", "pause"),
        ("paused", "unpause", "unpause"),
        ("running", "kill", "kill"),
        ("exited", "remove", "rm"),
        ("running", "force-remove", "rm -f"),
    ],
)
def test_each_action_is_recorded_in_the_audit_trail(
    admin_client, admin_user, make, engine, htmx, before, action, words
):
    container = make.container(state=before, command=STOPPABLE)
    container_id, name = container["Id"], container["Name"].lstrip("/")

    response = post_action(admin_client, container_id, action, **htmx)

    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert entry.user == admin_user
    assert entry.username == admin_user.username
    assert entry.engine == engine.slug
    assert entry.action == action.replace("-", "_")
    assert (entry.target, entry.object_id) == (name, container_id)
    assert entry.command == f"docker {words} {name}"
    assert entry.succeeded is True
    assert entry.message == ""


def test_a_failed_action_is_recorded_with_the_engine_reason(admin_client, make):
    container = make.container(state="running", command=STOPPABLE)

    post_action(admin_client, container["Id"], "remove")

    entry = AuditEntry.objects.get()
    assert entry.command == f"docker rm {container['Name'].lstrip('/')}"
    assert entry.succeeded is False
    assert "You cannot remove a running container" in entry.message


def test_an_action_on_an_unknown_container_is_recorded_as_failed(admin_client):
    unknown = unique("c")

    post_action(admin_client, unknown, "kill")

    entry = AuditEntry.objects.get()
    assert (entry.command, entry.succeeded) == (f"docker kill {unknown}", False)
    assert f"No such container: {unknown}" in entry.message


def test_a_bulk_action_records_each_container_with_its_outcome(admin_client, make):
    exited = make.container(state="exited")["Id"]
    running = make.container(state="running", command=STOPPABLE)["Id"]

    admin_client.post("/containers/bulk/", {"action": "remove", "ids": [exited, running]})

    entries = {e.object_id: e for e in AuditEntry.objects.all()}
    assert set(entries) == {exited, running}
    assert entries[exited].command == f"docker rm {entries[exited].target}"
    assert entries[exited].succeeded is True
    assert entries[running].command == f"docker rm {entries[running].target}"
    assert entries[running].succeeded is False
    assert "You cannot remove a running container" in entries[running].message


def test_a_refused_button_gets_its_reason_as_a_message_and_leaves_the_row_alone(
    operator_client, make, htmx
):
    container = make.container(state="exited")

    response = operator_client.post(f"/containers/{container['Id']}/remove/", **htmx)

    assert response.status_code == 403
    assert response["HX-Reswap"] == "none"
    assert "Refused: Only the team&#x27;s admins may do this." in response.content.decode()
    assert "<html" not in response.content.decode()
