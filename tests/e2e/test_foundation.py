"""info, unshare, paths and exit codes, run for real as the test user."""

from __future__ import annotations

import json
import os
import stat
import uuid

import pytest
from harness import Podctl, User

pytestmark = pytest.mark.e2e


def test_info_json(podctl: Podctl) -> None:
    data = podctl.json("info", "--format", "json")
    host = data["host"]
    assert host["rootless"] is (podctl.user.uid != 0)
    uidmap = host["idMappings"]["uidmap"]
    assert uidmap[0] == {"container_id": 0, "host_id": podctl.user.uid, "size": 1}
    assert sum(m["size"] for m in uidmap[1:]) >= 65536
    assert data["store"]["graphRoot"] == str(podctl.root)
    assert data["store"]["runRoot"] == str(podctl.runroot)
    assert host["ociRuntime"]["path"]
    assert host["conmon"]["version"].startswith("conmon version")
    assert host["cgroupMode"] in ("v1", "v2", "hybrid")
    assert host["rootlessNetworkCmd"] == "pasta"  # the default: no containers.conf says otherwise here


def test_info_go_template(podctl: Podctl) -> None:
    out = podctl.ok("info", "--format", "{{.Host.Arch}} {{.Store.GraphRoot}}")
    arch, root = out.split()
    assert arch in ("amd64", "arm64") and root == str(podctl.root)
    p = podctl.run("info", "--format", "{{.Host.NoSuchField}}")
    assert p.returncode == 125 and "NoSuchField" in p.stderr


def test_unshare_maps_full_range(podctl: Podctl) -> None:
    assert podctl.ok("unshare", "id", "-u").strip() == "0"
    lines = podctl.ok("unshare", "cat", "/proc/self/uid_map").splitlines()
    sizes = [int(ln.split()[2]) for ln in lines]
    assert sizes[0] == 1 and sum(sizes[1:]) >= 65536
    assert podctl.ok("unshare", "sh", "-c", "echo $PODCTL_UNSHARE").strip() == "1"


def test_unshare_exit_codes(podctl: Podctl) -> None:
    assert podctl.run("unshare", "sh", "-c", "exit 7").returncode == 7
    p = podctl.run("unshare", "no-such-command-xyz")
    assert p.returncode == 127 and "no-such-command-xyz" in p.stderr


def test_pause_process_recreated(podctl: Podctl) -> None:
    podctl.ok("unshare", "true")
    pid = int((podctl.runroot / "pause.pid").read_text())
    os.kill(pid, 9)
    assert podctl.ok("unshare", "id", "-u").strip() == "0"
    new = int((podctl.runroot / "pause.pid").read_text())
    assert new != pid


def test_default_paths_are_private(user: User, installed: str) -> None:
    tag = uuid.uuid4().hex[:8]
    data_home = user.mkdir(user.home / ".cache" / f"xdg-{tag}")
    run_dir = user.mkdir(user.runtime_dir / f"x-{tag}")
    env = {"XDG_DATA_HOME": str(data_home), "XDG_RUNTIME_DIR": str(run_dir)}
    try:
        p = user.run([installed, "unshare", "true"], env=env)
        assert p.returncode == 0, p.stderr
        for d in (data_home / "podctl", run_dir / "podctl"):
            assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
        info = json.loads(user.run([installed, "info", "--format", "json"], env=env, check=True).stdout)
        assert info["store"]["graphRoot"] == str(data_home / "podctl")
    finally:
        pid_file = run_dir / "podctl" / "pause.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 9)
        user.run(["rm", "-rf", str(data_home), str(run_dir)])


def test_bad_global_flag_is_125(podctl: Podctl) -> None:
    p = podctl.run("--log-level", "loud", "info")
    assert p.returncode == 125 and "loud" in p.stderr
