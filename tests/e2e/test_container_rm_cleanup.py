"""`run --rm` leaves nothing behind: no overlay mount in the user's namespace, no files."""

from __future__ import annotations

import time

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e


def _mounts_under_root(podctl: Podctl) -> list[str]:
    out = podctl.ok("unshare", "cat", "/proc/self/mountinfo")
    return [ln for ln in out.splitlines() if str(podctl.root) in ln]


@pytest.mark.parametrize("network", ["none", "slirp4netns", "pasta"])
def test_run_rm_leaves_no_mount_or_files(podctl: Podctl, registry: str, network: str) -> None:
    p = podctl.run("run", "--rm", "--network", network, BUSYBOX, "sh", "-c", "echo hi > /f; exit 3")
    assert p.returncode == 3, p.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        trash = podctl.root / "trash"
        leftovers = list(trash.iterdir()) if trash.exists() else []
        if not leftovers and not _mounts_under_root(podctl):
            break
        time.sleep(0.1)
    assert not _mounts_under_root(podctl)
    assert not (podctl.root / "trash").exists() or not list((podctl.root / "trash").iterdir())
    assert podctl.ok("ps", "-a", "-q").strip() == ""
