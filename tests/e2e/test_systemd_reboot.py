"""The reboot case: an enabled unit comes back when the user manager starts again.

The user manager is stopped as at logout (`systemctl --user exit`: every unit's ExecStop
runs) and started again with the same recipe scripts/host-setup uses, then the enabled
container unit must be active with its container running, without anyone starting it.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
from harness import BUSYBOX, REPO, Podctl
from systemd_helpers import remove_units, show, wait_for

pytestmark = pytest.mark.e2e

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


def _manager(action: str, user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "scripts" / "user-manager"), action, user],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_enabled_unit_comes_back_after_manager_restart(
    podctl: Podctl, registry: str, systemd_user: object
) -> None:
    import os

    if os.geteuid() != 0:
        pytest.fail("restarting the user manager needs root: run the suite as root (scripts/test)")
    user = podctl.user
    name = f"rbt-{uuid.uuid4().hex[:8]}"
    unit = f"container-{name}.service"
    unit_dir = user.home / ".config" / "systemd" / "user"
    try:
        podctl.ok("create", "--name", name, BUSYBOX, *SERVE)
        podctl.ok("generate", "systemd", "--new", "--name", "--stop-timeout", "5",
                  "--install", "--enable", "--start", name)  # fmt: skip
        assert (unit_dir / "default.target.wants" / unit).is_symlink()
        assert podctl.ok("inspect", "--format", "{{.State.Status}}", name).strip() == "running"

        stopped = _manager("stop", user.name)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        # ExecStop ran at "logout": the container is gone, as with podman's --new units.
        assert wait_for(lambda: podctl.run("container", "exists", name).returncode == 1, 20)

        started = _manager("start", user.name)
        assert started.returncode == 0, started.stdout + started.stderr

        def active() -> bool:
            return show(user, unit, "ActiveState").get("ActiveState") == "active"

        assert wait_for(active), user.run(["systemctl", "--user", "status", unit]).stdout
        status = podctl.ok("inspect", "--format", "{{.State.Status}}", name).strip()
        assert status == "running"
    finally:
        if _manager("status", user.name).returncode != 0:
            _manager("start", user.name)
        remove_units(user, [unit])
