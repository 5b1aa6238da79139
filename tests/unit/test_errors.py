"""SDK and transport errors become EngineErrors once, and EngineErrors become HTTP once."""

import json
import secrets
import socket

import docker
import docker.errors
import pytest
import requests
import requests.exceptions
import urllib3.exceptions
from django.test import RequestFactory

from containers_app.engine import (
    Conflict,
    EngineError,
    EngineUnavailable,
    InvalidRequest,
    NotFound,
)
from containers_app.engine.errors import translate, translated
from containers_app.views.errors import error_response, status_of

ENGINE = "unix:///run/berth-test/docker.sock"


def response(
    status: int, body: bytes, url: str = "http+docker://localhost/v1.41/x"
) -> requests.Response:
    """A requests Response as the engine's HTTP API would send it."""
    reply = requests.Response()
    reply.status_code = status
    reply.reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "")
    reply.url = url
    reply._content = body
    return reply


def api_error(status: int, message: str) -> docker.errors.APIError:
    """The error the SDK raises for an engine reply, built by the SDK's own factory."""
    reply = response(status, json.dumps({"message": message}).encode())
    try:
        docker.errors.create_api_error_from_http_exception(
            requests.exceptions.HTTPError(response=reply)
        )
    except docker.errors.APIError as error:
        return error
    raise AssertionError("the SDK raised nothing")


def connection_aborted(cause: OSError) -> requests.exceptions.ConnectionError:
    """What requests raises when the socket cannot be reached, as docker's adapter sees it."""
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", cause)
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- translate: engine replies -----------------------------------------------------------


def test_a_404_becomes_not_found_with_the_engines_message():
    error = translate(api_error(404, "No such container: web"), engine=ENGINE)
    assert type(error) is NotFound
    assert error.reason == "No such container: web"
    assert error.engine == ENGINE


def test_the_sdk_makes_a_404_its_own_not_found():
    assert type(api_error(404, "No such container: web")) is docker.errors.NotFound


def test_a_missing_image_becomes_not_found():
    sdk_error = api_error(404, "No such image: nothing:latest")
    assert isinstance(sdk_error, docker.errors.ImageNotFound)
    assert type(translate(sdk_error, engine=ENGINE)) is NotFound


def test_a_409_becomes_a_conflict_with_the_engines_reason():
    message = (
        "You cannot remove a running container abc. "
        "Stop the container before attempting removal or force remove"
    )
    error = translate(api_error(409, message), engine=ENGINE)
    assert type(error) is Conflict
    assert error.reason == message


def test_a_403_becomes_a_conflict_because_the_engine_says_so_for_a_network_in_use():
    message = "error while removing network: network back id 8fc7 has active endpoints"
    error = translate(api_error(403, message), engine=ENGINE)
    assert type(error) is Conflict
    assert error.reason == message


def test_a_400_becomes_an_invalid_request():
    message = "Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    error = translate(api_error(400, message), engine=ENGINE)
    assert type(error) is InvalidRequest
    assert error.reason == message


@pytest.mark.parametrize("status", [401, 406, 422])
def test_any_other_4xx_becomes_an_invalid_request(status):
    assert type(translate(api_error(status, "no"), engine=ENGINE)) is InvalidRequest


def test_a_500_is_an_engine_error_of_no_narrower_kind():
    error = translate(api_error(500, "Container abc is not paused"), engine=ENGINE)
    assert type(error) is EngineError
    assert error.reason == "Container abc is not paused"


def test_an_api_error_without_a_reply_is_an_engine_error():
    error = translate(docker.errors.APIError("something broke"), engine=ENGINE)
    assert type(error) is EngineError
    assert error.reason == "something broke"


def test_a_reply_that_is_not_json_gives_its_text_as_the_reason():
    reply = response(400, b"  page not found\n")
    with pytest.raises(docker.errors.APIError) as raised:
        docker.errors.create_api_error_from_http_exception(
            requests.exceptions.HTTPError(response=reply)
        )
    error = translate(raised.value, engine=ENGINE)
    assert type(error) is InvalidRequest
    assert error.reason == "page not found"


def test_an_explanation_in_bytes_is_decoded():
    sdk_error = docker.errors.APIError("x", response=response(409, b""), explanation=b"in use \xff")
    assert translate(sdk_error, engine=ENGINE).reason == "in use \ufffd"


