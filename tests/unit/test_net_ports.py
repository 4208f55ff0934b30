"""-p / -P parsing and host port resolution (podctl.net.ports)."""

from __future__ import annotations

import socket

import pytest

from podctl import net
from podctl.errors import InvalidSpec
from podctl.net import ports
from podctl.spec import PortMapping


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("80", [PortMapping(80, 0, "tcp", "", 1)]),
        ("8080:80", [PortMapping(80, 8080, "tcp", "", 1)]),
        ("8080:80/udp", [PortMapping(80, 8080, "udp", "", 1)]),
        ("8080:80/tcp,udp", [PortMapping(80, 8080, "tcp", "", 1), PortMapping(80, 8080, "udp", "", 1)]),
        ("127.0.0.1:8080:80", [PortMapping(80, 8080, "tcp", "127.0.0.1", 1)]),
        ("127.0.0.1::80", [PortMapping(80, 0, "tcp", "127.0.0.1", 1)]),
        ("[::1]:8080:80", [PortMapping(80, 8080, "tcp", "::1", 1)]),
        ("8000-8010:80-90", [PortMapping(80, 8000, "tcp", "", 11)]),
        ("80-82", [PortMapping(80, 0, "tcp", "", 3)]),
        ("127.0.0.1:5353:53/UDP", [PortMapping(53, 5353, "udp", "127.0.0.1", 1)]),
    ],
)
def test_parse_publish(arg: str, expected: list[PortMapping]) -> None:
    assert net.parse_publish(arg) == expected


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("8080:99999", "-p 8080:99999: container port 99999 is out of range"),
        ("70000:80", "-p 70000:80: host port 70000 is out of range"),
        ("8080:http", "-p 8080:http: invalid container port 'http'"),
        ("8080:80/sctp", "-p 8080:80/sctp: unsupported protocol 'sctp'"),
        ("8000-8010:80-85", "-p 8000-8010:80-85: host port range (11 ports) and container port range (6 ports)"),
        ("90-80", "-p 90-80: container port range '90-80' ends before it starts"),
        ("999.1.1.1:80:80", "-p 999.1.1.1:80:80: invalid host IP address '999.1.1.1'"),
        ("::1:80:80", "-p ::1:80:80: too many colons"),
        ("8080:", "-p 8080:: no container port given"),
        ("", "no container port given"),
        ("/tcp", "no container port given"),
        ("0:80", "-p 0:80: host port 0 is out of range"),
    ],
)
def test_parse_publish_errors_name_the_argument(arg: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as e:
        net.parse_publish(arg)
    assert message in str(e.value)


def test_duplicate_host_port_is_rejected() -> None:
    with pytest.raises(InvalidSpec, match="host port 8080/tcp is published more than once"):
        net.parse_publish_list(["8080:80", "8080:81"])
    with pytest.raises(InvalidSpec, match="127.0.0.1:8085/tcp is published more than once"):
        net.parse_publish_list(["8080-8090:80-90", "127.0.0.1:8085:1000"])
    # different protocol or different specific addresses: fine
    assert len(net.parse_publish_list(["8080:80", "8080:80/udp"])) == 2
    assert len(net.parse_publish_list(["127.0.0.1:8080:80", "127.0.0.2:8080:80"])) == 2


def test_expand_range() -> None:
    assert ports.expand(PortMapping(80, 8000, "udp", "", 3)) == [
        PortMapping(80, 8000, "udp", "", 1),
        PortMapping(81, 8001, "udp", "", 1),
        PortMapping(82, 8002, "udp", "", 1),
    ]
    assert [m.host_port for m in ports.expand(PortMapping(80, 0, "tcp", "", 2))] == [0, 0]


def test_publish_all_uses_exposed_ports_not_yet_published() -> None:
    exposed = {"80/tcp": {}, "53/udp": {}, "8080": {}, "9/sctp": {}}
    published = net.parse_publish("8000:80")
    out = net.publish_all(exposed, published)
    assert out == [PortMapping(53, 0, "udp", "", 1), PortMapping(8080, 0, "tcp", "", 1)]


def test_publish_all_bad_expose_names_it() -> None:
    with pytest.raises(InvalidSpec, match="image EXPOSE 'abc/tcp'"):
        net.publish_all(["abc/tcp"])


def test_resolve_picks_free_ports_and_expands() -> None:
    out = ports.resolve([PortMapping(80, 0, "tcp", "127.0.0.1", 2), PortMapping(53, 0, "udp", "127.0.0.1", 1)])
    assert [(m.container_port, m.protocol, m.range) for m in out] == [(80, "tcp", 1), (81, "tcp", 1), (53, "udp", 1)]
    assert all(1024 <= m.host_port <= 65535 for m in out)
    assert out[0].host_port != out[1].host_port


def test_resolve_names_a_taken_tcp_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(net.PortInUse) as e:
            ports.resolve(net.parse_publish(f"127.0.0.1:{port}:80"))
    assert f"cannot publish port 127.0.0.1:{port}/tcp: address already in use" in str(e.value)


def test_resolve_names_a_taken_udp_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
        with pytest.raises(net.PortInUse, match=f"cannot publish port {port}/udp: address already in use"):
            ports.resolve(net.parse_publish(f"{port}:53/udp"))


def test_resolve_unknown_host_address() -> None:
    with pytest.raises(net.PortInUse, match="192.0.2.254 is not an address of this host"):
        ports.resolve(net.parse_publish("192.0.2.254:18123:80"))


def test_port_mapping_round_trip() -> None:
    m = net.parse_publish_list(["127.0.0.1:8000-8001:80-81/udp", "9000:90"])
    assert ports.from_dicts(ports.to_dicts(m)) == tuple(m)
