"""Who cleans up after a container: the podctl that stopped it, or conmon's exit command.

A podctl that stops or kills a container and cleans it up itself (stop, rm -f, pod stop/rm,
systemd's ExecStop) claims the cleanup first, and conmon's exit command then starts no second
podctl (podctl.runtime.claim). A container that ends on its own is still cleaned up by the exit
command, restart policies still apply, and the claim of a podctl that died counts for nothing.

Every podctl process below logs its arguments (a sitecustomize.py on PYTHONPATH, inherited by
conmon and so by its exit command), so the tests see which podctl processes ran.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, User
from systemd_helpers import remove_units, show

pytestmark = pytest.mark.e2e

# PID 1 in the container: exits cleanly on SIGTERM, so `podctl stop` is quick.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
SITE = """import os, sys
_log = os.environ.get("PODCTL_TEST_EXEC_LOG")
if _log:
    with open(_log, "a") as _f:
        _f.write(" ".join(sys.argv[1:]) + "\\n")
"""


class Trace:
    """The podctl processes started (by the test, conmon or systemd), one line of arguments each."""

    def __init__(self, user: User) -> None:
        self.dir = user.mkdir(
            user.home / ".cache" / "podctl-tests" / f"trace-{uuid.uuid4().hex[:8]}", 0o755
        )
        site = self.dir / "sitecustomize.py"
        site.write_text(SITE)
        self.log = self.dir / "exec.log"
        self.log.write_text("")
        if user.drop:
            os.chown(site, user.uid, user.gid)
            os.chown(self.log, user.uid, user.gid)
        self.env = {"PYTHONPATH": str(self.dir), "PODCTL_TEST_EXEC_LOG": str(self.log)}

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def cleanups(self) -> list[str]:
        return [ln for ln in self.lines() if " container cleanup " in f" {ln} "]

    def mark(self) -> int:
        return len(self.lines())

    def since(self, mark: int) -> list[str]:
        return self.lines()[mark:]


@pytest.fixture
def traced(podctl: Podctl) -> Iterator[tuple[Podctl, Trace]]:
    trace = Trace(podctl.user)
    podctl.env.update(trace.env)
    try:
        yield podctl, trace
    finally:
        import shutil

        shutil.rmtree(trace.dir, ignore_errors=True)


def _wait(pred: Callable[[], bool], secs: float = 15) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _conmons(podctl: Podctl) -> list[str]:
    """conmon processes of this test's storage."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() != "conmon":
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(podctl.runroot) in cmd:
            out.append(cmd)
    return out


def _mounted(podctl: Podctl, cid: str) -> bool:
    """Whether anything of container CID is mounted in the user's namespace."""
    return cid in podctl.ok("unshare", "cat", "/proc/self/mountinfo")


