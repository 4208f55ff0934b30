"""`podctl doctor` for real: passes for the set-up test user, fails naming the fix otherwise.

The failing cases hide one prerequisite from podctl in a private mount namespace (a bind mount
over /etc/subuid or /dev/net/tun), so the host itself is never changed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from harness import Podctl

pytestmark = pytest.mark.e2e


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these doctor tests hide a prerequisite with a bind mount: run the suite as root")


def doctor_hiding(podctl: Podctl, binds: list[tuple[str, str]], *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `podctl doctor` as the test user with SRC bind-mounted over DST for each pair."""
    _require_root()
    mounts = "; ".join(f"mount --bind {src} {dst}" for src, dst in binds)
    inner = podctl.user.argv(podctl.argv(*extra, "doctor"))
    script = f"set -e; {mounts}; exec \"$@\""
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *inner],
        env=podctl.user.env(), capture_output=True, text=True, timeout=120, cwd="/",
    )  # fmt: skip


def line(out: str, name: str) -> str:
    for ln in out.splitlines():
        if ln[6:].startswith(name + ":"):
            return ln
    raise AssertionError(f"no {name!r} line in:\n{out}")


def test_doctor_passes_for_test_user(podctl: Podctl, systemd_user: object) -> None:
    p = podctl.run("doctor")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "FAIL" not in p.stdout
    for name in ("newuidmap", "subuid range", "user namespace", "/dev/net/tun", "OCI runtime",
                 "kernel overlay in user namespace", "conmon", "slirp4netns", "pasta", "catatonit",
                 "systemd user manager", "lingering"):  # fmt: skip
        assert line(p.stdout, name).startswith("OK")
    # crun is tried first (podman's order) and runs here, with the cgroup v2 hierarchy hidden.
    assert "crun (crun version" in line(p.stdout, "OCI runtime")


def test_doctor_json(podctl: Podctl) -> None:
    p = podctl.run("doctor", "--quick", "--format", "json")
    data = json.loads(p.stdout)
    assert {d["Name"] for d in data} >= {"subuid range", "/dev/net/tun", "conmon"}
    assert all(set(d) == {"Name", "OK", "Detail", "Fix"} for d in data)


def test_missing_subuid_range_fails_with_fix(podctl: Podctl, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o644)
    tmp_path.chmod(0o755)
    p = doctor_hiding(podctl, [(str(empty), "/etc/subuid"), (str(empty), "/etc/subgid")])
    assert p.returncode == 1, p.stdout + p.stderr
    sub = line(p.stdout, "subuid range")
    assert sub.startswith("FAIL") and f"no range for {podctl.user.name}" in sub
    assert f"fix: sudo usermod --add-subuids 100000-165535 {podctl.user.name}" in p.stdout
    assert line(p.stdout, "user namespace").startswith("FAIL")


def test_unusable_tun_fails_with_fix(podctl: Podctl, tmp_path: Path) -> None:
    tun = tmp_path / "tun"
    os.mknod(tun, 0o600 | 0o020000, os.makedev(10, 200))
    tmp_path.chmod(0o755)
    p = doctor_hiding(podctl, [(str(tun), "/dev/net/tun")])
    assert p.returncode == 1, p.stdout + p.stderr
    assert line(p.stdout, "/dev/net/tun").startswith("FAIL")
    assert "permission denied" in line(p.stdout, "/dev/net/tun")
    assert "fix: sudo chmod 0666 /dev/net/tun" in p.stdout


def test_crun_on_hybrid_cgroups_runs_without_cgroups(podctl: Podctl) -> None:
    # crun refuses hybrid cgroups itself; podctl hides the v2 hierarchy from it and runs it
    # without a cgroup manager, and says so.
    p = podctl.run("--runtime", "crun", "doctor")
    rt = line(p.stdout, "OCI runtime")
    assert rt.startswith("OK") and "crun (crun version" in rt, p.stdout
    if Path("/sys/fs/cgroup/unified/cgroup.controllers").read_text().strip():  # this machine
        assert "cgroups disabled" in rt and "hybrid" in rt
    info = podctl.json("--runtime", "crun", "info", "--format", "json")["host"]["ociRuntime"]
    assert info["name"] == "crun" and "cgroups disabled" in info["reason"]
    # Picked automatically (podman's order: crun, then runc), and the line says how it runs.
    rt = line(podctl.run("doctor").stdout, "OCI runtime")
    assert rt.startswith("OK  ") and "crun (crun version" in rt, rt
    assert podctl.json("info", "--format", "json")["host"]["ociRuntime"]["name"] == "crun"
    # runc, chosen, is probed for real as well.
    rt = line(podctl.run("--runtime", "runc", "doctor").stdout, "OCI runtime")
    assert rt.startswith("OK  ") and "runc (runc version" in rt, rt


def test_missing_runtime_fails(podctl: Podctl) -> None:
    p = podctl.run("--runtime", "/nonexistent/runc", "doctor", "--format", "{{.Name}}={{.OK}}")
    assert p.returncode == 1
    assert "OCI runtime=false" in p.stdout
