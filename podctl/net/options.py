"""`--network MODE[:OPTIONS]`: the closed set of network modes and their options (podman's syntax).

Pure parsing, no side effects. `slirp4netns` options follow podman's
`parseSlirp4netnsNetworkOptions` (allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr,
outbound_addr6, port_handler); `pasta` options are pasta's own arguments, comma separated.
"""

from __future__ import annotations

import os
from enum import StrEnum

from podctl.errors import InvalidSpec

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import asdict, dataclass, field
    from typing import Any
else:
    from podctl.records import asdict, dataclass, field

SLIRP_MTU = 65520


class NetworkMode(StrEnum):
    NONE = "none"
    HOST = "host"
    SLIRP4NETNS = "slirp4netns"
    PASTA = "pasta"
    CONTAINER = "container"  # container:NAME (join another container's network namespace)
    NS = "ns"  # ns:PATH (join an existing network namespace)


class PortHandler(StrEnum):
    """How slirp4netns mode publishes ports (podman's names).

    rootlesskit (default, as podman): podctl's own forwarder process (podctl.net.portfwd),
    splice-based, one per namespace; 2.8x the throughput of slirp4netns's forwarding here and
    UDP answers reach clients on the host's loopback. slirp4netns: slirp4netns's API socket
    (add_hostfwd), no extra process, but 0.4x podman's throughput and no UDP replies to the
    host's loopback while host loopback is disabled.
    """

    SLIRP4NETNS = "slirp4netns"
    ROOTLESSKIT = "rootlesskit"


@dataclass(frozen=True)
class SlirpOptions:
    allow_host_loopback: bool = False
    mtu: int = SLIRP_MTU
    cidr: str | None = None  # default 10.0.2.0/24
    enable_ipv6: bool = True  # as podman 4
    port_handler: PortHandler = PortHandler.ROOTLESSKIT
    outbound_addr: str | None = None
    outbound_addr6: str | None = None


@dataclass(frozen=True)
class NetworkOptions:
    """What `--network` asked for. `target` is the container of `container:X` or the path of `ns:P`."""

    mode: NetworkMode = NetworkMode.SLIRP4NETNS
    slirp: SlirpOptions = field(default_factory=SlirpOptions)
    pasta_args: tuple[str, ...] = ()
    target: str | None = None

    @property
    def own_netns(self) -> bool:
        """True when the container (or pod) gets a network namespace of its own."""
        return self.mode in (NetworkMode.NONE, NetworkMode.SLIRP4NETNS, NetworkMode.PASTA)

    @property
    def needs_helper(self) -> bool:
        """True when a user-mode networking process must run beside the namespace."""
        return self.mode in (NetworkMode.SLIRP4NETNS, NetworkMode.PASTA)

    @property
    def publishes(self) -> bool:
        """Whether published ports (`-p`) mean anything in this mode."""
        return self.needs_helper

    def __str__(self) -> str:
        if self.mode in (NetworkMode.CONTAINER, NetworkMode.NS):
            return f"{self.mode}:{self.target}"
        return str(self.mode)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pasta_args"] = list(self.pasta_args)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkOptions:
        slirp = dict(data.get("slirp") or {})
        if "port_handler" in slirp:
            slirp["port_handler"] = PortHandler(slirp["port_handler"])
        return cls(
            mode=NetworkMode(data.get("mode", NetworkMode.SLIRP4NETNS)),
            slirp=SlirpOptions(**slirp),
            pasta_args=tuple(data.get("pasta_args") or ()),
            target=data.get("target"),
        )


_SUPPORTED = "none, host, private, slirp4netns[:OPTIONS], pasta[:OPTIONS], container:NAME, ns:PATH"


