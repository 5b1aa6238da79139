"""`docker stats`: the figures of one sample, the /ws/stats/ websocket and the /stats/ page."""

import asyncio
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from containers_app.streams import fanout, stats
from containers_app.streams.stats import reduce_sample
from tests.conftest import STOPPABLE, unique
from tests.engine import sockets
from tests.engine.markup import data_ids
from tests.engine.sockets import (
    Frames,
    connected,
    events_subscribed,
    eventually,
    refused,
    stop_shared_upstreams,
)

# Each socket loads its user's teams on a thread of its own, which sees only what the test
# has committed.
pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The signed-in users' passwords need no real hashing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_shared_upstreams():
    yield
    stop_shared_upstreams()


# --- one sample's figures, as the docker CLI computes them ---------------------------------


def sample(**parts) -> dict:
    """A stats sample as the engine sends it, with `parts` replacing its sections."""
    base = {
        "name": "/web",
        "cpu_stats": {
            "cpu_usage": {"total_usage": 400_000_000, "percpu_usage": [1, 2, 3, 4]},
            "system_cpu_usage": 20_000_000_000,
            "online_cpus": 2,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 200_000_000},
            "system_cpu_usage": 18_000_000_000,
            "online_cpus": 2,
        },
        "memory_stats": {"usage": 100 * MIB, "limit": 1024 * MIB, "stats": {}},
        "pids_stats": {"current": 7},
    }
    return {**base, **parts}


def test_cpu_percent_is_the_container_s_share_of_the_system_s_time_times_its_cpus():
    figures = reduce_sample(sample(), "abc")

    # (200 ms of CPU / 2 s of system time) * 2 CPUs * 100
    assert figures["cpu"] == 20.0


def test_cpu_percent_counts_the_per_cpu_figures_when_online_cpus_is_missing():
    cpu = sample()["cpu_stats"]
    cpu = {**cpu, "online_cpus": 0}

    assert reduce_sample(sample(cpu_stats=cpu), "abc")["cpu"] == 40.0


def test_cpu_percent_is_zero_when_the_container_used_no_cpu():
    pre = sample()["precpu_stats"]
    pre = {**pre, "cpu_usage": {"total_usage": 400_000_000}}

    assert reduce_sample(sample(precpu_stats=pre), "abc")["cpu"] == 0.0


@pytest.mark.parametrize("pre", [{}, {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0}])
def test_a_sample_without_a_previous_reading_gives_no_figures(pre):
    assert reduce_sample(sample(precpu_stats=pre), "abc") is None


def test_memory_leaves_out_the_inactive_page_cache_on_cgroup_v1():
    memory = {
        "usage": 100 * MIB,
        "limit": 400 * MIB,
        "stats": {"total_inactive_file": 20 * MIB, "inactive_file": 5 * MIB, "cache": 50 * MIB},
    }

    figures = reduce_sample(sample(memory_stats=memory), "abc")

    assert figures["mem"] == 80 * MIB
    assert figures["limit"] == 400 * MIB
    assert figures["mem_percent"] == 20.0


def test_memory_leaves_out_the_inactive_page_cache_on_cgroup_v2():
    memory = {"usage": 100 * MIB, "limit": 1000 * MIB, "stats": {"inactive_file": 30 * MIB}}

    figures = reduce_sample(sample(memory_stats=memory), "abc")

    assert figures["mem"] == 70 * MIB
    assert figures["mem_percent"] == 7.0


def test_memory_is_the_whole_usage_when_the_inactive_cache_is_not_below_it():
    """As the CLI: an inactive cache figure at or above the usage is not taken off."""
    v1 = {"usage": 10 * MIB, "limit": 100 * MIB, "stats": {"total_inactive_file": 12 * MIB}}
    v2 = {"usage": 10 * MIB, "limit": 100 * MIB, "stats": {"inactive_file": 10 * MIB}}

    assert reduce_sample(sample(memory_stats=v1), "abc")["mem"] == 10 * MIB
    assert reduce_sample(sample(memory_stats=v2), "abc")["mem"] == 10 * MIB


def test_memory_percent_is_zero_without_a_limit():
    memory = {"usage": 10 * MIB, "stats": {}}

    figures = reduce_sample(sample(memory_stats=memory), "abc")

    assert (figures["mem"], figures["limit"], figures["mem_percent"]) == (10 * MIB, 0, 0.0)


