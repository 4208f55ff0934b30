"""`pod start` starts the members at once after the infra: every member runs, a member that
cannot start is reported by name while the others run, and the published port (whose
forwarder finishes starting while the infra is created) serves; `pod rm -f` leaves nothing."""

from __future__ import annotations

import time

import pytest
from harness import BUSYBOX, Podctl, free_port, helpers_of
from kube_helpers import http_get

pytestmark = pytest.mark.e2e

FAST = ("--stop-signal", "KILL")


def test_pod_start_starts_members_at_once_and_names_a_failing_one(podctl: Podctl, registry: str) -> None:
    port = free_port()
    podctl.ok("pod", "create", "--name", "par", "-p", f"127.0.0.1:{port}:80")
    podctl.ok("create", "--pod", "par", "--name", "par-web", *FAST, BUSYBOX, "httpd", "-f", "-p", "80",
              "-h", "/var/www")  # fmt: skip
    for m in ("a", "b"):
        podctl.ok("create", "--pod", "par", "--name", f"par-{m}", *FAST, BUSYBOX, "sleep", "600")
    podctl.ok("create", "--pod", "par", "--name", "par-bad", BUSYBOX, "/no/such/program")
    started = podctl.run("pod", "start", "par")
    assert started.returncode != 0
    assert "par-bad" in started.stderr and "/no/such/program" in started.stderr, started.stderr
    for m in ("par-web", "par-a", "par-b"):
        assert podctl.ok("inspect", "--format", "{{.State.Status}}", m).strip() == "running", m
    assert podctl.ok("inspect", "--format", "{{.State.Status}}", "par-bad").strip() != "running"
    # The members share the infra's network namespace; the published port answers.
    ns = {podctl.ok("exec", m, "readlink", "/proc/self/ns/net") for m in ("par-web", "par-a", "par-b")}
    assert len(ns) == 1
    assert "hello" in http_get(port)
    podctl.ok("pod", "rm", "-f", "par")
    deadline = time.monotonic() + 5
    while helpers_of(podctl) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helpers_of(podctl) == []
    assert podctl.ok("ps", "-a", "-q").split() == []
    netns = podctl.runroot / "netns"
    assert not netns.exists() or list(netns.iterdir()) == []


def test_pod_stop_stops_members_at_once(podctl: Podctl, registry: str) -> None:
    # busybox sleep as PID 1 ignores SIGTERM: each member waits the whole timeout. One after
    # another, four members would take >= 4 s.
    podctl.ok("pod", "create", "--name", "slow")
    for m in "abcd":
        podctl.ok("run", "-d", "--pod", "slow", "--name", f"slow-{m}", BUSYBOX, "sleep", "600")
    t0 = time.monotonic()
    stopped = podctl.run("pod", "stop", "-t", "1", "slow")
    took = time.monotonic() - t0
    assert stopped.returncode == 0, stopped.stderr
    assert took < 3.5, f"pod stop took {took:.1f}s"
    for m in "abcd":
        assert podctl.ok("inspect", "--format", "{{.State.Status}}", f"slow-{m}").strip() == "exited"
    assert podctl.json("pod", "inspect", "slow")["State"] in ("Exited", "Stopped")
    podctl.ok("pod", "rm", "slow")
    assert podctl.ok("ps", "-a", "-q").split() == []
