"""Thin slirp4netns driver: argv, start with a ready fd, the JSON API socket, stop.

slirp4netns is started the way podman starts it:
  slirp4netns --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp
              [--enable-ipv6] -c -r READYFD --api-socket PATH --netns-type=path NSPATH tap0
from inside the pause process's user (and mount) namespace, so that it may enter the network
namespace (owned by that user namespace) and so that its sandbox (a private mount namespace
with pivot_root) has the capabilities it needs. Its own sockets stay in the host's network
namespace, which is what makes outbound traffic and published ports work.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from podctl import fastjson as json
from podctl import procs
from podctl import run as gateway
from podctl.errors import PodctlError, RuntimeFailed
from podctl.net import nsexec
from podctl.net.nsexec import Starting
from podctl.net.options import SlirpOptions

# podctl.records and not typing's TYPE_CHECKING: start-up cost (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any
else:
    from podctl.records import dataclass

TAP = "tap0"
DEFAULT_CIDR = "10.0.2.0/24"
_SUN_PATH_MAX = 107


@dataclass(frozen=True)
class Addresses:
    """What `-c` configures in the namespace for a CIDR: .100 the guest, .2 the host, .3 DNS."""

    cidr: str
    ip: str
    gateway: str
    dns: str
    prefixlen: int

    @classmethod
    def of(cls, cidr: str | None) -> Addresses:
        net = ipaddress.ip_network(cidr or DEFAULT_CIDR, strict=False)
        base = net.network_address
        return cls(str(net), str(base + 100), str(base + 2), str(base + 3), net.prefixlen)


class ApiError(PodctlError):
    """slirp4netns answered an API request with an error."""


def binary() -> str:
    found = gateway.which("slirp4netns")
    if not found:
        raise RuntimeFailed("slirp4netns not found", hint="fix: sudo apt-get install slirp4netns")
    return found


def argv(netns_path: str, opts: SlirpOptions, api_socket: str, ready_fd: int) -> list[str]:
    cmd = [binary()]
    if not opts.allow_host_loopback:
        cmd.append("--disable-host-loopback")
    cmd += [f"--mtu={opts.mtu}", "--enable-sandbox", "--enable-seccomp"]
    if opts.enable_ipv6:
        cmd.append("--enable-ipv6")
    if opts.cidr:
        cmd.append(f"--cidr={opts.cidr}")
    if opts.outbound_addr:
        cmd.append(f"--outbound-addr={opts.outbound_addr}")
    if opts.outbound_addr6:
        cmd.append(f"--outbound-addr6={opts.outbound_addr6}")
    cmd += ["-c", "-r", str(ready_fd), "--api-socket", api_socket, "--netns-type=path", netns_path, TAP]
    return cmd


def spawn(netns_path: str, *, userns_pid: int | None, opts: SlirpOptions, api_socket: Path,
          log_path: Path) -> Starting:  # fmt: skip
    """Start slirp4netns on NETNS_PATH without waiting for it: finish() (or abort()) next.

    Lets the caller start other work (the port forwarder) while slirp4netns sets up the tap.
    """
    if len(str(api_socket)) > _SUN_PATH_MAX:
        raise RuntimeFailed(f"the slirp4netns API socket path is too long for a unix socket: {api_socket}")
    try:
        api_socket.unlink()
    except FileNotFoundError:
        pass
    return nsexec.spawn_helper(
        lambda ready_w: argv(netns_path, opts, str(api_socket), ready_w),
        userns_pid=userns_pid, log_path=log_path,
    )  # fmt: skip


def finish(s: Starting, timeout: float = 10.0) -> tuple[int, int]:
    """Wait until the namespace is configured: (pid, start_time). On failure nothing is left
    running and RuntimeFailed carries slirp4netns's own message and its argv."""
    try:
        nsexec.wait_ready(s.ready_fd, timeout, "slirp4netns")
    except RuntimeFailed as e:
        procs.stop(s.pid, 0)
        detail = nsexec.log_tail(s.log_path)
        raise RuntimeFailed(f"{e}{': ' + detail if detail else ''} (running: {' '.join(s.cmd)})") from None
    finally:
        os.close(s.ready_fd)
    return s.pid, procs.start_time(s.pid)


def abort(s: Starting) -> None:
    """Stop a spawned slirp4netns that will not be finished."""
    try:
        os.close(s.ready_fd)
    except OSError:
        pass
    procs.kill(s.pid, 0)


def start(
    netns_path: str, *, userns_pid: int | None, opts: SlirpOptions, api_socket: Path, log_path: Path,
    timeout: float = 10.0,
) -> tuple[int, int]:  # fmt: skip
    """Start slirp4netns on NETNS_PATH and wait until the namespace is configured.

    Returns (pid, start_time). On failure nothing is left running and RuntimeFailed carries
    slirp4netns's own message and its argv.
    """
    s = spawn(netns_path, userns_pid=userns_pid, opts=opts, api_socket=api_socket, log_path=log_path)
    return finish(s, timeout)


def request(api_socket: str | Path, execute: str, arguments: dict[str, Any] | None = None,
            timeout: float = 5.0) -> Any:  # fmt: skip
    """One JSON request on the API socket; return its "return" value, or raise ApiError."""
    msg: dict[str, Any] = {"execute": execute}
    if arguments is not None:
        msg["arguments"] = arguments
    try:
        import socket  # noqa: PLC0415 - only the API's users (port_handler=slirp4netns) need it

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(api_socket))
            s.sendall(json.dumps(msg).encode())
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError as e:
        raise RuntimeFailed(f"slirp4netns API socket {api_socket}: {e.strerror or e}") from e
    try:
        answer = json.loads(b"".join(chunks) or b"{}")
    except ValueError as e:
        raise RuntimeFailed(f"slirp4netns API socket {api_socket}: bad answer {chunks!r}") from e
    if "error" in answer:
        err = answer["error"]
        desc = err.get("desc", err) if isinstance(err, dict) else err
        raise ApiError(f"slirp4netns {execute}: {desc}")
    return answer.get("return")


def add_hostfwd(api_socket: str | Path, proto: str, host_addr: str, host_port: int, guest_port: int,
                guest_addr: str | None = None) -> int:  # fmt: skip
    """Forward HOST_ADDR:HOST_PORT on the host to the namespace's GUEST_PORT; return the rule id."""
    args: dict[str, Any] = {"proto": proto, "host_addr": host_addr or "0.0.0.0",
                            "host_port": host_port, "guest_port": guest_port}  # fmt: skip
    if guest_addr:
        args["guest_addr"] = guest_addr
    ret = request(api_socket, "add_hostfwd", args)
    return int(ret["id"]) if isinstance(ret, dict) and "id" in ret else 0


def list_hostfwd(api_socket: str | Path) -> list[dict[str, Any]]:
    ret = request(api_socket, "list_hostfwd")
    return list(ret.get("entries", [])) if isinstance(ret, dict) else []


def remove_hostfwd(api_socket: str | Path, rule_id: int) -> None:
    request(api_socket, "remove_hostfwd", {"id": rule_id})
