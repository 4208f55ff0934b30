"""resolv.conf / hosts text and --network parsing (podctl.net.etc, podctl.net.options)."""

from __future__ import annotations

import pytest

from podctl import net
from podctl.errors import InvalidSpec
from podctl.net import etc
from podctl.net.options import NetworkMode, PortHandler, SlirpOptions

HOST = """# generated
search corp.example lab.example
nameserver 127.0.0.53
nameserver 192.0.2.53
nameserver ::1
options edns0 trust-ad
"""


def test_resolv_conf_slirp_dns_first_then_host_servers_and_search() -> None:
    state = net.NetworkState(mode="slirp4netns", dns=("10.0.2.3",))
    assert net.resolv_conf(state, host_text=HOST) == (
        "search corp.example lab.example\n"
        "nameserver 10.0.2.3\n"
        "nameserver 192.0.2.53\n"
        "options edns0 trust-ad\n"
    )


def test_resolv_conf_user_dns_replaces_servers_and_search() -> None:
    text = net.resolv_conf(
        net.NetworkState(mode="slirp4netns", dns=("10.0.2.3",)),
        dns=["1.1.1.1"], dns_search=["example.org"], dns_options=["ndots:2"], host_text=HOST,
    )  # fmt: skip
    assert text == "search example.org\nnameserver 1.1.1.1\noptions ndots:2\n"


def test_resolv_conf_search_dot_clears_and_domain_counts_as_search() -> None:
    assert etc.resolv_conf(["10.0.2.3"], host_text="domain a.example\n", dns_search=["."]) == (
        "nameserver 10.0.2.3\n"
    )
    assert etc.resolv_conf(["10.0.2.3"], host_text="domain a.example\n") == (
        "search a.example\nnameserver 10.0.2.3\n"
    )


def test_resolv_conf_bad_dns_names_it() -> None:
    with pytest.raises(InvalidSpec, match="--dns dns.example: not an IP address"):
        etc.resolv_conf(dns=["dns.example"], host_text="")


def test_hosts_file_pod_members_add_host_and_gateway() -> None:
    state = net.NetworkState(mode="slirp4netns", ip="10.0.2.100", host_gateway="10.0.2.2")
    text = net.hosts_file("mypod", state=state, names=["web"], members=["web", "db"],
                          add_hosts=["cache:192.0.2.7", "gw:host-gateway", ("v6", "fd00::1")])  # fmt: skip
    assert text.splitlines() == [
        "192.0.2.7\tcache",
        "10.0.2.2\tgw",
        "fd00::1\tv6",
        "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4",
        "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6",
        "10.0.2.100\tmypod web db",
        "10.0.2.2\thost.containers.internal host.docker.internal",
    ]


def test_hosts_file_without_state_and_host_network() -> None:
    assert "127.0.1.1\tbox" in net.hosts_file("box")
    host = net.hosts_file("box", state=net.NetworkState(mode="host"), host_text="10.1.1.1 h\n")
    assert host.splitlines() == ["10.1.1.1 h"]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("justaname", "--add-host justaname: must be NAME:IP"),
        ("db:notanip", "--add-host db:notanip: invalid IP address 'notanip'"),
        (":1.2.3.4", "--add-host :1.2.3.4: must be NAME:IP"),
    ],
)
def test_add_host_errors(arg: str, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        net.hosts_file("h", add_hosts=[arg])


def test_host_gateway_needs_a_gateway() -> None:
    with pytest.raises(InvalidSpec, match="no host gateway"):
        net.hosts_file("h", add_hosts=["gw:host-gateway"])


def test_parse_network_modes() -> None:
    assert net.parse_network("").mode == NetworkMode.SLIRP4NETNS
    assert net.parse_network("private").mode == NetworkMode.SLIRP4NETNS
    assert net.parse_network("private", default=NetworkMode.PASTA).mode == NetworkMode.PASTA
    assert net.parse_network("none").mode == NetworkMode.NONE
    assert net.parse_network("host").own_netns is False
    c = net.parse_network("container:web")
    assert (c.mode, c.target, str(c)) == (NetworkMode.CONTAINER, "web", "container:web")
    assert net.parse_network("ns:/run/netns/x").target == "/run/netns/x"
    p = net.parse_network("pasta:-4,--mtu,1500")
    assert p.pasta_args == ("-4", "--mtu", "1500") and p.needs_helper


def test_parse_slirp_options() -> None:
    o = net.parse_network(
        "slirp4netns:allow_host_loopback=true,mtu=1500,cidr=10.5.0.0/24,enable_ipv6=false,"
        "port_handler=slirp4netns,outbound_addr=127.0.0.1"
    )
    assert o.slirp == SlirpOptions(True, 1500, "10.5.0.0/24", False, PortHandler.SLIRP4NETNS, "127.0.0.1")
    assert net.NetworkOptions.from_dict(o.to_dict()) == o
    assert net.parse_network("slirp4netns").slirp == SlirpOptions()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bridge", "--network bridge: rootless podctl has no bridge networks"),
        ("mynet", "--network mynet: rootless podctl has no bridge networks"),
        ("foo:bar", "--network foo:bar: unknown network mode 'foo'"),
        ("host:x", "--network host:x: host takes no options"),
        ("container:", "container: needs a container name"),
        ("ns:relative", "ns: needs an absolute path"),
        ("slirp4netns:mtu=10", "invalid mtu '10'"),
        ("slirp4netns:mtu", "unknown option for slirp4netns: 'mtu'"),
        ("slirp4netns:colour=red", "unknown option for slirp4netns: 'colour=red'"),
        ("slirp4netns:allow_host_loopback=yes", "invalid value of allow_host_loopback"),
        ("slirp4netns:cidr=10.0.0.0/30", "invalid cidr '10.0.0.0/30'"),
        ("slirp4netns:cidr=nope", "invalid cidr 'nope'"),
        ("slirp4netns:port_handler=magic", "unknown port_handler for slirp4netns: 'magic'"),
        ("slirp4netns:outbound_addr=nosuchif0", "invalid outbound_addr 'nosuchif0'"),
        ("pasta:--netns,/x", "pasta option '--netns' is set by podctl"),
    ],
)
def test_parse_network_errors(value: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as e:
        net.parse_network(value)
    assert message in str(e.value)


def test_network_state_round_trip() -> None:
    s = net.NetworkState(mode="slirp4netns", netns_path="/x", helper="slirp4netns", pid=5, start_time=9,
                         ports=tuple(net.parse_publish("8080:80/udp")), dns=("10.0.2.3",))  # fmt: skip
    assert net.NetworkState.from_dict(s.to_dict()) == s
