"""A generated pod unit with two containers, driven by the real systemd user manager."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from harness import BUSYBOX, Podctl, User, free_port, procs_mentioning
from systemd_helpers import remove_units

pytestmark = pytest.mark.e2e

# Both exit on SIGTERM (a PID 1 without a handler would ignore it and wait for SIGKILL).
WEB = "trap 'exit 0' TERM; httpd -f -p 80 -h /var/www & wait"
SIDE = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


@pytest.fixture
def pod_units(systemd_user: User) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    remove_units(systemd_user, names)


def test_pod_unit_serves_and_stops_clean(podctl: Podctl, registry: str, pod_units: list[str]) -> None:
    pod = f"sdp-{uuid.uuid4().hex[:8]}"
    port = free_port()
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
    # Nor the units' ID files in %t (they go with their container and pod).
    rt = podctl.user.runtime_dir
    assert [f.name for f in rt.iterdir() if pod in f.name and f.suffix in (".pod-id", ".ctr-id")] == []
    # No conmon, slirp4netns or port forwarder of this store is left.
    deadline = time.monotonic() + 5
    while (left := procs_mentioning(str(podctl.runroot), uid=podctl.user.uid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], left
