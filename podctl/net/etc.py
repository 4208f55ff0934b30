"""The text of a container's /etc/resolv.conf and /etc/hosts (pure functions; the runtime writes them).

Follows podman 4: with slirp4netns the resolver is slirp4netns's DNS forwarder (10.0.2.3 in the
default 10.0.2.0/24) followed by the host's non-loopback name servers; search domains and options
come from the host unless `--dns-search` / `--dns-option` replace them; `--dns` replaces the
name servers altogether.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from podctl.errors import InvalidSpec

HOST_GATEWAY = "host-gateway"
HOST_ALIAS = "host.containers.internal"


def read_host_resolv(path: str = "/etc/resolv.conf") -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """resolv.conf text -> (nameservers, search domains, options); the last search/domain wins."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if not parts:
            continue
        key, args = parts[0], parts[1:]
        if key == "nameserver" and args:
            servers.append(args[0])
        elif key in ("search", "domain"):
            search = list(args)
        elif key == "options":
            options.extend(args)
    return servers, search, options


def resolv_conf(
    nameservers: Sequence[str] = (),
    *,
    host_text: str | None = None,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
    keep_host_servers: bool = True,
) -> str:
    """/etc/resolv.conf for a container.

    NAMESERVERS: the network's own resolvers, first (slirp4netns: ("10.0.2.3",)).
    HOST_TEXT: the host's resolv.conf (default: read /etc/resolv.conf); loopback servers in it
    are dropped, since the container cannot reach the host's loopback.
    DNS / DNS_SEARCH / DNS_OPTIONS: `--dns`, `--dns-search`, `--dns-option`; `--dns-search .`
    clears the search list.
    """
    for d in dns:
        try:
            ipaddress.ip_address(d)
        except ValueError as e:
            raise InvalidSpec(f"--dns {d}: not an IP address") from e
    text = read_host_resolv() if host_text is None else host_text
    host_servers, host_search, host_options = parse_resolv(text)
    if dns:
        servers = list(dns)
    else:
        servers = list(nameservers)
        if keep_host_servers:
            servers += [s for s in host_servers if not _is_loopback(s)]
    search = list(dns_search) if dns_search else host_search
    if search == ["."]:
        search = []
    options = list(dns_options) if dns_options else host_options
    lines = []
    if search:
        lines.append("search " + " ".join(search))
    lines += [f"nameserver {s}" for s in dict.fromkeys(servers)]
    if options:
        lines.append("options " + " ".join(dict.fromkeys(options)))
    return "\n".join(lines) + "\n" if lines else ""


def parse_add_host(value: str) -> tuple[str, str]:
    """`--add-host NAME:IP` (IP may be IPv6, or `host-gateway`) -> (name, ip)."""
    name, sep, ip = value.partition(":")
    if not sep or not name or not ip:
        raise InvalidSpec(f"--add-host {value}: must be NAME:IP")
    if ip != HOST_GATEWAY:
        try:
            ipaddress.ip_address(ip.strip("[]"))
        except ValueError as e:
            raise InvalidSpec(f"--add-host {value}: invalid IP address {ip!r}") from e
        ip = ip.strip("[]")
    if any(c.isspace() for c in name):
        raise InvalidSpec(f"--add-host {value}: invalid host name {name!r}")
    return name, ip


def hosts_file(
    hostname: str,
    *,
    names: Sequence[str] = (),
    ip: str = "",
    members: Iterable[str] = (),
    add_hosts: Iterable[tuple[str, str]] = (),
    gateway: str = "",
    host_network: bool = False,
    host_text: str | None = None,
) -> str:
    """/etc/hosts for a container or a pod member.

    HOSTNAME and NAMES (the container's name) resolve to IP (the address in the namespace;
    "" = 127.0.1.1). MEMBERS: the other containers of the pod, which share the namespace and so
    the address. ADD_HOSTS: `--add-host` pairs (first, as podman; `host-gateway` = GATEWAY).
    GATEWAY: the host as seen from the namespace (slirp4netns 10.0.2.2), named
    host.containers.internal. HOST_NETWORK: start from the host's /etc/hosts (HOST_TEXT).
    """
    lines: list[str] = []
    for name, addr in add_hosts:
        if addr == HOST_GATEWAY:
            if not gateway:
                raise InvalidSpec(f"--add-host {name}:{HOST_GATEWAY}: this network has no host gateway")
            addr = gateway
        lines.append(f"{addr}\t{name}")
    if host_network:
        text = host_text if host_text is not None else read_host_resolv("/etc/hosts")
        lines += [ln for ln in text.rstrip("\n").splitlines()]
    else:
        lines += [
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4",
            "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6",
        ]
    own = [n for n in dict.fromkeys([hostname, *names, *members]) if n]
    if own and not host_network:
        lines.append(f"{ip or '127.0.1.1'}\t{' '.join(own)}")
    if gateway and not host_network:
        lines.append(f"{gateway}\t{HOST_ALIAS} host.docker.internal")
    return "\n".join(lines) + "\n"


def hosts_for(hostname: str, network: Mapping[str, object], *, names: Sequence[str] = (),
              members: Iterable[str] = (), add_hosts: Iterable[str | tuple[str, str]] = (),
              host_text: str | None = None) -> str:  # fmt: skip
    """hosts_file for a namespace whose network is NETWORK (a stored NetworkState.to_dict(),
    or {} for none); ADD_HOSTS as "name:ip" strings or pairs."""
    pairs = [parse_add_host(a) if isinstance(a, str) else a for a in add_hosts]
    return hosts_file(
        hostname, names=names, ip=str(network.get("ip") or ""), members=members, add_hosts=pairs,
        gateway=str(network.get("host_gateway") or ""), host_network=network.get("mode") == "host",
        host_text=host_text,
    )  # fmt: skip
