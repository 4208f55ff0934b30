"""One conformance suite for the OCI runtime driver: the real runc and the in-memory fake that
higher-level tests may use must behave alike (created -> running -> stopped -> gone)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from podctl.errors import NotFound
from podctl.runtime.oci import OCIRuntime, Runc


class FakeRuntime:
    """An OCIRuntime that keeps its containers in memory (`create` is what conmon does)."""

    def __init__(self, root: Path) -> None:
        self.path = "fake-runtime"
        self.root = root
        self.containers: dict[str, dict[str, Any]] = {}

    def create(self, cid: str, bundle: Path) -> None:
        self.containers[cid] = {"status": "created", "pid": 4242, "bundle": str(bundle)}

    def start(self, cid: str) -> None:
        self.containers[cid]["status"] = "running"

    def kill(self, cid: str, sig: int, all_procs: bool = False) -> None:
        c = self.containers.get(cid)
        if c is None or c["status"] not in ("created", "running"):
            raise NotFound(f"container {cid} is not running")
        if sig in (9, 15):
            c["status"] = "stopped"

    def delete(self, cid: str, force: bool = False) -> None:
        self.containers.pop(cid, None)

    def forget(self, cid: str) -> None:
        self.containers.pop(cid, None)

    def state(self, cid: str) -> dict[str, Any] | None:
        c = self.containers.get(cid)
        return {"id": cid, **c} if c else None

    def pids(self, cid: str) -> list[int]:
        c = self.containers.get(cid)
        return [c["pid"]] if c and c["status"] == "running" else []

    def exec_argv(self, cid: str, process_json: Path, *, tty: bool, detach: bool = False) -> list[str]:
        return [self.path, "exec", "--process", str(process_json), cid]


def _bundle(tmp: Path) -> Path:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.access(busybox, os.X_OK):
        pytest.fail("busybox-static is missing: apt-get install busybox-static (scripts/host-setup)")
    bundle = tmp / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    (bundle / "rootfs" / "busybox").touch()
    linux: dict[str, Any] = {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]}
    if os.geteuid() != 0:
        linux["namespaces"].append({"type": "user"})
        linux["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(), "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(), "size": 1}]
    config = {
        "ociVersion": "1.0.2-dev",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/busybox", "sleep", "60"],
                    "env": ["PATH=/"], "cwd": "/", "noNewPrivileges": True,
                    "capabilities": {"bounding": [], "effective": [], "permitted": []}},
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "conformance",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/busybox", "type": "bind", "source": busybox, "options": ["bind", "ro"]}],
        "linux": linux,
    }  # fmt: skip
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def _create(rt: OCIRuntime, cid: str, bundle: Path) -> None:
    if isinstance(rt, FakeRuntime):
        rt.create(cid, bundle)
        return
    # The container inherits runc's stdio: a pipe would stay open for as long as it runs.
    with open(bundle / "create.err", "w+") as err:
        p = subprocess.run(
            [rt.path, "--root", str(rt.root), "create", "--bundle", str(bundle), "--pid-file",
             str(bundle / "pid"), cid],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=30,
        )  # fmt: skip
        err.seek(0)
        assert p.returncode == 0, err.read()


@pytest.fixture(params=["fake", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> OCIRuntime:
    if request.param == "fake":
        return FakeRuntime(tmp_path / "state")
    runc = shutil.which("runc") or shutil.which("runc", path="/usr/sbin:/sbin")
    if not runc:
        pytest.fail("runc is missing: apt-get install runc (scripts/host-setup)")
    return Runc(runc, tmp_path / "state")


def _wait_status(rt: OCIRuntime, cid: str, want: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st is not None and st.get("status") == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"{cid} never reached {want}: {rt.state(cid)}")


def test_lifecycle_conformance(runtime: OCIRuntime, tmp_path: Path) -> None:
    cid = f"conformance-{os.getpid()}"
    assert runtime.state(cid) is None
    _create(runtime, cid, _bundle(tmp_path))
    try:
        assert (runtime.state(cid) or {})["status"] == "created"
        runtime.start(cid)
        _wait_status(runtime, cid, "running")
        assert runtime.pids(cid)
        runtime.kill(cid, 9)
        _wait_status(runtime, cid, "stopped")
        with pytest.raises(NotFound):
            runtime.kill(cid, 9)
        runtime.forget(cid)
        assert runtime.state(cid) is None
        runtime.forget(cid)  # idempotent
        argv = runtime.exec_argv(cid, tmp_path / "p.json", tty=False)
        assert argv[-1] == cid and str(tmp_path / "p.json") in argv
    finally:
        runtime.delete(cid, force=True)