def parse_network(
    value: str, *, default: NetworkMode = NetworkMode.SLIRP4NETNS, flag: str = "--network"
) -> NetworkOptions:
    """Parse a `--network` value. `private` and "" mean DEFAULT (rootless podman: slirp4netns)."""
    name, sep, rest = value.partition(":")
    if name in ("", "private", "default"):
        if sep:
            raise InvalidSpec(f"{flag} {value}: {name or 'private'} takes no options")
        name = str(default)
    if name == NetworkMode.NONE or name == NetworkMode.HOST:
        if sep:
            raise InvalidSpec(f"{flag} {value}: {name} takes no options")
        return NetworkOptions(mode=NetworkMode(name))
    if name == NetworkMode.SLIRP4NETNS:
        opts = [o for o in rest.split(",") if o] if sep else []
        return NetworkOptions(mode=NetworkMode.SLIRP4NETNS, slirp=parse_slirp_options(opts, flag))
    if name == NetworkMode.PASTA:
        args = tuple(a for a in rest.split(",") if a) if sep else ()
        return NetworkOptions(mode=NetworkMode.PASTA, pasta_args=_check_pasta_args(args, flag))
    if name == NetworkMode.CONTAINER:
        if not rest:
            raise InvalidSpec(f"{flag} {value}: container: needs a container name or id")
        return NetworkOptions(mode=NetworkMode.CONTAINER, target=rest)
    if name == NetworkMode.NS:
        if not rest.startswith("/"):
            raise InvalidSpec(f"{flag} {value}: ns: needs an absolute path to a network namespace")
        return NetworkOptions(mode=NetworkMode.NS, target=rest)
    if name == "bridge" or not sep:
        raise InvalidSpec(
            f"{flag} {value}: rootless podctl has no bridge networks; use one of {_SUPPORTED}"
        )
    raise InvalidSpec(f"{flag} {value}: unknown network mode {name!r}; use one of {_SUPPORTED}")


def _bool(option: str, value: str, flag: str) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise InvalidSpec(f"{flag}: invalid value of {option} for slirp4netns: {value!r} (true or false)")


def parse_slirp_options(options: list[str], flag: str = "--network") -> SlirpOptions:
    """podman's slirp4netns options, `name=value` each."""
    kw: dict[str, Any] = {}
    for o in options:
        option, eq, value = o.partition("=")
        if not eq:
            raise InvalidSpec(f"{flag}: unknown option for slirp4netns: {o!r}")
        if option == "allow_host_loopback":
            kw["allow_host_loopback"] = _bool(option, value, flag)
        elif option == "enable_ipv6":
            kw["enable_ipv6"] = _bool(option, value, flag)
        elif option == "mtu":
            if not value.isdigit() or not 68 <= int(value) <= 65521:
                raise InvalidSpec(f"{flag}: invalid mtu {value!r} for slirp4netns (68-65521)")
            kw["mtu"] = int(value)
        elif option == "cidr":
            import ipaddress

            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError as e:
                raise InvalidSpec(f"{flag}: invalid cidr {value!r} for slirp4netns") from e
            if net.version != 4 or net.prefixlen > 25:
                raise InvalidSpec(f"{flag}: invalid cidr {value!r}: need an IPv4 network of /25 or larger")
            kw["cidr"] = value
        elif option == "port_handler":
            try:
                kw["port_handler"] = PortHandler(value)
            except ValueError as e:
                raise InvalidSpec(
                    f"{flag}: unknown port_handler for slirp4netns: {value!r} (slirp4netns or rootlesskit)"
                ) from e
        elif option in ("outbound_addr", "outbound_addr6"):
            kw[option] = _outbound(option, value, 4 if option == "outbound_addr" else 6, flag)
        else:
            raise InvalidSpec(f"{flag}: unknown option for slirp4netns: {o!r}")
    return SlirpOptions(**kw)


def _outbound(option: str, value: str, version: int, flag: str) -> str:
    import ipaddress

    try:
        if ipaddress.ip_address(value).version == version:
            return value
    except ValueError:
        if value and os.sep not in value and os.path.exists(f"/sys/class/net/{value}"):
            return value
    raise InvalidSpec(f"{flag}: invalid {option} {value!r}: need an IPv{version} address or an interface name")


# pasta options podctl sets itself; the user may not override them.
_PASTA_OWNED = ("--netns", "--userns", "-P", "--pid", "-f", "--foreground", "--netns-only")


def _check_pasta_args(args: tuple[str, ...], flag: str) -> tuple[str, ...]:
    for a in args:
        if a.split("=", 1)[0] in _PASTA_OWNED:
            raise InvalidSpec(f"{flag}: pasta option {a!r} is set by podctl and cannot be given")
    return args
