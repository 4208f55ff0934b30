"""pasta (passt) driver: one process per namespace that does both outbound traffic and
published ports (spliced on loopback, no per-port process). podctl's default rootless network.

Inside the namespace podctl gives pasta slirp4netns's layout unless the user's own pasta
options set it: interface tap0, 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3, MTU
65520, and the gateway not mapped to the host (`--no-map-gw`, as slirp4netns's
--disable-host-loopback). Containers therefore see what rootless podman 4's slirp4netns gives
them (addresses, resolver, /etc/hosts), and kube's status.podIP is 10.0.2.100 either way.
Outside, IPv6 is pasta's own: the host's addresses, as podman 5 does.

pasta runs in the foreground (`-f`) in its own session, so its pid is known at spawn and the
caller need not wait for it: pasta writes its pid to `-P` only once the namespace is configured
and the ports are bound. `-P /proc/self/fd/N` points that write at a pipe whose read end
podctl holds: the pid arriving is the readiness report, end of file is pasta's exit.

Seen on this host (Debian 12, passt 0.0~git20230309):
- pasta refuses to start with "Couldn't install signal handlers" when it inherits SIGPIPE as
  ignored (`podctl unshare pasta ...`); nsexec.spawn_helper restores default dispositions.
- A UDP port published on another container port (`-p 5000:53/udp`) gets no answers for
  clients on the host's loopback; api forwards such ports with podctl's forwarder instead.
- Start-up to ready: 20-29 ms (socket pools, the tap and netlink set-up).
"""

from __future__ import annotations

import os
from pathlib import Path

from podctl import procs
from podctl import run as gateway
from podctl.errors import RuntimeFailed
from podctl.net import nsexec
from podctl.net.ports import PortInUse, expand
from podctl.spec import PortMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from podctl.net.slirp import Addresses

_ALL = ("-t", "--tcp-ports", "-u", "--udp-ports", "-T", "--tcp-ns", "-U", "--udp-ns")
# Options that set the namespace's address layout: any of them given, podctl adds none of its own.
_LAYOUT = ("-a", "--address", "-n", "--netmask", "-g", "--gateway", "-I", "--ns-ifname", "-i",
           "--interface")  # fmt: skip
_DNS = ("-D", "--dns", "--dns-forward")
TAP = "tap0"
MTU = 65520


def binary() -> str:
    found = gateway.which("pasta")
    if not found:
        raise RuntimeFailed("pasta not found", hint="fix: sudo apt-get install passt (or set "
                            "containers.conf [network] default_rootless_network_cmd = \"slirp4netns\")")  # fmt: skip
    return found


def port_args(ports: Sequence[PortMapping]) -> list[str]:
    out: list[str] = []
    for m in ports:
        for one in expand(m):
            flag = "-t" if one.protocol == "tcp" else "-u"
            addr = f"{one.host_ip}/" if one.host_ip else ""
            out += [flag, f"{addr}{one.host_port}:{one.container_port}"]
    return out


def _names(args: Sequence[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in args}


def layout(user_args: Sequence[str]) -> Addresses | None:
    """The slirp4netns-like addresses podctl gives the namespace; None when USER_ARGS set their own."""
    from podctl.net import slirp  # noqa: PLC0415

    return None if _names(user_args) & set(_LAYOUT) else slirp.Addresses.of(None)


def dns_servers(user_args: Sequence[str]) -> tuple[str, ...] | None:
    """The resolvers USER_ARGS point the namespace at (--dns-forward, -D/--dns); None if none."""
    out: list[str] = []
    args = list(user_args)
    for i, a in enumerate(args):
        name, eq, value = a.partition("=")
        if name in _DNS:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            if value:
                out.append(value)
    return tuple(out) if out else None


def argv(netns_path: str, user_args: Sequence[str], ports: Sequence[PortMapping], ready_fd: int,
         allow_host_loopback: bool = False) -> list[str]:  # fmt: skip
    given = _names(user_args)
    cmd = [binary(), "-f", "--config-net"]
    addrs = layout(user_args)
    if addrs is not None:
        cmd += ["-I", TAP, "-a", addrs.ip, "-n", str(addrs.prefixlen), "-g", addrs.gateway]
        if not given & set(_DNS):
            cmd += ["--dns-forward", addrs.dns]
    if "-m" not in given and "--mtu" not in given:
        cmd += ["-m", str(MTU)]
    cmd += [*user_args, *port_args(ports)]
    # Unless asked, forward nothing: pasta's default (`auto`) follows every port bound inside.
    for flag, long in (("-t", "--tcp-ports"), ("-u", "--udp-ports"), ("-T", "--tcp-ns"), ("-U", "--udp-ns")):
        if flag not in cmd and long not in given:
            cmd += [flag, "none"]
    if not allow_host_loopback and "--no-map-gw" not in given:
        cmd.append("--no-map-gw")
    cmd += ["--quiet", "--netns", netns_path, "-P", f"/proc/self/fd/{ready_fd}"]
    return cmd


def spawn(netns_path: str, *, userns_pid: int | None, user_args: Sequence[str],
          ports: Sequence[PortMapping], log_path: Path, allow_host_loopback: bool = False) -> nsexec.Starting:  # fmt: skip
    """Start pasta on NETNS_PATH with PORTS (resolved: free host ports) without waiting for it."""
    return nsexec.spawn_helper(
        lambda ready_w: argv(netns_path, user_args, ports, ready_w, allow_host_loopback),
        userns_pid=userns_pid, log_path=log_path,
    )  # fmt: skip


def finish(s: nsexec.Starting, timeout: float = 10.0) -> None:
    """Until pasta has configured the namespace and bound every port. On failure it is stopped
    and PortInUse (a port it could not bind) or RuntimeFailed carries pasta's own message."""
    try:
        got = b""
        if procs.readable(s.ready_fd, timeout):
            got = os.read(s.ready_fd, 32)
        if got.strip() == str(s.pid).encode():
            return
        procs.stop(s.pid, 0)
        detail = _tail(s.log_path)
        if not got and "bind" in detail.lower():
            raise PortInUse(f"pasta could not bind a published port: {detail}")
        why = f"did not get ready within {timeout:g}s" if not got and procs.alive(s.pid, 0) else "exited"
        raise RuntimeFailed(f"pasta does not work here ({why}): {detail or 'no message'} "
                            f"(running: {' '.join(s.cmd)})")  # fmt: skip
    finally:
        os.close(s.ready_fd)


def abort(s: nsexec.Starting) -> None:
    """Stop a spawned pasta that will not be finished."""
    try:
        os.close(s.ready_fd)
    except OSError:
        pass
    procs.kill(s.pid, 0)


def _tail(path: Path) -> str:
    """pasta's last messages (its "Failed to send ... to syslog" noise left out)."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    lines = [ln for ln in lines if not ln.startswith("Failed to send")]
    if "Usage:" in "".join(lines[1:2]):  # a bad option: its getopt message, not the usage text
        return lines[0]
    return " / ".join(ln.split(": ", 1)[-1] for ln in lines[-4:])