def _state(podctl: Podctl, name: str) -> tuple[str, int]:
    out = podctl.ok("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).split()
    return out[0], int(out[1])


def test_stop_cleans_up_itself_without_an_exit_command_process(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    keep = podctl.ok("run", "-d", "--name", "keep", BUSYBOX, *SERVE).strip()
    cidfile = podctl.root / "gone.ctr-id"
    gone = podctl.ok(
        "run", "-d", "--rm", "--cidfile", str(cidfile), "--name", "gone", BUSYBOX, *SERVE
    ).strip()
    assert cidfile.read_text().strip() == gone
    assert _mounted(podctl, keep) and _mounted(podctl, gone)

    podctl.ok("stop", "keep")
    podctl.ok("stop", "--cidfile", str(cidfile))  # podman's spelling in generated units
    # stop returns once conmon, which waits for its exit command, has exited.
    assert _conmons(podctl) == []
    assert trace.cleanups() == [], trace.lines()
    # ... and still did all the exit command did: exit code recorded, rootfs unmounted,
    # the --rm container removed together with its ID file.
    assert _state(podctl, "keep") == ("exited", 0)
    assert not _mounted(podctl, keep) and not _mounted(podctl, gone)
    assert [c["Names"] for c in podctl.json("ps", "-a", "--format", "json")] == [["keep"]]
    assert not cidfile.exists()

    # The claim is of that one run: started again, the container's own exit is cleaned up.
    podctl.ok("start", "keep")
    pid = int(podctl.ok("inspect", "--format", "{{.State.Pid}}", "keep"))
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: len(trace.cleanups()) == 1 and not _mounted(podctl, keep)), trace.lines()
    assert _state(podctl, "keep") == ("exited", 137)

    # rm --cidfile: the file goes with the container; a missing file is fine with --ignore only.
    podctl.ok("run", "-d", "--cidfile", str(cidfile), "--name", "third", BUSYBOX, *SERVE)
    mark = trace.mark()
    podctl.ok("rm", "-f", "-t", "0", "--cidfile", str(cidfile))
    assert not cidfile.exists()
    assert [ln for ln in trace.since(mark) if "cleanup" in ln] == []
    assert podctl.run("rm", "-f", "--ignore", "--cidfile", str(cidfile)).returncode == 0
    assert podctl.run("stop", "--ignore", "--cidfile", str(cidfile)).returncode == 0
    p = podctl.run("stop", "--cidfile", str(cidfile))
    assert p.returncode == 125 and "reading CIDFile" in p.stderr, p.stderr


def test_exit_on_its_own_is_cleaned_up_by_the_exit_command(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    code3 = podctl.ok(
        "run", "-d", "--name", "code3", BUSYBOX, "sh", "-c", "sleep 0.3; exit 3"
    ).strip()
    tmp = podctl.ok("run", "-d", "--rm", "--name", "tmp", BUSYBOX, "sh", "-c", "sleep 0.3").strip()
    assert _wait(lambda: len(trace.cleanups()) == 2), trace.lines()
    assert _wait(lambda: _state(podctl, "code3") == ("exited", 3))
    assert _wait(
        lambda: [c["Names"] for c in podctl.json("ps", "-a", "--format", "json")] == [["code3"]]
    )
    assert _wait(lambda: not _mounted(podctl, code3) and not _mounted(podctl, tmp))
    assert _wait(lambda: _conmons(podctl) == [])


def test_restart_policy_after_a_crash_but_not_after_stop(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    podctl.ok("run", "-d", "--name", "always", "--restart", "always", BUSYBOX, *SERVE)
    first = int(podctl.ok("inspect", "--format", "{{.State.Pid}}", "always"))
    os.kill(first, signal.SIGKILL)  # a crash: the exit command cleans up and restarts it

    def restarted() -> bool:
        out = podctl.ok(
            "inspect", "--format", "{{.State.Status}} {{.State.Pid}} {{.RestartCount}}", "always"
        )
        status, pid, count = out.split()
        return status == "running" and int(pid) not in (0, first) and int(count) >= 1

    assert _wait(restarted), trace.lines()
    assert len(trace.cleanups()) == 1
    count = podctl.ok("inspect", "--format", "{{.RestartCount}}", "always").strip()
    podctl.ok("stop", "always")
    time.sleep(0.5)
    assert _state(podctl, "always") == ("exited", 0)
    assert podctl.ok("inspect", "--format", "{{.RestartCount}}", "always").strip() == count
    assert len(trace.cleanups()) == 1, trace.lines()


def test_claim_of_a_killed_stopper_does_not_block_cleanup(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    # busybox sleep as PID 1 ignores SIGTERM: `stop -t 60` waits, holding its claim.
    cid = podctl.ok("run", "-d", "--name", "stubborn", BUSYBOX, "sleep", "600").strip()
    pid = int(podctl.ok("inspect", "--format", "{{.State.Pid}}", "stubborn"))
    claim = podctl.runroot / "containers" / cid / "cleanup-claim"
    stopper = podctl.user.popen(podctl.argv("stop", "-t", "60", "stubborn"), env=podctl.env)
    try:
        assert _wait(claim.exists), "stop wrote no claim"
        time.sleep(0.2)
    finally:
        stopper.kill()  # killed mid-way: its claim stays behind
        stopper.wait()
    assert claim.exists()
    os.kill(pid, signal.SIGKILL)  # the container now dies: the stale claim must not matter
    assert _wait(lambda: len(trace.cleanups()) == 1), trace.lines()
    assert _wait(lambda: _state(podctl, "stubborn") == ("exited", 137))
    assert _wait(lambda: not _mounted(podctl, cid))
    assert _conmons(podctl) == []


def test_pod_stop_and_rm_start_no_exit_command_process(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    podctl.ok("pod", "create", "--name", "pc")
    for m in ("a", "b"):
        podctl.ok("run", "-d", "--pod", "pc", "--name", f"pc-{m}", BUSYBOX, *SERVE)
    podctl.ok("pod", "stop", "pc")
    assert _conmons(podctl) == []
    assert all(_state(podctl, f"pc-{m}")[0] == "exited" for m in ("a", "b"))
    podctl.ok("pod", "start", "pc")
    podctl.ok("pod", "rm", "-f", "pc")
    assert _conmons(podctl) == []
    assert podctl.json("ps", "-a", "--format", "json") == []
    assert trace.cleanups() == [], trace.lines()


def test_systemctl_stop_of_a_new_unit_runs_one_podctl(
    traced: tuple[Podctl, Trace], registry: str, systemd_user: User
) -> None:
    podctl, trace = traced
    name = f"sdc-{uuid.uuid4().hex[:8]}"
    unit = f"container-{name}.service"
    try:
        podctl.ok("create", "--name", name, BUSYBOX, *SERVE)
        env = [a for k, v in trace.env.items() for a in ("--env", f"{k}={v}")]
        podctl.ok("generate", "systemd", "--new", "--name", *env, "--install", "--start", name)
        cid = podctl.ok("inspect", "--format", "{{.Id}}", name).strip()
        cidfile = podctl.user.runtime_dir / f"{unit}.ctr-id"
        assert cidfile.read_text().strip() == cid
        mark = trace.mark()
        p = podctl.user.run(["systemctl", "--user", "stop", unit], timeout=60)
        assert p.returncode == 0, p.stderr
        assert show(podctl.user, unit, "ActiveState")["ActiveState"] == "inactive"
        # ExecStop's `podctl stop` did everything: no exit-command process, and ExecStopPost
        # found no ID file, so it started no `podctl rm`.
        ran = trace.since(mark)
        assert len(ran) == 1 and " stop " in f" {ran[0]} " and "--cidfile" in ran[0], ran
        assert podctl.json("ps", "-a", "--format", "json") == []
        assert not cidfile.exists()
        assert _conmons(podctl) == []
        assert not _mounted(podctl, cid)
    finally:
        remove_units(podctl.user, [unit])


def test_stop_of_the_last_member_applies_the_pods_exit_policy(
    traced: tuple[Podctl, Trace], registry: str
) -> None:
    podctl, trace = traced
    podctl.ok("pod", "create", "--name", "ep", "--exit-policy", "stop")
    podctl.ok("run", "-d", "--pod", "ep", "--name", "ep-a", BUSYBOX, *SERVE)
    infra = podctl.json("pod", "inspect", "ep")["InfraContainerID"]

    def infra_state() -> str:
        return podctl.ok("inspect", "--format", "{{.State.Status}}", infra).strip()

    # restart is no stop of the pod's last member: the infra keeps running.
    podctl.ok("restart", "ep-a")
    assert _state(podctl, "ep-a")[0] == "running" and infra_state() == "running"
    # A user's stop of the last member stops the pod, done by `stop` itself, as the exit
    # command did before.
    podctl.ok("stop", "ep-a")
    assert infra_state() == "exited"
    assert _conmons(podctl) == []
    assert trace.cleanups() == [], trace.lines()