def test_network_io_adds_up_every_interface():
    networks = {
        "eth0": {"rx_bytes": 1000, "tx_bytes": 2000, "rx_packets": 9},
        "eth1": {"rx_bytes": 5, "tx_bytes": 6},
    }

    figures = reduce_sample(sample(networks=networks), "abc")

    assert (figures["net_rx"], figures["net_tx"]) == (1005, 2006)


def test_network_io_is_zero_for_a_container_without_networks():
    figures = reduce_sample(sample(), "abc")

    assert (figures["net_rx"], figures["net_tx"]) == (0, 0)


def test_block_io_adds_up_reads_and_writes_of_every_device_in_either_cgroup_spelling():
    blkio = {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 100},
            {"major": 8, "minor": 0, "op": "Write", "value": 200},
            {"major": 8, "minor": 0, "op": "Sync", "value": 300},
            {"major": 8, "minor": 0, "op": "Total", "value": 300},
            {"major": 8, "minor": 16, "op": "read", "value": 1},
            {"major": 8, "minor": 16, "op": "write", "value": 2},
        ]
    }

    figures = reduce_sample(sample(blkio_stats=blkio), "abc")

    assert (figures["blk_read"], figures["blk_write"]) == (101, 202)


def test_block_io_is_zero_when_the_engine_gives_none():
    figures = reduce_sample(sample(blkio_stats={"io_service_bytes_recursive": None}), "abc")

    assert (figures["blk_read"], figures["blk_write"]) == (0, 0)


def test_a_sample_names_its_container_and_counts_its_processes():
    figures = reduce_sample(sample(), "abc")

    assert figures["kind"] == "stats"
    assert figures["id"] == "abc"
    assert figures["name"] == "web"
    assert figures["pids"] == 7
    assert abs(figures["time"] - time.time()) < 5


# --- the websocket -------------------------------------------------------------------------


async def in_thread(function, *args, **kwargs):
    """A blocking docker_api (or `make`) call, off the test's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def sample_of(container_id: str):
    return lambda item: item.get("kind") == "stats" and item.get("id") == container_id


def gone(container_id: str):
    return lambda item: item.get("kind") == "gone" and item.get("id") == container_id


def upstream_of(container_id: str) -> stats.StatsUpstream | None:
    """The container's stats upstream on the default engine, if one runs."""
    return sockets.upstream_of(stats.registry, "stats", container_id)


async def test_one_container_s_stats_arrive_with_its_figures(admin_user, make):
    container = await in_thread(make.container, command=STOPPABLE)
    page = Frames(await connected(f"/ws/stats/?id={container['Id']}", admin_user))

    figures = await page.until(sample_of(container["Id"]))

    assert figures["name"] == container["Name"].lstrip("/")
    assert figures["cpu"] >= 0
    assert figures["mem"] > 0
    assert figures["limit"] >= figures["mem"]
    assert figures["pids"] >= 2  # sh and its sleep
    await page.communicator.disconnect()


async def test_a_memory_limit_shows_as_the_limit(viewer_user, make):
    container = await in_thread(make.container, command=STOPPABLE, mem_limit="64m")
    page = Frames(await connected(f"/ws/stats/?id={container['Id']}", viewer_user))

    figures = await page.until(sample_of(container["Id"]))

    assert figures["limit"] == 64 * MIB
    assert 0 < figures["mem_percent"] < 100
    await page.communicator.disconnect()


async def test_a_later_viewer_of_a_container_starts_with_its_recent_samples(admin_user, make):
    container = await in_thread(make.container, command=STOPPABLE)
    first = Frames(await connected(f"/ws/stats/?id={container['Id']}", admin_user))
    earliest = await first.until(sample_of(container["Id"]))
    await first.until(lambda item: sample_of(container["Id"])(item) and item is not earliest)

    second = Frames(await connected(f"/ws/stats/?id={container['Id']}", admin_user))

    replayed = await second.until(sample_of(container["Id"]))
    assert replayed["time"] == earliest["time"]
    await first.communicator.disconnect()
    await second.communicator.disconnect()


async def test_all_stats_include_a_running_container_and_say_when_it_stops(
    admin_user, make, docker_api
):
    container = await in_thread(make.container, command=STOPPABLE)
    page = Frames(await connected("/ws/stats/", admin_user))
    await eventually(events_subscribed)
    await page.until(sample_of(container["Id"]))

    await in_thread(docker_api.stop, container["Id"], timeout=5)

    await page.until(gone(container["Id"]))
    await eventually(lambda: upstream_of(container["Id"]) is None, timeout=15)
    await page.communicator.disconnect()


