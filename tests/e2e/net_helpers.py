"""Test-only driver for podctl.net, run AS THE TEST USER with the podctl venv's Python.

    python net_helpers.py up RUNROOT NAME [--network N] [-p SPEC]... [--http DIR:PORT]... [--udp-echo PORT]...
        create RUNROOT/netns/NAME (inside the pause user namespace of RUNROOT), start busybox
        servers in it, call podctl.net.setup and print one JSON line:
        {"state": NetworkState.to_dict(), "servers": [pid, ...], "interfaces": [...]}
        On a setup error print {"error": "...", "type": "..."} and exit 3 (the netns is removed).
    python net_helpers.py down RUNROOT JSON
        teardown(state), kill the servers, remove the netns; prints {"ok": true}.

It works both inside `podctl unshare` and outside the user namespace (it then passes the
pause pid, as an unjoined podctl process would).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from podctl import net
from podctl.errors import PodctlError
from podctl.net import nsexec

_UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"echo:" + data, peer)
"""


def _pause(runroot: Path) -> int:
    return int((runroot / "pause.pid").read_text())


def _serve(netns: str, pause: int, argv: list[str]) -> int:
    """Start ARGV inside the netns (and the pause user namespace); return its pid."""
    fds = nsexec.userns_fds(pause)
    pid = os.fork()
    if pid == 0:
        try:
            nsexec.enter_userns(fds)
            nsexec.enter_netns(netns)
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    if fds:
        os.close(fds[0])
        os.close(fds[1])
    return pid


def up(args: list[str]) -> int:
    runroot, name = Path(args[0]), args[1]
    rest = args[2:]
    network, publish, servers = "slirp4netns", [], []
    http: list[str] = []
    udp: list[str] = []
    while rest:
        flag, value = rest[0], rest[1]
        rest = rest[2:]
        if flag == "--network":
            network = value
        elif flag == "-p":
            publish.append(value)
        elif flag == "--http":
            http.append(value)
        elif flag == "--udp-echo":
            udp.append(value)
        else:
            raise SystemExit(f"unknown flag {flag}")
    pause = _pause(runroot)
    (runroot / "netns").mkdir(exist_ok=True)
    nspath = net.create_netns(runroot / "netns" / name, userns_pid=pause)
    for h in http:
        d, _, port = h.rpartition(":")
        servers.append(_serve(nspath, pause, ["/bin/busybox", "httpd", "-f", "-p", port, "-h", d]))
    for port in udp:
        # Debian's static busybox nc has no UDP mode: a tiny Python echo server instead.
        servers.append(_serve(nspath, pause, [sys.executable, "-c", _UDP_ECHO, port]))
    try:
        opts = net.parse_network(network)
        ports = net.parse_publish_list(publish)
        state = net.setup(nspath, pause, opts, ports, run_dir=runroot / "net" / name)
    except PodctlError as e:
        for pid in servers:
            os.kill(pid, signal.SIGKILL)
        net.remove_netns(nspath, userns_pid=pause)
        print(json.dumps({"error": str(e), "type": type(e).__name__}))
        return 3
    ifaces = net.interfaces(nspath, userns_pid=pause)
    print(json.dumps({"state": state.to_dict(), "servers": servers, "interfaces": ifaces}))
    return 0


def down(args: list[str]) -> int:
    runroot, data = Path(args[0]), json.loads(args[1])
    state = net.NetworkState.from_dict(data["state"])
    net.teardown(state)
    for pid in data.get("servers", []):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    net.remove_netns(state.netns_path, userns_pid=_pause(runroot))
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    sys.exit(up(sys.argv[2:]) if cmd == "up" else down(sys.argv[2:]))
