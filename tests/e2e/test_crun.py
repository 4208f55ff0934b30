"""crun on this host (hybrid cgroups; podctl's automatic choice): podctl hides the cgroup v2 hierarchy from
crun in its own mount namespace, runs crun without a cgroup manager, and caches the compiled
seccomp filter. Real containers, as the test user."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, User, free_port, procs_mentioning
from kube_helpers import http_get, httpd_pod, published_pod_serves

pytestmark = pytest.mark.e2e

FAST = ("--stop-signal", "KILL")
UNIFIED = "/sys/fs/cgroup/unified"


@pytest.fixture(scope="module")
def pc(user: User, installed: str, registry: str) -> Iterator[Podctl]:
    p = Podctl.fresh(user, "crun")
    p.ok("pull", "-q", BUSYBOX)
    yield p
    p.cleanup()


def crun(p: Podctl, *args: str, **kw: object) -> str:
    return p.ok("--runtime", "crun", *args, **kw)  # type: ignore[arg-type]


def crun_run(p: Podctl, *args: str) -> tuple[int, str, str]:
    r = p.run("--runtime", "crun", *args)
    return r.returncode, r.stdout, r.stderr


def pause_mounts(p: Podctl) -> list[str]:
    pid = int((p.runroot / "pause.pid").read_text())
    return Path(f"/proc/{pid}/mountinfo").read_text().splitlines()


def test_run_rm_exit_codes_and_output(pc: Podctl) -> None:
    code, out, _ = crun_run(pc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", "echo hello; exit 3")
    assert (code, out) == (3, "hello\n")
    assert crun_run(pc, "run", "--rm", "--network", "none", BUSYBOX, "true")[0] == 0
    code, _, err = crun_run(pc, "run", "--rm", "--network", "none", BUSYBOX, "nonexistent-cmd")
    assert code == 127 and "not found" in err
    code, _, err = crun_run(pc, "run", "--rm", "--network", "none", BUSYBOX, "/etc/passwd")
    assert code == 126 and "ermission denied" in err
    # The conmon path classifies crun's own messages the same way.
    code, _, err = crun_run(pc, "run", "-d", "--network", "none", BUSYBOX, "nonexistent-cmd")
    assert code == 127 and "crun" in err and "not found" in err
    code, _, err = crun_run(pc, "run", "-d", "--network", "none", BUSYBOX, "/etc/passwd")
    assert code == 126 and "crun" in err
    pc.ok("rm", "-a", "-f")
    # crun really ran them (its state layout), and saw no cgroup controllers.
    if Path(UNIFIED, "cgroup.controllers").exists() and Path(UNIFIED, "cgroup.controllers").read_text().strip():
        tops = [line for line in pause_mounts(pc) if f" {UNIFIED} " in line]
        assert "podctl-nocgroup" in tops[-1], tops
        # --network host containers get the host's /sys as podctl's namespace sees it: the
        # v1 controllers, and an empty directory where the v2 hierarchy was.
        out = crun(pc, "run", "--rm", "--network", "host", BUSYBOX, "sh", "-c",
                   f"ls -A {UNIFIED} | wc -l; test -d /sys/fs/cgroup/memory && echo v1")  # fmt: skip
        assert out.split() == ["0", "v1"]


def test_detached_exec_logs_stop_rm(pc: Podctl) -> None:
    cid = crun(pc, "run", "-d", "--name", "d1", *FAST, "--network", "none", BUSYBOX,
               "sh", "-c", "echo started; exec sleep 100").strip()  # fmt: skip
    assert pc.ok("inspect", "--format", "{{.State.Status}}", "d1").strip() == "running"
    # crun's state for it, not runc's (crun writes `status`, runc `state.json`).
    assert (pc.runroot / "runc" / cid / "status").is_file()
    assert crun(pc, "exec", "d1", "sh", "-c", "echo in-exec; grep Seccomp: /proc/self/status").split() == [
        "in-exec", "Seccomp:", "2"]  # fmt: skip
    deadline = time.monotonic() + 5
    while "started" not in crun(pc, "logs", "d1") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert crun(pc, "logs", "d1") == "started\n"
    crun(pc, "stop", "-t", "1", "d1")
    assert pc.ok("inspect", "--format", "{{.State.Status}}", "d1").strip() == "exited"
    assert not (pc.runroot / "runc" / cid).exists()
    crun(pc, "rm", "d1")
    assert pc.ok("ps", "-a", "-q") == ""


def test_container_keeps_its_runtime(pc: Podctl) -> None:
    """As podman: later commands use the runtime a container was created with, whatever
    --runtime they pass (exec through runc of a crun container would fail)."""
    pc.ok("run", "-d", "--name", "kc", *FAST, "--network", "none", BUSYBOX, "sleep", "100")
    pc.ok("--runtime", "runc", "run", "-d", "--name", "kr", *FAST, "--network", "none", BUSYBOX, "sleep", "100")
    assert pc.ok("--runtime", "runc", "exec", "kc", "echo", "via-runc-flag").strip() == "via-runc-flag"
    assert pc.ok("inspect", "--format", "{{.OCIRuntime}}", "kc", "kr").split() == ["crun", "runc"]
    assert pc.ok("exec", "kr", "echo", "via-default").strip() == "via-default"
    assert pc.ok("--runtime", "runc", "kill", "kc").strip() and pc.ok("kill", "kr").strip()
    pc.ok("rm", "-f", "kc", "kr")
    assert pc.ok("ps", "-a", "-q") == ""


def test_pod_with_published_port_answers(pc: Podctl) -> None:
    published_pod_serves(pc, "crun")
    assert pc.ok("pod", "ps", "-q") == "" and pc.ok("ps", "-a", "-q") == ""


def test_kube_play_and_down(pc: Podctl) -> None:
    port = free_port()
    path = httpd_pod(pc, "kc", port)
    crun(pc, "kube", "play", path)
    assert http_get(port)
    crun(pc, "kube", "down", path)
    assert pc.ok("pod", "ps", "-q") == "" and pc.ok("ps", "-a", "-q") == ""


def _profile(pc: Podctl) -> str:
    """A seccomp profile of our own that makes mkdir fail with EPERM (nothing else would)."""
    path = pc.root / "deny-mkdir.json"
    path.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }))  # fmt: skip
    path.chmod(0o644)
    return str(path)


def _bundle_config(pc: Podctl, name: str) -> dict[str, object]:
    cid = pc.ok("inspect", "--format", "{{.Id}}", name).strip()
    data: dict[str, object] = json.loads((pc.runroot / "containers" / cid / "config.json").read_text())
    return data


def test_seccomp_filter_compiled_then_cached(pc: Podctl) -> None:
    cache = pc.runroot / "seccomp-bpf"
    script = "grep Seccomp: /proc/self/status; mkdir /tmp/d && echo made"
    prof = _profile(pc)
    # Without our profile (the default one) mkdir works: the EPERM below is the filter's.
    assert crun(pc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", script).split() == [
        "Seccomp:", "2", "made"]  # fmt: skip
    before = {p.name for p in cache.iterdir()}
    runs = []
    for name in ("s1", "s2"):
        r = pc.run("--runtime", "crun", "run", "--name", name, "--network", "none",
                   "--security-opt", f"seccomp={prof}", BUSYBOX, "sh", "-c", script)  # fmt: skip
        assert r.returncode == 1, r
        assert r.stdout.split() == ["Seccomp:", "2"]
        assert "Operation not permitted" in r.stderr
        runs.append(_bundle_config(pc, name))
    new = {p.name for p in cache.iterdir() if not p.name.startswith(".") and len(p.name) == 64} - before
    assert len(new) == 1, new  # one compiled filter for our profile, kept by the first run
    bpf = (cache / new.pop()).read_bytes()
    assert bpf and len(bpf) % 8 == 0
    first, second = runs
    assert "run.oci.seccomp_bpf_data" not in (first.get("annotations") or {})  # type: ignore[operator]
    assert (second.get("annotations") or {})["run.oci.seccomp_bpf_data"] == base64.b64encode(bpf).decode()  # type: ignore[index]
    assert "hooks" not in second
    # The default profile's filter is cached as well, and a cached run still filters.
    assert crun(pc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", script).split() == [
        "Seccomp:", "2", "made"]  # fmt: skip
    pc.ok("rm", "s1", "s2")


def test_crun_is_the_default_and_runc_still_runs_and_leaves_nothing(pc: Podctl) -> None:
    # crun is picked automatically (it runs here with the hierarchy hidden); runc, chosen,
    # runs in the same namespace.
    pc.ok("run", "--name", "c1", "--network", "none", BUSYBOX, "true")
    assert pc.ok("inspect", "--format", "{{.OCIRuntime}}", "c1").strip() == "crun"
    pc.ok("rm", "c1")
    pc.ok("--runtime", "runc", "run", "--name", "r1", "--network", "none", BUSYBOX, "true")
    cid = pc.ok("inspect", "--format", "{{.Id}}", "r1").strip()
    assert pc.ok("inspect", "--format", "{{.OCIRuntime}}", "r1").strip().endswith("runc")
    pc.ok("rm", "r1")
    assert cid
    assert pc.ok("ps", "-a", "-q") == ""
    deadline = time.monotonic() + 5
    while procs_mentioning(str(pc.runroot)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in procs_mentioning(str(pc.runroot)) if "conmon" in p] == []
    mounts = pause_mounts(pc)
    ours = [m for m in mounts if str(pc.root) in m or str(pc.runroot) in m]
    assert ours == [], ours
    hidden = [m for m in mounts if "podctl-nocgroup" in m]
    assert len(hidden) <= 1 and all(f" {UNIFIED} " in m for m in hidden)
    assert not os.listdir(pc.runroot / "runc") or set(os.listdir(pc.runroot / "runc")) <= {"cgroup-hide.lock"}
