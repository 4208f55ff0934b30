"""A generated pod unit with two containers, driven by the real systemd user manager."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, User

pytestmark = pytest.mark.e2e

# Both exit on SIGTERM (a PID 1 without a handler would ignore it and wait for SIGKILL).
WEB = "trap 'exit 0' TERM; httpd -f -p 80 -h /var/www & wait"
SIDE = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _procs_mentioning(uid: int, text: str) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if d.stat().st_uid != uid:
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmd:
            out.append(f"{d.name}: {cmd}")
    return out


@pytest.fixture
def pod_units(systemd_user: User) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    unit_dir = systemd_user.home / ".config" / "systemd" / "user"
    for name in names:
        systemd_user.run(["systemctl", "--user", "stop", name], timeout=60)
        systemd_user.run(["systemctl", "--user", "reset-failed", name])
        (unit_dir / name).unlink(missing_ok=True)
    systemd_user.run(["systemctl", "--user", "daemon-reload"])


def test_pod_unit_serves_and_stops_clean(podctl: Podctl, registry: str, pod_units: list[str]) -> None:
    pod = f"sdp-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    pod_units += [f"pod-{pod}.service", f"container-{pod}-web.service", f"container-{pod}-side.service"]
    podctl.ok("pod", "create", "--name", pod, "-p", f"127.0.0.1:{port}:80")
    podctl.ok("create", "--pod", pod, "--name", f"{pod}-web", BUSYBOX, "sh", "-c", WEB)
    podctl.ok("create", "--pod", pod, "--name", f"{pod}-side", BUSYBOX, "sh", "-c", SIDE)
    t0 = time.monotonic()
    out = podctl.ok("generate", "systemd", "--new", "--name", "--install", "--start", pod)
    started = time.monotonic() - t0
    assert all(u in out for u in pod_units), out
    # Type=notify: when the start jobs are done, both containers already run.
    for c in (f"{pod}-web", f"{pod}-side"):
        assert podctl.ok("inspect", "--format", "{{.State.Status}}", c).strip() == "running", c
    for u in pod_units:
        p = podctl.user.run(["systemctl", "--user", "show", u, "-pActiveState", "--value"])
        assert p.stdout.strip() == "active", (u, p.stdout)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        assert b"hello" in r.read()
    assert started < 20

    p = podctl.user.run(["systemctl", "--user", "stop", pod_units[0]], timeout=60)
    assert p.returncode == 0, p.stderr
    for u in pod_units:
        p = podctl.user.run(["systemctl", "--user", "show", u, "-pActiveState", "--value"])
        assert p.stdout.strip() in ("inactive", "failed"), (u, p.stdout)
    assert podctl.json("ps", "-a", "--format", "json") == []
    assert podctl.json("pod", "ps", "--format", "json") == []
    # No conmon, slirp4netns or port forwarder of this store is left.
    deadline = time.monotonic() + 5
    while (left := _procs_mentioning(podctl.user.uid, str(podctl.runroot))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], left
