"""Network isolation of notebooks: from each other, and of their editors from other hosts.

Every notebook runs on its own Docker bridge network, and its editor port is
published on 127.0.0.1 only, so the one way to reach an editor is through the
daemon's proxy, which checks credentials. The probes connect only to this
host's own addresses and to the containers these tests start.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
from typing import Any

import docker
import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration

EDITOR_PORT = 8080
PROBE_TIMEOUT_SECONDS = 3.0
CONNECTED = "connected"

# Runs inside a notebook container: try one TCP connection and print the outcome.
PROBE_SCRIPT = """
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    socket.create_connection((host, port), timeout=timeout).close()
    print("connected")
except TimeoutError:
    print("timed out")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print(f"failed: {e}")
"""


def probe_from_host(host: str, port: int) -> str:
    """Try one TCP connection from this host; return how it ended, as PROBE_SCRIPT prints it."""
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_SECONDS).close()
        return CONNECTED
    except TimeoutError:
        return "timed out"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return f"failed: {e}"


def probe_from_container(container: Any, host: str, port: int) -> str:
    result = container.exec_run(
        ["python3", "-c", PROBE_SCRIPT, host, str(port), str(PROBE_TIMEOUT_SECONDS)]
    )
    output: str = result.output.decode(errors="replace").strip()
    assert result.exit_code == 0, f"the probe failed inside the container: {output}"
    return output


def notebook_container(client: docker.DockerClient, notebook_id: str) -> Any:
    return client.containers.get(f"localai-{notebook_id}")


def own_network(container: Any, notebook_id: str) -> dict[str, Any]:
    """Return the container's endpoint on the notebook's own network."""
    networks: dict[str, dict[str, Any]] = container.attrs["NetworkSettings"]["Networks"]
    assert list(networks) == [f"localai-{notebook_id}"]
    return networks[f"localai-{notebook_id}"]


def published_port(container: Any) -> int:
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{EDITOR_PORT}/tcp"]
    return int(bindings[0]["HostPort"])


def host_addresses() -> set[str]:
    """Return the non-loopback IPv4 addresses of this host's interfaces.

    Reads them from ``ip -4 -o addr show``, one address per line, such as
    ``2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0``.
    """
    ip_command = shutil.which("ip")
    if ip_command is None:
        pytest.fail("The isolation tests need the ip command: apt-get install iproute2")
    output = subprocess.run(
        [ip_command, "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout

    addresses = set()
    for line in output.splitlines():
        fields = line.split()
        if "inet" not in fields:
            continue
        address = ipaddress.ip_interface(fields[fields.index("inet") + 1]).ip
        if not address.is_loopback:
            addresses.add(str(address))
    return addresses


def start_two(daemon: Daemon, client: docker.DockerClient) -> tuple[Any, Any, str, str]:
    """Start two notebooks and return their containers and ids."""
    first = daemon.run()["id"]
    second = daemon.run()["id"]
    daemon.wait_state(first, "RUNNING")
    daemon.wait_state(second, "RUNNING")
    return notebook_container(client, first), notebook_container(client, second), first, second


def test_probe_reaches_own_editor(daemon: Daemon, docker_client: docker.DockerClient) -> None:
    """The control for the probes below: a probe inside a notebook reaches its own editor."""
    first, _, _, _ = start_two(daemon, docker_client)

    assert probe_from_container(first, "127.0.0.1", EDITOR_PORT) == CONNECTED


def test_notebook_cannot_reach_other_editor(daemon: Daemon,
                                            docker_client: docker.DockerClient) -> None:
    first, second, _, second_id = start_two(daemon, docker_client)
    second_address = own_network(second, second_id)["IPAddress"]
    assert second_address

    outcome = probe_from_container(first, second_address, EDITOR_PORT)
    assert outcome != CONNECTED, f"notebook A reached {second_address}:{EDITOR_PORT}"


def test_notebooks_on_separate_networks(daemon: Daemon,
                                        docker_client: docker.DockerClient) -> None:
    first, second, first_id, second_id = start_two(daemon, docker_client)

    assert own_network(first, first_id)["NetworkID"] != own_network(second, second_id)["NetworkID"]


def test_notebook_cannot_reach_other_published_port(
    daemon: Daemon, docker_client: docker.DockerClient
) -> None:
    """Probe B's published port on A's network gateway, which is an address of this host."""
    first, second, first_id, _ = start_two(daemon, docker_client)
    gateway = own_network(first, first_id)["Gateway"]
    assert gateway

    outcome = probe_from_container(first, gateway, published_port(second))
    assert outcome != CONNECTED, f"notebook A reached {gateway}:{published_port(second)}"


def test_editor_port_published_on_loopback_only(daemon: Daemon,
                                                docker_client: docker.DockerClient) -> None:
    _, second, _, _ = start_two(daemon, docker_client)

    bindings = second.attrs["NetworkSettings"]["Ports"][f"{EDITOR_PORT}/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]


def test_published_port_unreachable_on_host_addresses(daemon: Daemon,
                                                  docker_client: docker.DockerClient) -> None:
    _, second, _, second_id = start_two(daemon, docker_client)
    port = published_port(second)
    addresses = host_addresses() | {own_network(second, second_id)["Gateway"]}
    assert probe_from_host("127.0.0.1", port) == CONNECTED

    outcomes = {address: probe_from_host(address, port) for address in sorted(addresses)}
    reached = [address for address, outcome in outcomes.items() if outcome == CONNECTED]
    assert reached == [], f"port {port} answered on {reached}; all outcomes: {outcomes}"
