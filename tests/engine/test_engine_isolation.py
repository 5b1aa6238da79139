"""The private test engines live in network namespaces of their own: starting, stopping and
restarting one on its old data leaves the host's interfaces (a host engine's docker0 among
them) exactly as they were."""

import subprocess
from pathlib import Path

from tests.engine.second_engine import SecondEngine


def host_interfaces() -> str:
    """Every interface of this network namespace with its addresses, as `ip` prints them."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True)
    # Counters and link-state flags change by themselves; names, kinds and addresses do not.
    return "\n".join(
        sorted(line.split(":")[1].strip() for line in links.stdout.splitlines())
        + sorted(" ".join(line.split()[1:4]) for line in addresses.stdout.splitlines())
    )


def test_a_private_engine_started_stopped_and_restarted_leaves_the_host_network_alone():
    before = host_interfaces()
    engine = SecondEngine("isolation")
    with engine.running():
        engine.container("sleep 60", start=True)
        own = Path("/proc/self/ns/net").readlink()
        assert Path(f"/proc/{engine.pid()}/ns/net").readlink() != own
        engine.restart()
        engine.container("sleep 60", start=True)
        assert host_interfaces() == before
    assert host_interfaces() == before
