"""Healthchecks: `healthcheck run`, status in ps/inspect, timers in the real user manager."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from harness import BUSYBOX, Podctl, User

pytestmark = pytest.mark.e2e

SERVE = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def _wait_for(pred: Callable[[], bool], secs: float = 20) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def _name() -> str:
    return f"hc-{uuid.uuid4().hex[:8]}"


def test_healthcheck_run_status_in_ps_and_inspect(podctl: Podctl, registry: str) -> None:
    name = _name()
    podctl.ok("run", "-d", "--name", name, "--health-cmd", "cat /tmp/ok", "--health-interval", "0",
              "--health-retries", "2", BUSYBOX, "sh", "-c", SERVE)  # fmt: skip
    try:
        assert podctl.ok("ps", "--format", "{{.Status}}", "--filter", f"name={name}").strip().endswith(
            "(starting)"
        )
        hc = podctl.json("inspect", name)[0]["Config"]["Healthcheck"]
        assert hc["Test"] == ["CMD-SHELL", "cat /tmp/ok"] and hc["Retries"] == 2

        p = podctl.run("healthcheck", "run", name)
        assert (p.returncode, p.stdout.strip()) == (1, "unhealthy"), p
        health = podctl.json("inspect", name)[0]["State"]["Health"]
        assert (health["Status"], health["FailingStreak"]) == ("starting", 1), health

        podctl.ok("exec", name, "sh", "-c", "echo fine > /tmp/ok")
        p = podctl.run("healthcheck", "run", name)
        assert (p.returncode, p.stdout) == (0, ""), p
        health = podctl.json("inspect", name)[0]["State"]["Health"]
        assert (health["Status"], health["FailingStreak"]) == ("healthy", 0), health
        assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Output"] == "fine"
        assert podctl.ok("ps", "--format", "{{.Status}}", "--filter", f"name={name}").strip().endswith(
            "(healthy)"
        )

        podctl.ok("exec", name, "rm", "/tmp/ok")
        for _ in range(2):
            assert podctl.run("healthcheck", "run", name).returncode == 1
        health = podctl.json("inspect", name)[0]["State"]["Health"]
        assert (health["Status"], health["FailingStreak"]) == ("unhealthy", 2), health
        assert len(health["Log"]) == 4
        assert "(unhealthy)" in podctl.ok("ps", "--format", "{{.Status}}", "--filter", f"name={name}")
    finally:
        podctl.run("rm", "-f", "-t", "0", name)

    # A check that outlives --health-timeout is killed (inside the container too) and fails.
    slow = _name()
    podctl.ok("run", "-d", "--name", slow, "--health-cmd", "echo begin; sleep 7", "--health-timeout", "1s",
              "--health-interval", "0", BUSYBOX, "sleep", "1000")  # fmt: skip
    try:
        t0 = time.monotonic()
        p = podctl.run("healthcheck", "run", slow)
        assert p.returncode == 1 and time.monotonic() - t0 < 5, p
        entry = podctl.json("inspect", slow)[0]["State"]["Health"]["Log"][-1]
        assert entry["ExitCode"] == -1 and "timed out" in entry["Output"], entry
        assert "sleep 7" not in podctl.ok("top", slow, "args")
    finally:
        podctl.run("rm", "-f", "-t", "0", slow)

    # --health-on-failure kill / stop, once unhealthy.
    for action, code in (("kill", 137), ("stop", 0)):
        victim = _name()
        podctl.ok("run", "-d", "--name", victim, "--health-cmd", "false", "--health-retries", "1",
                  "--health-interval", "0", "--health-on-failure", action, BUSYBOX, "sh", "-c", SERVE)  # fmt: skip
        try:
            assert podctl.run("healthcheck", "run", victim).returncode == 1
            assert _wait_for(lambda v=victim: podctl.json("inspect", v)[0]["State"]["Status"] == "exited", 5)
            assert podctl.json("inspect", victim)[0]["State"]["ExitCode"] == code, action
        finally:
            podctl.run("rm", "-f", "-t", "0", victim)

    # No healthcheck, or not running: podman's errors (125).
    other = _name()
    podctl.ok("create", "--name", other, BUSYBOX, "true")
    p = podctl.run("healthcheck", "run", other)
    assert p.returncode == 125 and "no defined healthcheck" in p.stderr, p
    p = podctl.run("healthcheck", "run", "nosuchcontainer")
    assert p.returncode == 125 and "nosuchcontainer" in p.stderr
    p = podctl.run("run", "--rm", "--health-on-failure", "restart", "--no-healthcheck", BUSYBOX, "true")
    assert p.returncode == 125 and "--no-healthcheck" in p.stderr
    p = podctl.run("create", "--health-cmd", "true", "--health-interval", "5x", BUSYBOX)
    assert p.returncode == 125 and "--health-interval" in p.stderr
    podctl.ok("rm", other)


def test_failing_healthcheck_restarts_on_its_timer(
    podctl: Podctl, registry: str, systemd_user: User
) -> None:
    name = _name()
    cid = podctl.ok("run", "-d", "--name", name, "--health-cmd", "cat /tmp/ok", "--health-interval", "1s",
                    "--health-retries", "1", "--health-on-failure", "restart", BUSYBOX,
                    "sh", "-c", f"echo up > /tmp/ok; {SERVE}").strip()  # fmt: skip
    timer = f"podctl-health-{cid[:32]}.timer"

    def show(unit: str, prop: str) -> str:
        p = systemd_user.run(["systemctl", "--user", "show", unit, f"-p{prop}", "--value"])
        return p.stdout.strip()

    try:
        assert show(timer, "ActiveState") == "active"
        assert _wait_for(lambda: podctl.json("inspect", name)[0]["State"]["Health"]["Status"] == "healthy")
        first = podctl.json("inspect", name)[0]["State"]["StartedAt"]
        podctl.ok("exec", name, "rm", "/tmp/ok")
        # Unhealthy after one failed run: restarted (a new start), healthy again, same timer.
        assert _wait_for(lambda: podctl.json("inspect", name)[0]["State"]["StartedAt"] != first), \
            podctl.json("inspect", name)[0]["State"]  # fmt: skip
        assert _wait_for(lambda: podctl.json("inspect", name)[0]["State"]["Health"]["Status"] == "healthy")
        st = podctl.json("inspect", name)[0]["State"]
        assert st["Status"] == "running"
        assert any(e["ExitCode"] != 0 for e in st["Health"]["Log"])
        assert show(timer, "ActiveState") == "active"
        # The restarted container's monitor outlives the check run that started it.
        time.sleep(1.5)
        assert podctl.json("inspect", name)[0]["State"]["Status"] == "running"

        podctl.ok("stop", "-t", "2", name)
        assert _wait_for(lambda: show(timer, "LoadState") == "not-found", 5), show(timer, "ActiveState")
        service = timer.replace(".timer", ".service")
        assert _wait_for(lambda: show(service, "LoadState") == "not-found", 5), show(service, "ActiveState")
    finally:
        podctl.run("rm", "-f", "-t", "0", name)
        systemd_user.run(["systemctl", "--user", "stop", timer])

    # A pod member's timer goes with `pod rm -f` (members killed at once, then removed).
    pod = _name()
    podctl.ok("pod", "create", "--name", pod)
    cid = podctl.ok("run", "-d", "--pod", pod, "--health-cmd", "true", "--health-interval", "5s",
                    BUSYBOX, "sleep", "1000").strip()  # fmt: skip
    timer = f"podctl-health-{cid[:32]}.timer"
    try:
        assert show(timer, "ActiveState") == "active"
        podctl.ok("pod", "rm", "-f", pod)
        assert show(timer, "LoadState") == "not-found"
    finally:
        podctl.run("pod", "rm", "-f", pod)
        systemd_user.run(["systemctl", "--user", "stop", timer])


def test_sdnotify_healthy_unit_ready_after_first_passing_check(
    podctl: Podctl, registry: str, systemd_user: User
) -> None:
    name = _name()
    unit = f"container-{name}.service"
    unit_file = systemd_user.home / ".config" / "systemd" / "user" / unit
    podctl.ok("create", "--name", name, "--sdnotify", "healthy", "--health-cmd", "cat /tmp/ok",
              "--health-interval", "1s", BUSYBOX, "sh", "-c", f"sleep 1.5; echo ok > /tmp/ok; {SERVE}")  # fmt: skip
    try:
        t0 = time.monotonic()
        podctl.ok("generate", "systemd", "--new", "--name", "--install", "--start", name)
        took = time.monotonic() - t0
        # READY=1 only came once a check passed: the container was healthy when the job ended.
        health = podctl.json("inspect", name)[0]["State"]["Health"]
        assert health["Status"] == "healthy", health
        assert took >= 1.5
        assert "--sdnotify healthy" in " ".join(unit_file.read_text().replace("\\\n", " ").split())
        p = systemd_user.run(["systemctl", "--user", "show", unit, "-pActiveState", "--value"])
        assert p.stdout.strip() == "active"
    finally:
        systemd_user.run(["systemctl", "--user", "stop", unit], timeout=60)
        systemd_user.run(["systemctl", "--user", "reset-failed", unit])
        unit_file.unlink(missing_ok=True)
        systemd_user.run(["systemctl", "--user", "daemon-reload"])
        podctl.run("rm", "-f", "-t", "0", name)


def test_no_user_manager_warns_and_runs(podctl: Podctl, registry: str) -> None:
    name = _name()
    nobus = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={podctl.runroot}/no-such-bus"}
    p = podctl.run("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "5s",
                   BUSYBOX, "sleep", "1000", env=nobus)  # fmt: skip
    try:
        assert p.returncode == 0, p.stderr
        assert "will not run on its own every 5s" in p.stderr and "no systemd user manager" in p.stderr
        assert f"podctl healthcheck run {name}" in p.stderr
        assert podctl.run("healthcheck", "run", name, env=nobus).returncode == 0
        assert podctl.json("inspect", name)[0]["State"]["Health"]["Status"] == "healthy"
    finally:
        podctl.run("rm", "-f", "-t", "0", name, env=nobus)
