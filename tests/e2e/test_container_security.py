"""What a rootless container may and may not do, and how its ids map onto the host."""

from __future__ import annotations

import os
import shutil
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


def _subuid_start(name: str) -> int:
    for line in Path("/etc/subuid").read_text().splitlines():
        user, start, _count = line.split(":")
        if user == name:
            return int(start)
    raise AssertionError(f"{name} has no subuid range")


def test_container_uid_maps_to_subuid(podctl: Podctl, registry: str, hostdir: Path) -> None:
    data = podctl.user.mkdir(hostdir / "data")
    os.chown(hostdir, podctl.user.uid, podctl.user.gid)
    os.chown(data, podctl.user.uid, podctl.user.gid)
    out = podctl.ok("run", "--rm", "-u", "1000", "-v", f"{data}:/data:U", BUSYBOX,
                    "sh", "-c", "touch /data/by-1000; id -u")  # fmt: skip

    assert out.strip() == "1000"
    st = (data / "by-1000").stat()
    expected = _subuid_start(podctl.user.name) + 1000 - 1
    assert (st.st_uid, st.st_gid) == (expected, expected)
    # Container root is the user on the host.
    podctl.ok("run", "--rm", "-v", f"{hostdir}:/host", BUSYBOX, "touch", "/host/by-root")
    assert (hostdir / "by-root").stat().st_uid == podctl.user.uid
    # keep-id: the user's own uid inside.
    assert podctl.ok("run", "--rm", "--userns", "keep-id", BUSYBOX, "sh", "-c", "id -u").strip() == str(podctl.user.uid)


def test_container_confinement(podctl: Podctl, registry: str, hostdir: Path) -> None:
    canary = podctl.user.mkdir(hostdir / "secret") / "canary"
    canary.write_text("host only\n")
    ro = podctl.user.mkdir(hostdir / "ro")
    script = "; ".join([
        f"test -e {canary} && echo SEES-HOST-FILE",
        "echo x > /ro/f 2>/dev/null && echo WROTE-RO-MOUNT",
        "echo x > /proc/sysrq-trigger 2>/dev/null && echo WROTE-SYSRQ",
        "touch /sys/kernel/x 2>/dev/null && echo WROTE-SYS",
        "mount -o remount,rw / 2>/dev/null && echo REMOUNTED",
        "mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED",
        "insmod /bin/busybox 2>&1 | grep -q 'not permitted' || echo INSMOD-NOT-DENIED",
        "grep CapEff /proc/self/status",
        "echo done",
    ])  # fmt: skip
    out = podctl.ok("run", "--rm", "-v", f"{ro}:/ro:ro", BUSYBOX, "sh", "-c", script)
    lines = out.splitlines()
    assert lines[-1] == "done", out
    assert not [ln for ln in lines if ln.isupper() and ln != "done"], out
    cap_eff = int(lines[-2].split()[1], 16)
    assert not cap_eff & (1 << 16), "CAP_SYS_MODULE must not be held"
    assert not cap_eff & (1 << 21), "CAP_SYS_ADMIN must not be held"
    assert list(ro.iterdir()) == []

    # --read-only root with its tmpfs; --cap-drop; --privileged holds every capability of the userns.
    p = podctl.run("run", "--rm", "--read-only", BUSYBOX, "sh", "-c", "touch /tmp/ok && touch /etc/no")
    assert p.returncode == 1 and "Read-only file system" in p.stderr
    eff = podctl.ok("run", "--rm", "--cap-drop", "all", BUSYBOX, "grep", "CapEff", "/proc/self/status")
    assert int(eff.split()[1], 16) == 0
    eff = podctl.ok("run", "--rm", "--privileged", BUSYBOX, "grep", "CapEff", "/proc/self/status")
    assert int(eff.split()[1], 16) & (1 << 21)
