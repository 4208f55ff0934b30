"""Published ports: `-p [ip:][hostPort:]containerPort[/tcp|udp]` and `-P`, as podman parses them.

`parse_publish` and `publish_all` are pure and produce `podctl.spec.PortMapping`s (a range is one
mapping with `range` > 1; host port 0 means "pick a free one"). `resolve` binds on the host to
check that every requested port is free and to pick the free ones, and returns one mapping per
port (range 1), which is what gets forwarded and stored.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from pathlib import Path

from podctl.errors import InvalidSpec, PodctlError
from podctl.spec import PortMapping

TYPE_CHECKING = False  # not typing's: it costs start-up time
if TYPE_CHECKING:
    import _socket

PROTOCOLS = ("tcp", "udp")


class PortInUse(PodctlError):
    """A host port to publish is already taken (or may not be bound by this user)."""


def _port_range(text: str, what: str, arg: str) -> tuple[int, int]:
    """'80' -> (80, 1); '80-90' -> (80, 11)."""
    lo, dash, hi = text.partition("-")
    try:
        start = int(lo)
        end = int(hi) if dash else start
    except ValueError as e:
        raise InvalidSpec(f"-p {arg}: invalid {what} {text!r}") from e
    for p in (start, end):
        if not 1 <= p <= 65535:
            raise InvalidSpec(f"-p {arg}: {what} {p} is out of range (1-65535)")
    if end < start:
        raise InvalidSpec(f"-p {arg}: {what} range {text!r} ends before it starts")
    return start, end - start + 1


def _split_ip(arg: str, spec: str) -> tuple[str, str]:
    """Take the leading `ip:` off SPEC (IPv6 in brackets): -> (ip, rest)."""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or spec[end + 1 : end + 2] != ":":
            raise InvalidSpec(f"-p {arg}: an IPv6 address must look like [::1]:HOST:CONTAINER")
        ip, rest = spec[1:end], spec[end + 2 :]
    else:
        parts = spec.split(":")
        if len(parts) > 3:
            raise InvalidSpec(f"-p {arg}: too many colons (IPv6 addresses go in brackets)")
        if len(parts) < 3:
            return "", spec
        ip, rest = parts[0], ":".join(parts[1:])
    if ip:
        import ipaddress

        try:
            ipaddress.ip_address(ip)
        except ValueError as e:
            raise InvalidSpec(f"-p {arg}: invalid host IP address {ip!r}") from e
    return ip, rest


def parse_publish(value: str) -> list[PortMapping]:
    """One `-p/--publish` value -> mappings (one per protocol)."""
    arg = value
    spec, slash, protos = value.partition("/")
    protocols = [p.strip().lower() for p in protos.split(",")] if slash else ["tcp"]
    for p in protocols:
        if p not in PROTOCOLS:
            raise InvalidSpec(f"-p {arg}: unsupported protocol {p!r} (tcp or udp)")
    if not spec:
        raise InvalidSpec(f"-p {arg}: no container port given")
    host_ip, rest = _split_ip(arg, spec)
    host_part, colon, container_part = rest.rpartition(":")
    if not colon:
        host_part = ""
    if not container_part:
        raise InvalidSpec(f"-p {arg}: no container port given")
    cport, crange = _port_range(container_part, "container port", arg)
    if host_part:
        hport, hrange = _port_range(host_part, "host port", arg)
        if hrange != crange:
            raise InvalidSpec(
                f"-p {arg}: host port range ({hrange} ports) and container port range "
                f"({crange} ports) must be the same length"
            )
    else:
        hport = 0
    return [PortMapping(cport, hport, p, host_ip, crange) for p in dict.fromkeys(protocols)]


def parse_publish_list(values: Iterable[str]) -> list[PortMapping]:
    """Every `-p` of a command line, checked for host ports given twice."""
    out: list[PortMapping] = []
    for v in values:
        out.extend(parse_publish(v))
    check_conflicts(out)
    return out


def expand(mapping: PortMapping) -> list[PortMapping]:
    """A range -> one mapping per port (host port 0 stays 0: each gets its own free port)."""
    return [
        PortMapping(
            mapping.container_port + i,
            mapping.host_port + i if mapping.host_port else 0,
            mapping.protocol,
            mapping.host_ip,
            1,
        )
        for i in range(mapping.range)
    ]


def _describe(m: PortMapping) -> str:
    ip = f"[{m.host_ip}]" if ":" in m.host_ip else m.host_ip
    return f"{ip + ':' if ip else ''}{m.host_port}/{m.protocol}"


def _overlap(a: str, b: str) -> bool:
    wild = ("", "0.0.0.0", "::")
    return a == b or a in wild or b in wild


def check_conflicts(mappings: Sequence[PortMapping]) -> None:
    """A host port (per protocol, on overlapping addresses) may be published only once."""
    seen: list[PortMapping] = []
    for m in mappings:
        for one in expand(m):
            if not one.host_port:
                continue
            for other in seen:
                if (
                    other.host_port == one.host_port
                    and other.protocol == one.protocol
                    and _overlap(other.host_ip, one.host_ip)
                ):
                    raise InvalidSpec(f"host port {_describe(one)} is published more than once")
            seen.append(one)


def publish_all(exposed: Iterable[str], published: Sequence[PortMapping] = ()) -> list[PortMapping]:
    """`-P`: every EXPOSEd port ("80/tcp", "53/udp", "8080") not yet published, on a free host port."""
    taken = {(c.container_port, c.protocol) for m in published for c in expand(m)}
    out: list[PortMapping] = []
    for e in exposed:
        port, _, proto = str(e).partition("/")
        proto = (proto or "tcp").lower()
        if proto not in PROTOCOLS:
            continue  # sctp: not forwarded by slirp4netns
        try:
            start, count = _port_range(port, "exposed port", str(e))
        except InvalidSpec as err:
            raise InvalidSpec(f"image EXPOSE {e!r}: {err}") from err
        for p in range(start, start + count):
            if (p, proto) not in taken:
                taken.add((p, proto))
                out.append(PortMapping(p, 0, proto, "", 1))
    return out


def unprivileged_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def bind_error(m: PortMapping, e: OSError) -> PortInUse:
    """The error for a host port that cannot be bound, naming it."""
    where = _describe(m)
    if e.errno == errno.EADDRINUSE:
        return PortInUse(f"cannot publish port {where}: address already in use on the host")
    if e.errno == errno.EACCES:
        return PortInUse(
            f"cannot publish port {where}: ports below {unprivileged_port_start()} need "
            "privileges (sysctl net.ipv4.ip_unprivileged_port_start)"
        )
    if e.errno == errno.EADDRNOTAVAIL:
        return PortInUse(f"cannot publish port {where}: {m.host_ip} is not an address of this host")
    return PortInUse(f"cannot publish port {where}: {e.strerror}")


def bind_socket(m: PortMapping, backlog: int) -> _socket.socket:
    """A socket bound to M's host address and port (listening, SO_REUSEADDR, for TCP) as the
    forwarder serves it; PortInUse names the port when it cannot be bound. _socket, not
    socket: the wrapper module (with selectors) costs ~1 ms of pod create/start to import."""
    import _socket

    ip = m.host_ip or "0.0.0.0"
    family = _socket.AF_INET6 if ":" in ip else _socket.AF_INET
    kind = _socket.SOCK_STREAM if m.protocol == "tcp" else _socket.SOCK_DGRAM
    s = _socket.socket(family, kind)
    try:
        if kind == _socket.SOCK_STREAM:
            s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        s.bind((ip, m.host_port))
        if kind == _socket.SOCK_STREAM:
            s.listen(backlog)
    except OSError as e:
        s.close()
        raise bind_error(m, e) from e
    return s


def _probe(m: PortMapping) -> int:
    """Bind M's host address/port as the forwarder will; return the port."""
    s = bind_socket(m, 1)
    try:
        port: int = s.getsockname()[1]
        return port
    finally:
        s.close()


