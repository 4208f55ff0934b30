"""Container lifecycle as the unprivileged user: restart policies, stop/kill/rm, names, cp,
20 concurrent `run -d`, and a podctl killed in the middle of `create`."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e


@pytest.fixture
def hostdir(podctl: Podctl) -> Iterator[Path]:
    """A directory the test user owns (pytest's tmp_path is private to root)."""
    d = podctl.user.mkdir(podctl.root.parent / f"{podctl.root.name}-host")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _wait_for(pred, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _ps(podctl: Podctl) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["Names"][0]: c for c in podctl.json("ps", "-a", "--format", "json")}


def test_restart_policies(podctl: Podctl, registry: str) -> None:
    podctl.ok("run", "-d", "--name", "fails", "--restart", "on-failure:2", BUSYBOX, "sh", "-c", "exit 1")
    podctl.ok("run", "-d", "--name", "always", "--restart", "always", BUSYBOX, "sh", "-c", "sleep 0.2")
    podctl.ok("run", "-d", "--name", "never", BUSYBOX, "sh", "-c", "exit 2")

    def settled() -> bool:
        ps = _ps(podctl)
        return ps["fails"]["Restarts"] == 2 and ps["fails"]["State"] == "exited" and ps["always"]["Restarts"] >= 2

    _wait_for(settled)
    ps = _ps(podctl)
    assert ps["fails"]["ExitCode"] == 1
    assert ps["never"]["Restarts"] == 0 and ps["never"]["ExitCode"] == 2
    # A user's stop is final, even with --restart=always.
    podctl.ok("stop", "-t", "1", "always")
    count = _ps(podctl)["always"]["Restarts"]
    time.sleep(1)
    ps = _ps(podctl)
    assert ps["always"]["State"] == "exited" and ps["always"]["Restarts"] == count
    podctl.ok("rm", "-a")


def test_stop_kill_rm_rename_cp(podctl: Podctl, registry: str, hostdir: Path) -> None:
    podctl.ok("run", "-d", "--name", "first", BUSYBOX, "sleep", "600")
    rm_running = podctl.run("rm", "first")
    assert rm_running.returncode == 2 and "running" in rm_running.stderr
    assert podctl.run("rm", "nonexistent").returncode == 1
    assert podctl.run("container", "exists", "first").returncode == 0
    assert podctl.run("container", "exists", "second").returncode == 1
    podctl.ok("rename", "first", "second")
    assert podctl.run("container", "exists", "second").returncode == 0

    # cp both ways, into a running container
    src = podctl.user.mkdir(hostdir / "cp")
    (src / "in.txt").write_text("from host\n")
    import os

    os.chown(src / "in.txt", podctl.user.uid, podctl.user.gid)
    podctl.ok("cp", str(src / "in.txt"), "second:/tmp/")
    assert podctl.ok("exec", "second", "cat", "/tmp/in.txt") == "from host\n"
    podctl.ok("exec", "second", "sh", "-c", "echo from ctr > /tmp/out.txt")
    podctl.ok("cp", "second:/tmp/out.txt", str(src / "out.txt"))
    assert (src / "out.txt").read_text() == "from ctr\n"

    start = time.monotonic()
    podctl.ok("kill", "-s", "TERM", "second")  # PID 1 ignores SIGTERM without a handler
    time.sleep(0.5)
    assert _ps(podctl)["second"]["State"] == "running"
    podctl.ok("kill", "second")
    _wait_for(lambda: _ps(podctl)["second"]["State"] == "exited")
    assert _ps(podctl)["second"]["ExitCode"] == 137
    assert time.monotonic() - start < 15
    podctl.ok("start", "second")
    assert _ps(podctl)["second"]["State"] == "running"
    podctl.ok("restart", "-t", "0", "second")
    assert _ps(podctl)["second"]["State"] == "running"
    podctl.ok("rm", "-f", "second")
    assert podctl.ok("ps", "-a", "-q") == ""

    # --replace, --cidfile, labels and filters
    cidfile = hostdir / "cid"
    podctl.user.mkdir(hostdir, 0o777)
    podctl.ok("create", "--name", "cee", "-l", "app=x", "--cidfile", str(cidfile), BUSYBOX, "true")
    cid = cidfile.read_text()
    new = podctl.ok("create", "--replace", "--name", "cee", "-l", "app=y", BUSYBOX, "true").strip()
    assert new != cid
    assert podctl.ok("ps", "-a", "-q", "--filter", "label=app=y") == new[:12] + "\n"
    assert podctl.ok("ps", "-a", "-q", "--filter", "label=app=x") == ""
    assert podctl.ok("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}") == "cee\n"
    # An existing --cidfile is an error (podman's rule) and creates nothing; with --replace a
    # leftover one is overwritten (what generated units rely on instead of `rm -f` first).
    podctl.user.run(["sh", "-c", f"echo stale > {cidfile}"], check=True)
    taken = podctl.run("create", "--name", "cee2", "--cidfile", str(cidfile), BUSYBOX, "true")
    assert taken.returncode == 125 and f"container id file {cidfile} exists" in taken.stderr
    assert podctl.ok("ps", "-a", "--format", "{{.Names}}") == "cee\n"
    assert cidfile.read_text() == "stale\n"
    new = podctl.ok("create", "--replace", "--name", "cee", "-l", "app=y", "--cidfile", str(cidfile),
                    BUSYBOX, "true").strip()  # fmt: skip
    assert cidfile.read_text() == new
    # start --attach streams the output and exits with the container's code
    podctl.ok("create", "--name", "att", BUSYBOX, "sh", "-c", "echo attached; exit 6")
    p = podctl.run("start", "-a", "att")
    assert (p.returncode, p.stdout) == (6, "attached\n")
    podctl.ok("rm", "att")
    assert podctl.ok("container", "prune", "-f").strip() == new
    assert podctl.ok("ps", "-a", "-q") == ""


def test_twenty_concurrent_run_detached(podctl: Podctl, registry: str) -> None:
    podctl.ok("pull", BUSYBOX)
    procs = [
        podctl.user.popen(podctl.argv("run", "-d", "--name", f"c{i}", BUSYBOX, "sleep", "600"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for i in range(20)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    failures = [r for r in results if r[0] != 0]
    assert not failures, failures
    assert not any("locked" in r[2] for r in results)
    ps = podctl.json("ps", "--format", "json")
    names = sorted(c["Names"][0] for c in ps)
    assert names == sorted(f"c{i}" for i in range(20))
    assert len({c["Id"] for c in ps}) == 20
    assert all(c["State"] == "running" for c in ps)
    rm = podctl.run("rm", "-f", "-t", "0", "-a", timeout=180)
    assert rm.returncode == 0, rm.stderr
    assert podctl.ok("ps", "-a", "-q") == ""


def test_sigkill_mid_create_leaves_nothing_unlisted(podctl: Podctl, registry: str) -> None:
    podctl.ok("pull", BUSYBOX)
    for delay in (0.15, 0.25, 0.35, 0.45, 0.6):
        p = podctl.user.popen(podctl.argv("run", "-d", BUSYBOX, "sleep", "6061"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
    listed = podctl.ok("ps", "-a", "-q").split()
    rm = podctl.run("rm", "-f", "-t", "0", "-a")
    assert rm.returncode == 0, rm.stderr
    assert podctl.ok("ps", "-a", "-q") == ""
    # Nothing is left in storage that no record points to.
    left = podctl.ok("unshare", "sh", "-c",
                     f"ls -A {podctl.root}/containers; ls -A {podctl.root}/trash 2>/dev/null; true")  # fmt: skip
    assert left.split() == [], (listed, left)
    # ... and no container process survives its record.
    _wait_for(lambda: not _processes("sleep 6061"), timeout=10)


def _processes(cmdline: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "cmdline").read_bytes().replace(b"\0", b" ").strip() == cmdline.encode():
                out.append(int(d.name))
        except OSError:
            continue
    return out


def test_sdnotify_conmon_reports_ready(podctl: Podctl, registry: str) -> None:
    import os
    import socket

    path = podctl.runroot / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(path))
        os.chmod(path, 0o777)
        s.settimeout(30)
        podctl.ok("run", "-d", "--name", "svc", "--sdnotify", "conmon", BUSYBOX, "sleep", "600",
                  env={"NOTIFY_SOCKET": str(path)})  # fmt: skip
        msg = s.recv(4096).decode()
    info = podctl.json("inspect", "svc")[0]
    assert "READY=1" in msg
    assert f"MAINPID={info['State']['ConmonPid']}" in msg
    podctl.ok("rm", "-f", "-t", "0", "svc")
