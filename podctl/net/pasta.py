"""Thin pasta (passt) driver: one process per namespace that does both outbound traffic and
published ports (spliced on loopback, no per-port process).

pasta daemonizes itself once the namespace is configured: the process we start exits (0 on
success), and the daemon's pid comes from `-P PIDFILE`.

Seen on this host (Debian 12, passt 0.0~git20230309): pasta refuses to start with
"Couldn't install signal handlers" when it inherits SIGPIPE as ignored, which is what happens
when it is exec'd straight from Python (`podctl unshare pasta ...`). subprocess (run.spawn)
restores default signal dispositions, so this driver is not affected.
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

_ALL = ("-t", "--tcp-ports", "-u", "--udp-ports", "-T", "--tcp-ns", "-U", "--udp-ns")


def binary() -> str:
    found = gateway.which("pasta")
    if not found:
        raise RuntimeFailed("pasta not found", hint="fix: sudo apt-get install passt")
    return found


def port_args(ports: list[PortMapping]) -> list[str]:
    out: list[str] = []
    for m in ports:
        for one in expand(m):
            flag = "-t" if one.protocol == "tcp" else "-u"
            addr = f"{one.host_ip}/" if one.host_ip else ""
            out += [flag, f"{addr}{one.host_port}:{one.container_port}"]
    return out


def argv(netns_path: str, user_args: tuple[str, ...], ports: list[PortMapping], pidfile: str,
         allow_host_loopback: bool = False) -> list[str]:  # fmt: skip
    cmd = [binary(), "--config-net", *user_args, *port_args(ports)]
    given = set(cmd)
    # Unless asked, forward nothing: pasta's default (`auto`) follows every port bound inside.
    for flag, long in (("-t", "--tcp-ports"), ("-u", "--udp-ports"), ("-T", "--tcp-ns"), ("-U", "--udp-ns")):
        if flag not in given and long not in given:
            cmd += [flag, "none"]
    if not allow_host_loopback and "--no-map-gw" not in given:
        cmd.append("--no-map-gw")
    cmd += ["--quiet", "--netns", netns_path, "-P", pidfile]
    return cmd


def start(
    netns_path: str, *, userns_pid: int | None, user_args: tuple[str, ...], ports: list[PortMapping],
    pidfile: Path, log_path: Path, allow_host_loopback: bool = False, timeout: float = 10.0,
) -> tuple[int, int]:  # fmt: skip
    """Start pasta on NETNS_PATH with PORTS forwarded; return the daemon's (pid, start_time)."""
    try:
        pidfile.unlink()
    except FileNotFoundError:
        pass
    cmd = argv(netns_path, user_args, ports, str(pidfile), allow_host_loopback)
    fds = nsexec.userns_fds(userns_pid)

    def enter() -> None:
        nsexec.enter_userns(fds)

    try:
        with open(log_path, "ab") as log:
            proc = gateway.spawn(cmd, stdout=log, stderr=log, start_new_session=True,
                                 preexec_fn=enter if fds else None)  # fmt: skip
    finally:
        if fds:
            os.close(fds[0])
            os.close(fds[1])
    try:
        code = proc.wait(timeout)
    except Exception:  # noqa: BLE001 - TimeoutExpired
        procs.stop(proc.pid, 0)
        code = -1
    pid = 0
    try:
        pid = int(pidfile.read_text().strip() or 0)
    except (OSError, ValueError):
        pass
    if code != 0 or not pid:
        if pid:
            procs.stop(pid, 0)
        detail = _tail(log_path)
        if "bind" in detail.lower() or "address in use" in detail.lower():
            raise PortInUse(f"pasta could not bind a published port: {detail}")
        raise RuntimeFailed(
            f"pasta does not work here (exit status {code}): {detail or 'no message'} "
            f"(running: {' '.join(cmd)})"
        )
    if not procs.alive(pid, 0):
        raise RuntimeFailed(f"pasta exited right after start: {_tail(log_path) or 'no message'}")
    return pid, procs.start_time(pid)


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(ln.split(": ", 1)[-1] for ln in lines[-4:])
