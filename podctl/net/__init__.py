"""User-mode networking for rootless pods and containers: slirp4netns or pasta, published ports,
resolv.conf / hosts text, and netlink work inside the namespace.

The pods/containers layers use only what this module exports:

    from podctl import net

    opts = net.parse_network("slirp4netns:allow_host_loopback=true")     # --network
    ports = net.parse_publish_list(["8080:80", "127.0.0.1:5353:53/udp"])  # -p ...
    ports += net.publish_all(image_config.get("ExposedPorts", {}), ports)  # -P

    # inside `userns.join(cfg)` (or pass the pause pid and stay outside):
    nspath = net.create_netns(runroot / "netns" / pod_id, userns_pid=pause_pid)  # lo is up
    state = net.setup(nspath, pause_pid, opts, ports, run_dir=runroot / "net" / pod_id[:12])
    record["network"] = state.to_dict()          # JSON-serialisable; keep it with the pod
    write(userdata / "resolv.conf", net.resolv_conf(state, dns=..., dns_search=...))
    write(userdata / "hosts", net.hosts_file(hostname, state=state, names=[name],
                                             members=pod_member_names, add_hosts=["db:10.0.0.5"]))
    # config.json: {"type": "network", "path": nspath}; runc then joins the prepared namespace.
    ...
    net.teardown(net.NetworkState.from_dict(record["network"]))  # stops pasta / slirp4netns (+forwarder)
    net.remove_netns(nspath, userns_pid=pause_pid)

API
- parse_network(value, *, default=NetworkMode.SLIRP4NETNS, flag="--network") -> NetworkOptions
  (callers pass Config.rootless_network_cmd's value: pasta unless containers.conf says otherwise)
  none | host | private (= default) | slirp4netns[:opt=val,...] | pasta[:arg,...] |
  container:NAME | ns:PATH. slirp4netns options: allow_host_loopback, cidr, enable_ipv6, mtu,
  outbound_addr, outbound_addr6, port_handler.
- parse_publish(value) -> list[PortMapping]; parse_publish_list(values) -> list[PortMapping]
  (also rejects a host port given twice); publish_all(exposed, published) -> list[PortMapping] (-P).
  Errors are InvalidSpec naming the argument ("-p 8080:99999: container port 99999 is out of range").
- create_netns(path, *, userns_pid) -> str; remove_netns(path, *, userns_pid) -> bool.
- setup(netns_path, userns_pid, spec, ports=(), *, run_dir=None, defer=False) -> NetworkState;
  with defer=True the helpers' readiness is read later by api.await_ready(state) (a pod's infra
  starts meanwhile); a taken host port still fails inside setup, before anything is spawned;
  publish(state, ports) -> NetworkState (more ports on a running slirp4netns, API handler);
  teardown(state) -> None (idempotent); is_running(state) -> bool.
  A taken port raises PortInUse (a PodctlError) naming it, and leaves nothing behind.
- resolv_conf(state=None, *, dns=(), dns_search=(), dns_options=(), host_text=None) -> str
- hosts_file(hostname, *, state=None, names=(), members=(), add_hosts=(), host_text=None) -> str
- links_up(netns_path, *, userns_pid, names=("lo",)); interfaces(netns_path, *, userns_pid)
  (pyroute2, run in a child inside the pod's user + network namespace).
- in_namespaces(fn, *, userns_pid, netns_path) -> result of fn() run in a forked child there.

The default network is pasta (Config.rootless_network_cmd, as podman 5), in slirp4netns's
layout inside the namespace (tap0, 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3, MTU
65520, gateway not mapped to the host): containers see what podman 4's slirp4netns gives them.
containers.conf [network] default_rootless_network_cmd = "slirp4netns" brings podman 4's back.

Why pasta: measured on this host, 100 MB downloaded from busybox httpd through a port published
on 127.0.0.1 (podman 4.3.1 with slirp4netns + rootlessport: 1233-1750 MB/s, three processes):
  pasta (default): one process, outbound and ports        1336-1893 MB/s  1.04-1.13x  RSS 29.4 MiB
  slirp4netns + podctl.net.portfwd (port_handler=rootlesskit) 1379 MB/s  1.12x  two processes
  slirp4netns API add_hostfwd (port_handler=slirp4netns)  237-681 MB/s  0.2-0.5x  one process
Why slirp4netns's is slow: `ss -tin` in the namespace during a transfer shows the container's
sender with a peer window of at most 64 KiB (snd_wnd 29658-65535, from libslirp 4.7) and
rwnd_limited 100% of the time. So slirp4netns alone cannot forward fast, and fast forwarding
beside it needs a second process; pasta does both in one.
slirp4netns itself: 3.4 MiB RSS; rootlessport 6.6 MiB plus its child; the forwarder ~11 MiB.
Its Python start-up (~65 ms) and pasta's (20-30 ms) run while the container (a pod's infra)
is created in the runtime (setup(defer=True); lifecycle.settle_network awaits them). Never a
per-port process: one forwarder serves every port of the namespace and exits by itself when
slirp4netns (or pasta) does.

Known limits (seen here): Debian 12's pasta (git20230309) gives no answers to loopback clients
of a UDP port published on another container port: setup serves such ports with the forwarder
beside pasta. With port_handler=slirp4netns and the default --disable-host-loopback, libslirp
drops a container's UDP replies to clients on the host's loopback (podman#4586); clients on
other host addresses work, allow_host_loopback=true makes loopback work, and setup warns.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing costs ~11 ms in the port forwarder's start-up.
# mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podctl.net.api import (
        NetworkState,
        hosts_file,
        is_running,
        publish,
        resolv_conf,
        setup,
        teardown,
    )
    from podctl.net.netlink import interfaces, links_up
    from podctl.net.nsexec import create_netns, in_namespaces, remove_netns
    from podctl.net.options import NetworkMode, NetworkOptions, SlirpOptions, parse_network
    from podctl.net.ports import PortInUse, parse_publish, parse_publish_list, publish_all

# Resolved on first use (PEP 562): the port forwarder (python -m podctl.net.portfwd) starts
# without importing the rest of the layer.
_WHERE = {
    "api": ("NetworkState", "hosts_file", "is_running", "publish", "resolv_conf", "setup", "teardown"),
    "netlink": ("interfaces", "links_up"),
    "nsexec": ("create_netns", "in_namespaces", "remove_netns"),
    "options": ("NetworkMode", "NetworkOptions", "SlirpOptions", "parse_network"),
    "ports": ("PortInUse", "parse_publish", "parse_publish_list", "publish_all"),
}
_MODULE_OF = {name: mod for mod, names in _WHERE.items() for name in names}

__all__ = [
    "NetworkMode",
    "NetworkOptions",
    "NetworkState",
    "PortInUse",
    "SlirpOptions",
    "create_netns",
    "hosts_file",
    "in_namespaces",
    "interfaces",
    "is_running",
    "links_up",
    "parse_network",
    "parse_publish",
    "parse_publish_list",
    "publish",
    "publish_all",
    "remove_netns",
    "resolv_conf",
    "setup",
    "teardown",
]


def __getattr__(name: str) -> Any:
    mod = _MODULE_OF.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: the importlib package costs every process imports
    value = getattr(__import__(f"podctl.net.{mod}", fromlist=[name]), name)
    globals()[name] = value
    return value
