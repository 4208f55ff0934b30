"""runc, chosen with --runtime runc (crun is the automatic choice here): the main paths still
run through it for real, as the test user: run --rm, a detached container with exec, logs and
stop, a pod with a published port, and kube play/down, each leaving nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import BUSYBOX, Podctl, User, free_port, procs_mentioning
from kube_helpers import http_get, httpd_pod, published_pod_serves

pytestmark = pytest.mark.e2e

FAST = ("--stop-signal", "KILL")


@pytest.fixture(scope="module")
def pc(user: User, installed: str, registry: str) -> Iterator[Podctl]:
    p = Podctl.fresh(user, "runc")
    p.ok("pull", "-q", BUSYBOX)
    yield p
    p.cleanup()


def runc(p: Podctl, *args: str) -> str:
    return p.ok("--runtime", "runc", *args)


def test_run_rm_exit_codes(pc: Podctl) -> None:
    r = pc.run("--runtime", "runc", "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", "echo hi; exit 3")
    assert (r.returncode, r.stdout) == (3, "hi\n")
    r = pc.run("--runtime", "runc", "run", "--rm", "--network", "none", BUSYBOX, "nonexistent-cmd")
    assert r.returncode == 127 and "not found" in r.stderr
    r = pc.run("--runtime", "runc", "run", "-d", "--network", "none", BUSYBOX, "nonexistent-cmd")
    assert r.returncode == 127 and "runc" in r.stderr
    pc.ok("rm", "-a", "-f")
    assert pc.ok("ps", "-a", "-q") == ""


def test_detached_exec_logs_stop(pc: Podctl) -> None:
    cid = runc(pc, "run", "-d", "--name", "d1", *FAST, "--network", "none", BUSYBOX,
               "sh", "-c", "echo started; exec sleep 100").strip()  # fmt: skip
    assert pc.ok("inspect", "--format", "{{.OCIRuntime}}", "d1").strip().endswith("runc")
    assert (pc.runroot / "runc" / cid / "state.json").is_file()  # runc's state layout
    # Later commands use the container's own runtime, whatever the default is.
    assert pc.ok("exec", "d1", "sh", "-c", "grep Seccomp: /proc/self/status").split() == ["Seccomp:", "2"]
    assert "started" in pc.ok("logs", "d1")
    pc.ok("stop", "-t", "1", "d1")
    assert pc.ok("inspect", "--format", "{{.State.Status}}", "d1").strip() == "exited"
    pc.ok("rm", "d1")
    assert pc.ok("ps", "-a", "-q") == ""


def test_pod_and_kube_with_published_ports(pc: Podctl) -> None:
    published_pod_serves(pc, "runc")
    port = free_port()
    path = httpd_pod(pc, "kr", port)
    runc(pc, "kube", "play", path)
    assert pc.ok("inspect", "--format", "{{.OCIRuntime}}", "kr-web").strip().endswith("runc")
    assert http_get(port)
    runc(pc, "kube", "down", path)
    assert pc.ok("pod", "ps", "-q") == "" and pc.ok("ps", "-a", "-q") == ""
    assert [p for p in procs_mentioning(str(pc.runroot)) if "conmon" in p or "slirp4netns" in p] == []