# --- translate: the transport --------------------------------------------------------------


def test_a_missing_socket_file_makes_the_engine_unavailable():
    sdk_error = connection_aborted(FileNotFoundError(2, "No such file or directory"))
    error = translate(sdk_error, engine=ENGINE)
    assert type(error) is EngineUnavailable
    assert error.reason == "no such file or directory"
    assert error.engine == ENGINE


def test_a_refused_connection_makes_the_engine_unavailable():
    sdk_error = connection_aborted(ConnectionRefusedError(111, "Connection refused"))
    error = translate(sdk_error, engine=ENGINE)
    assert type(error) is EngineUnavailable
    assert error.reason == "connection refused"


def test_a_socket_without_permission_makes_the_engine_unavailable():
    sdk_error = connection_aborted(PermissionError(13, "Permission denied"))
    assert translate(sdk_error, engine=ENGINE).reason == "permission denied"


def test_an_unknown_connection_error_keeps_its_own_words():
    error = translate(requests.exceptions.ConnectionError("host unreachable"), engine=ENGINE)
    assert type(error) is EngineUnavailable
    assert error.reason == "host unreachable"


def test_pythons_own_connection_error_makes_the_engine_unavailable():
    error = translate(ConnectionResetError(104, "Connection reset by peer"), engine=ENGINE)
    assert type(error) is EngineUnavailable


@pytest.mark.parametrize(
    "timeout",
    [
        requests.exceptions.Timeout("timed out"),
        requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"),
        requests.exceptions.ConnectTimeout("Connect timed out"),
    ],
)
def test_a_timeout_makes_the_engine_unavailable(timeout):
    error = translate(timeout, engine=ENGINE)
    assert type(error) is EngineUnavailable
    assert error.reason == "the engine did not answer in time"


def test_an_answer_cut_short_makes_the_engine_unavailable():
    error = translate(
        requests.exceptions.ChunkedEncodingError("Response ended prematurely"), engine=ENGINE
    )
    assert type(error) is EngineUnavailable
    assert error.reason == "the engine's answer could not be read: Response ended prematurely"


def test_an_error_the_sdk_raises_while_building_a_client_says_what_went_wrong():
    cause = connection_aborted(FileNotFoundError(2, "No such file or directory"))
    sdk_error = docker.errors.DockerException(f"Error while fetching server API version: {cause}")
    sdk_error.__cause__ = cause
    error = translate(sdk_error, engine=ENGINE)
    assert type(error) is EngineUnavailable
    assert error.reason == "no such file or directory"


def test_a_timeout_while_building_a_client_says_the_engine_did_not_answer():
    cause = requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)")
    sdk_error = docker.errors.DockerException(f"Error while fetching server API version: {cause}")
    sdk_error.__cause__ = cause
    assert translate(sdk_error, engine=ENGINE).reason == "the engine did not answer in time"


def test_a_docker_exception_of_its_own_makes_the_engine_unavailable_with_its_words():
    error = translate(
        docker.errors.DockerException("Invalid bind address format: tcp://"), engine=ENGINE
    )
    assert type(error) is EngineUnavailable
    assert error.reason == "Invalid bind address format: tcp://"


@pytest.mark.parametrize(
    "sdk_error",
    [
        docker.errors.NullResource("Resource ID was not provided"),
        docker.errors.InvalidArgument("Invalid port"),
        docker.errors.InvalidRepository("Invalid repository name"),
    ],
)
def test_arguments_the_sdk_refuses_itself_are_an_invalid_request(sdk_error):
    error = translate(sdk_error, engine=ENGINE)
    assert type(error) is InvalidRequest
    assert error.reason == str(sdk_error)


def test_an_error_that_is_not_the_sdks_is_raised_again_untouched():
    original = ValueError("a bug of ours")
    with pytest.raises(ValueError) as raised:
        translate(original, engine=ENGINE)
    assert raised.value is original


# --- the real SDK, with nothing listening ----------------------------------------------------


def test_the_sdk_building_a_client_for_a_missing_socket_gives_the_engine_unavailable(tmp_path):
    address = f"unix://{tmp_path / 'nothing.sock'}"
    with pytest.raises(EngineUnavailable) as raised, translated(address):
        docker.APIClient(base_url=address, version="auto", timeout=5)
    assert raised.value.reason == "no such file or directory"
    assert raised.value.engine == address
    assert isinstance(raised.value.__cause__, docker.errors.DockerException)


