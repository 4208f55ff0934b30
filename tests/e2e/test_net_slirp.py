"""podctl.net for real, as the unprivileged test user: slirp4netns / pasta on a network namespace
inside the user's pause user namespace, published TCP and UDP ports on the host, clean teardown.

The namespace and the busybox servers come from tests/e2e/net_helpers.py (run as the test user);
the checks (HTTP, UDP, /proc) run here.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import struct
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Podctl, free_port, procs_mentioning

HELPER = Path(__file__).resolve().parent / "net_helpers.py"


@pytest.fixture
def www() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="podctl-net-www-"))
    d.chmod(0o755)
    (d / "index.html").write_text("hello from the namespace\n")
    (d / "index.html").chmod(0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _python(p: Podctl) -> str:
    return str(Path(p.bin).parent / "python")


def _ensure_pause(p: Podctl) -> None:
    p.ok("unshare", "true")


def up(p: Podctl, name: str, *args: str, inside: bool = False) -> dict[str, Any]:
    """Run `net_helpers.py up` as the test user (outside the user namespace unless INSIDE)."""
    _ensure_pause(p)
    argv = [_python(p), str(p.user.readable_copy(HELPER)), "up", str(p.runroot), name, *args]
    proc = p.run("unshare", *argv) if inside else p.user.run(argv)
    if proc.returncode not in (0, 3):
        raise AssertionError(f"net_helpers up failed ({proc.returncode}): {proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def down(p: Podctl, data: dict[str, Any]) -> None:
    payload = json.dumps({k: data[k] for k in ("state", "servers")})
    proc = p.user.run([_python(p), str(p.user.readable_copy(HELPER)), "down", str(p.runroot), payload])
    assert proc.returncode == 0, proc.stderr


def assert_gone(text: str) -> None:
    deadline = time.monotonic() + 3
    while procs_mentioning(text) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procs_mentioning(text) == []


def http_get(port: int, host: str = "127.0.0.1", path: str = "/") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as r:
        body: bytes = r.read()
        return body.decode()


def udp_ask(port: int, host: str = "127.0.0.1", payload: bytes = b"ping") -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        for _ in range(5):  # the echo server may still be starting
            s.sendto(payload, (host, port))
            try:
                return s.recv(1000)
            except TimeoutError:
                continue
    raise AssertionError(f"no UDP answer from {host}:{port}")


def host_address() -> str:
    """A non-loopback IPv4 address of this host."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            if name == "lo":
                continue
            try:
                res = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            return socket.inet_ntoa(res[20:24])
    pytest.fail("this host has no non-loopback IPv4 address (needed for the UDP test)")


def ports_of(data: dict[str, Any]) -> dict[tuple[int, str], int]:
    return {(m["container_port"], m["protocol"]): m["host_port"] for m in data["state"]["ports"]}


def test_published_tcp_port_answers_and_teardown_leaves_nothing(podctl: Podctl, www: Path) -> None:
    fixed = free_port()
    data = up(podctl, "web", "-p", f"127.0.0.1:{fixed}:80", "-p", "81", "--http", f"{www}:80",
              "--http", f"{www}:81")  # fmt: skip
    assert "error" not in data, data
    st = data["state"]
    nspath = st["netns_path"]
    try:
        assert st["helper"] == "slirp4netns" and st["ip"] == "10.0.2.100" and st["dns"] == ["10.0.2.3"]
        random_port = ports_of(data)[(81, "tcp")]
        assert random_port >= 1024 and ports_of(data)[(80, "tcp")] == fixed
        assert http_get(fixed) == "hello from the namespace\n"
        assert http_get(random_port) == "hello from the namespace\n"
        # slirp4netns -c configured tap0; lo is up (netlink, read inside the namespace)
        ifaces = {i["name"]: i for i in data["interfaces"]}
        assert ifaces["lo"]["up"] and ifaces["tap0"]["up"] and ifaces["tap0"]["mtu"] == 65520
        assert {"address": "10.0.2.100", "prefixlen": 24, "family": 4} in ifaces["tap0"]["addresses"]
        assert ifaces["tap0"]["gateway"] == "10.0.2.2"
        # one slirp4netns and one port forwarder for the namespace, whatever the number of ports
        helpers = sorted(procs_mentioning(nspath))
        assert len(helpers) == 2, helpers
        assert any("slirp4netns" in h and "--disable-host-loopback" in h for h in helpers)
        assert any("podctl.net.portfwd" in h for h in helpers)
        assert st["forwarder_pid"] > 0 and Path(st["api_socket"]).exists()
    finally:
        down(podctl, data)
    assert_gone(nspath)
    for f in ("api_socket", "log_path", "forwarder_log"):
        assert not Path(st[f]).exists()
    with pytest.raises(OSError):
        http_get(fixed)