async def test_all_stats_pick_up_a_container_started_after_connecting(viewer_user, make):
    page = Frames(await connected("/ws/stats/", viewer_user))
    await eventually(events_subscribed)

    container = await in_thread(make.container, command=STOPPABLE)

    figures = await page.until(sample_of(container["Id"]))
    assert figures["name"] == container["Name"].lstrip("/")
    await page.communicator.disconnect()


async def test_all_stats_say_a_paused_container_is_gone_and_pick_it_up_when_unpaused(
    admin_user, make, docker_api
):
    container = await in_thread(make.container, command=STOPPABLE)
    page = Frames(await connected("/ws/stats/", admin_user))
    await eventually(events_subscribed)
    await page.until(sample_of(container["Id"]))

    await in_thread(docker_api.pause, container["Id"])
    await page.until(gone(container["Id"]))
    await in_thread(docker_api.unpause, container["Id"])

    await page.until(sample_of(container["Id"]))
    await page.communicator.disconnect()


async def test_two_viewers_of_one_container_share_one_stats_upstream(admin_user, viewer_user, make):
    container = await in_thread(make.container, command=STOPPABLE)
    path = f"/ws/stats/?id={container['Id']}"
    first = Frames(await connected(path, admin_user))
    second = Frames(await connected(path, viewer_user))

    upstream = upstream_of(container["Id"])
    assert upstream is not None
    assert len(upstream.viewers) == 2
    assert [
        (key[0].slug, *key[1:]) for key in stats.registry._upstreams if container["Id"] in key
    ] == [("local", "stats", container["Id"])]
    first_sample = await first.until(sample_of(container["Id"]))
    second_sample = await second.until(sample_of(container["Id"]))
    assert first_sample["time"] == second_sample["time"]
    await first.communicator.disconnect()
    await second.communicator.disconnect()


async def test_the_stats_upstream_stops_a_little_after_the_last_viewer_leaves(
    admin_user, make, monkeypatch
):
    monkeypatch.setattr(fanout, "LINGER_SECONDS", 0.3)
    container = await in_thread(make.container, command=STOPPABLE)
    path = f"/ws/stats/?id={container['Id']}"
    first = Frames(await connected(path, admin_user))
    second = Frames(await connected(path, admin_user))
    await first.until(sample_of(container["Id"]))
    upstream = upstream_of(container["Id"])

    await first.communicator.disconnect()
    await asyncio.sleep(0.6)  # longer than the linger: one viewer still watches
    assert upstream_of(container["Id"]) is upstream
    assert not upstream.stopping.is_set()

    await second.communicator.disconnect()
    await eventually(lambda: upstream_of(container["Id"]) is None, timeout=5)
    assert upstream.stopping.is_set()
    await eventually(lambda: not upstream._thread.is_alive(), timeout=5)


async def test_a_viewer_who_comes_back_at_once_rejoins_the_same_upstream(admin_user, make):
    container = await in_thread(make.container, command=STOPPABLE)
    path = f"/ws/stats/?id={container['Id']}"
    first = Frames(await connected(path, admin_user))
    upstream = upstream_of(container["Id"])
    await first.communicator.disconnect()

    again = Frames(await connected(path, admin_user))

    assert upstream_of(container["Id"]) is upstream
    assert not upstream.stopping.is_set()
    await again.until(sample_of(container["Id"]))
    await again.communicator.disconnect()


async def test_someone_signed_out_may_not_watch_stats():
    assert await refused("/ws/stats/", AnonymousUser()) == 4403


async def test_stats_of_an_unknown_container_are_not_found(admin_user):
    assert await refused(f"/ws/stats/?id={unique('missing')}", admin_user) == 4404


async def test_stats_of_a_badly_named_container_are_a_bad_request(admin_user):
    assert await refused("/ws/stats/?id=../etc", admin_user) == 4400


# --- the page ------------------------------------------------------------------------------


def test_the_stats_page_lists_running_containers_and_not_stopped_ones(viewer_client, make):
    running = make.container(command=STOPPABLE)
    stopped = make.container(command=STOPPABLE, state="exited")

    response = viewer_client.get("/stats/")

    assert response.status_code == 200
    assert running["Id"] in data_ids(response)
    assert stopped["Id"] not in data_ids(response)
    assert 'data-socket="/ws/stats/"' in response.content.decode()
    assert "docker stats" in response.content.decode()


def test_the_stats_page_needs_a_sign_in():
    response = Client().get("/stats/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