def resolve(mappings: Sequence[PortMapping]) -> list[PortMapping]:
    """Check every host port is free and pick free ones for host port 0; one mapping per port.

    Raises PortInUse naming the first port that cannot be bound.
    """
    check_conflicts(mappings)
    out: list[PortMapping] = []
    chosen: set[tuple[int, str]] = set()
    for m in mappings:
        for one in expand(m):
            if one.host_port:
                _probe(one)
                out.append(one)
                continue
            for _ in range(20):  # a random port may collide with a fixed one asked for later
                port = _probe(one)
                if (port, one.protocol) not in chosen and not any(
                    x.host_port == port and x.protocol == one.protocol for x in mappings
                ):
                    break
            chosen.add((port, one.protocol))
            out.append(PortMapping(one.container_port, port, one.protocol, one.host_ip, 1))
    return out


def to_dicts(mappings: Iterable[PortMapping]) -> list[dict[str, object]]:
    return [
        {"container_port": m.container_port, "host_port": m.host_port, "protocol": m.protocol,
         "host_ip": m.host_ip, "range": m.range}
        for m in mappings
    ]  # fmt: skip


def from_dicts(items: Iterable[dict[str, object]]) -> tuple[PortMapping, ...]:
    return tuple(PortMapping(**item) for item in items)  # type: ignore[arg-type]