def test_the_sdk_building_a_client_for_a_closed_port_gives_the_engine_unavailable():
    address = f"tcp://127.0.0.1:{closed_port()}"
    with pytest.raises(EngineUnavailable) as raised, translated(address):
        docker.APIClient(base_url=address, version="auto", timeout=5)
    assert raised.value.reason == "connection refused"


def test_the_sdk_calling_a_missing_socket_gives_the_engine_unavailable(tmp_path):
    address = f"unix://{tmp_path / secrets.token_hex(4)}.sock"
    client = docker.APIClient(base_url=address, version="1.41", timeout=5)
    with pytest.raises(EngineUnavailable) as raised, translated(address):
        client.containers()
    assert raised.value.reason == "no such file or directory"
    assert isinstance(raised.value.__cause__, requests.exceptions.ConnectionError)


def test_the_sdk_refusing_an_empty_container_id_gives_an_invalid_request(tmp_path):
    address = f"unix://{tmp_path / 'nothing.sock'}"
    client = docker.APIClient(base_url=address, version="1.41", timeout=5)
    with pytest.raises(InvalidRequest), translated(address):
        client.start("")


# --- translated ------------------------------------------------------------------------------


def test_translated_raises_the_engine_error_from_the_sdk_error():
    sdk_error = api_error(409, "in use")
    with pytest.raises(Conflict) as raised, translated(ENGINE):
        raise sdk_error
    assert raised.value.__cause__ is sdk_error
    assert raised.value.engine == ENGINE


def test_translated_lets_an_engine_error_through_unchanged():
    original = NotFound("No such volume: v", engine="elsewhere")
    with pytest.raises(NotFound) as raised, translated(ENGINE):
        raise original
    assert raised.value is original


def test_translated_leaves_other_errors_alone():
    with pytest.raises(KeyError), translated(ENGINE):
        raise KeyError("Id")


def test_translated_does_nothing_when_nothing_goes_wrong():
    with translated(ENGINE):
        value = 1
    assert value == 1


# --- status_of and error_response ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (EngineUnavailable("down"), 503),
        (NotFound("gone"), 404),
        (Conflict("in use"), 409),
        (InvalidRequest("bad name"), 400),
        (EngineError("the engine failed"), 502),
    ],
)
def test_status_of_gives_the_http_status_for_each_kind_of_engine_error(error, status):
    assert status_of(error) == status


@pytest.mark.parametrize(
    ("sdk_error", "status"),
    [
        (api_error(404, "No such container: web"), 404),
        (api_error(409, "in use"), 409),
        (api_error(403, "has active endpoints"), 409),
        (api_error(400, "bad"), 400),
        (api_error(500, "oops"), 502),
        (connection_aborted(FileNotFoundError(2, "No such file or directory")), 503),
        (requests.exceptions.Timeout(), 503),
    ],
)
def test_an_sdk_error_ends_as_the_right_http_status(sdk_error, status):
    assert status_of(translate(sdk_error, engine=ENGINE)) == status


def test_an_unavailable_engine_is_a_503_page_naming_the_engine_and_the_cause():
    request = RequestFactory().get("/containers/")
    reply = error_response(request, EngineUnavailable("no such file or directory", engine=ENGINE))
    assert reply.status_code == 503
    page = reply.content.decode()
    assert "The Docker Engine is unavailable" in page
    assert "no such file or directory" in page
    assert ENGINE in page


def test_an_engine_error_for_htmx_is_only_a_message_swapped_out_of_band():
    request = RequestFactory().post("/containers/web/start/", HTTP_HX_REQUEST="true")
    reply = error_response(request, Conflict("cannot start a paused container", engine=ENGINE))
    assert reply.status_code == 409
    assert reply["HX-Reswap"] == "none"
    page = reply.content.decode()
    assert 'hx-swap-oob="innerHTML"' in page
    assert "Conflict: cannot start a paused container" in page
    assert "<html" not in page


def test_an_engine_message_is_escaped_on_the_error_page():
    request = RequestFactory().get("/containers/")
    reply = error_response(request, NotFound("No such container: <script>x</script>"))
    assert b"<script>x</script>" not in reply.content
    assert b"&lt;script&gt;x&lt;/script&gt;" in reply.content