def test_slirp4netns_port_handler_uses_the_api(podctl: Podctl, www: Path) -> None:
    data = up(podctl, "api", "--network", "slirp4netns:port_handler=slirp4netns",
              "-p", "127.0.0.1::80", "--http", f"{www}:80")  # fmt: skip
    assert "error" not in data, data
    st = data["state"]
    try:
        assert st["forwarder_pid"] == 0
        assert http_get(ports_of(data)[(80, "tcp")]) == "hello from the namespace\n"
        helpers = procs_mentioning(st["netns_path"])
        assert len(helpers) == 1 and "slirp4netns" in helpers[0]
    finally:
        down(podctl, data)
    assert_gone(st["netns_path"])


def test_forwarder_never_outlives_slirp4netns(podctl: Podctl, www: Path) -> None:
    """A crashed (killed) slirp4netns takes the port forwarder with it; teardown still works."""
    data = up(podctl, "crash", "-p", "127.0.0.1::80", "--http", f"{www}:80")
    assert "error" not in data, data
    st = data["state"]
    try:
        os.kill(st["pid"], 9)
        deadline = time.monotonic() + 3
        while procs_mentioning(st["netns_path"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert procs_mentioning(st["netns_path"]) == []
    finally:
        down(podctl, data)
    assert not Path(st["forwarder_log"]).exists()


def test_setup_from_inside_the_user_namespace(podctl: Podctl, www: Path) -> None:
    data = up(podctl, "inside", "-p", "127.0.0.1::80", "--http", f"{www}:80", inside=True)
    assert "error" not in data, data
    try:
        assert http_get(ports_of(data)[(80, "tcp")]) == "hello from the namespace\n"
    finally:
        down(podctl, data)
    assert_gone(data["state"]["netns_path"])


def test_udp_published_port(podctl: Podctl) -> None:
    # Default handler (podctl's forwarder): UDP answers a client on the host's loopback.
    data = up(podctl, "dns", "-p", "127.0.0.1::53/udp", "--udp-echo", "53")
    assert "error" not in data, data
    try:
        port = ports_of(data)[(53, "udp")]
        assert udp_ask(port) == b"echo:ping"
        assert udp_ask(port, payload=b"again") == b"echo:again"
    finally:
        down(podctl, data)
    assert_gone(data["state"]["netns_path"])
    # slirp4netns's own forwarding with host loopback disabled: libslirp drops replies to
    # loopback clients, so podctl warns; clients on the host's own address get answers.
    data = up(podctl, "dns2", "--network", "slirp4netns:port_handler=slirp4netns", "-p", "::53/udp",
              "--udp-echo", "53")  # fmt: skip
    assert "error" not in data, data
    try:
        assert "UDP ports do not answer clients on the host's loopback" in data["stderr"]
        assert udp_ask(ports_of(data)[(53, "udp")], host_address()) == b"echo:ping"
    finally:
        down(podctl, data)
    assert_gone(data["state"]["netns_path"])
    # ... and with allow_host_loopback=true they answer on the loopback too.
    data = up(podctl, "dns3", "--network", "slirp4netns:port_handler=slirp4netns,allow_host_loopback=true",
              "-p", "127.0.0.1::53/udp", "--udp-echo", "53")  # fmt: skip
    assert "error" not in data, data
    try:
        assert udp_ask(ports_of(data)[(53, "udp")]) == b"echo:ping"
    finally:
        down(podctl, data)
    assert_gone(data["state"]["netns_path"])


def test_two_namespaces_publish_different_ports(podctl: Podctl, www: Path, tmp_path: Path) -> None:
    other = Path(tempfile.mkdtemp(prefix="podctl-net-www2-"))
    other.chmod(0o755)
    (other / "index.html").write_text("second\n")
    (other / "index.html").chmod(0o644)
    a = up(podctl, "a", "-p", "127.0.0.1::80", "--http", f"{www}:80")
    b = up(podctl, "b", "-p", "127.0.0.1::80", "--http", f"{other}:80")
    try:
        assert "error" not in a and "error" not in b, (a, b)
        pa, pb = ports_of(a)[(80, "tcp")], ports_of(b)[(80, "tcp")]
        assert pa != pb
        assert http_get(pa) == "hello from the namespace\n"
        assert http_get(pb) == "second\n"
        assert a["state"]["pid"] != b["state"]["pid"]
    finally:
        down(podctl, a)
        down(podctl, b)
        shutil.rmtree(other, ignore_errors=True)
    assert_gone(a["state"]["netns_path"])
    assert_gone(b["state"]["netns_path"])


def test_taken_port_gives_a_clear_error_and_leaves_nothing(podctl: Podctl) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        data = up(podctl, "busy", "-p", "127.0.0.1::81", "-p", f"127.0.0.1:{port}:80")
    assert data.get("type") == "PortInUse", data
    assert f"cannot publish port 127.0.0.1:{port}/tcp: address already in use" in data["error"]
    assert_gone(str(podctl.runroot / "netns" / "busy"))
    assert procs_mentioning(f"{podctl.runroot}/net/busy") == []
    assert list((podctl.runroot / "net").glob("busy/*")) == []


def test_taken_udp_port_gives_a_clear_error(podctl: Podctl) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        data = up(podctl, "udpbusy", "-p", f"127.0.0.1:{port}:53/udp")
    assert data.get("type") == "PortInUse", data
    assert f"cannot publish port 127.0.0.1:{port}/udp: address already in use" in data["error"]
    assert_gone(str(podctl.runroot / "netns" / "udpbusy"))


def test_pasta_network(podctl: Podctl, www: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        udp = s.getsockname()[1]
    # Debian 12's pasta answers loopback UDP clients only when host and container ports are
    # equal: such a port is pasta's own; another goes to podctl's forwarder (test_pods).
    data = up(podctl, "pasta", "--network", "pasta", "-p", "127.0.0.1::80", "--http", f"{www}:80",
              "-p", f"127.0.0.1:{udp}:{udp}/udp", "--udp-echo", str(udp))  # fmt: skip
    assert "error" not in data, data
    st = data["state"]
    try:
        assert st["helper"] == "pasta" and st["pid"] > 0 and not st["forwarder_pid"]
        # slirp4netns's layout, as podctl gives it to pasta: what resolv.conf and kube's podIP use.
        assert (st["ip"], st["gateway"], st["dns"], st["mtu"]) == ("10.0.2.100", "10.0.2.2", ["10.0.2.3"], 65520)
        assert http_get(ports_of(data)[(80, "tcp")]) == "hello from the namespace\n"
        assert udp_ask(udp) == b"echo:ping"
        assert len(procs_mentioning(st["netns_path"])) == 1
    finally:
        down(podctl, data)
    assert_gone(st["netns_path"])
    assert not Path(st["log_path"]).exists()


def _download(port: int) -> float:
    t = time.perf_counter()
    n = 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/big", timeout=30) as r:
        while chunk := r.read(1 << 20):
            n += len(chunk)
    assert n == 100 << 20
    return n / (time.perf_counter() - t) / 1e6


def _rss_kib(pid: int) -> int:
    return int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])


def test_throughput_100mb_and_rss(podctl: Podctl, www: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = www / "big"
    with big.open("wb") as f:
        f.write(os.urandom(1 << 20) * 100)
    big.chmod(0o644)
    fwd = up(podctl, "bench", "-p", "127.0.0.1::80", "--http", f"{www}:80")
    api = up(podctl, "bench2", "--network", "slirp4netns:port_handler=slirp4netns", "-p", "127.0.0.1::80",
             "--http", f"{www}:80")  # fmt: skip
    assert "error" not in fwd and "error" not in api, (fwd, api)
    try:
        pf, pa = ports_of(fwd)[(80, "tcp")], ports_of(api)[(80, "tcp")]
        speeds: dict[str, list[float]] = {"fwd": [], "api": []}
        for _ in range(3):
            speeds["fwd"].append(_download(pf))
            speeds["api"].append(_download(pa))
        f, a = sorted(speeds["fwd"])[1], sorted(speeds["api"])[1]
        st = fwd["state"]
        rss_slirp, rss_fwd = _rss_kib(st["pid"]), _rss_kib(st["forwarder_pid"])
        with capsys.disabled():
            print(f"\n[net] 100 MB through a published port (median of 3): podctl forwarder {f:.0f} MB/s, "
                  f"slirp4netns API {a:.0f} MB/s; RSS slirp4netns {rss_slirp / 1024:.1f} MiB, "
                  f"forwarder {rss_fwd / 1024:.1f} MiB")
        assert a > 50 and f > 50, speeds
        assert rss_slirp < 64 * 1024 and rss_fwd < 64 * 1024
    finally:
        down(podctl, fwd)
        down(podctl, api)
    assert_gone(fwd["state"]["netns_path"])
    assert_gone(api["state"]["netns_path"])
