"""`generate systemd` units installed into and driven by the real systemd user manager.

Each test uses unique container (hence unit) names and removes its units even when it fails,
because the user manager and ~/.config/systemd/user are shared with other tests.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, User
from systemd_helpers import remove_units, show, wait_for

pytestmark = pytest.mark.e2e

# PID 1 in the container: exits cleanly on SIGTERM, so `podctl stop` is quick.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


@pytest.fixture
def units(systemd_user: User) -> Iterator[list[str]]:
    """Unit names a test installs; stopped, disabled and removed afterwards whatever happens."""
    names: list[str] = []
    yield names
    remove_units(systemd_user, names)


def _name() -> str:
    return f"sdt-{uuid.uuid4().hex[:8]}"


def test_new_unit_starts_restarts_and_stops_clean(
    podctl: Podctl, registry: str, units: list[str]
) -> None:
    name = _name()
    unit = f"container-{name}.service"
    units.append(unit)
    podctl.ok("create", "--name", name, "-e", "GREETING=hi", BUSYBOX, *SERVE)
    out = podctl.ok("generate", "systemd", "--new", "--name", "--stop-timeout", "5",
                    "--install", "--enable", "--start", name)  # fmt: skip
    installed = podctl.user.home / ".config" / "systemd" / "user" / unit
    assert out.strip() == str(installed)
    assert "Environment=PODCTL_SYSTEMD_UNIT=%n" in installed.read_text()

    # Type=notify: by the time the start job is done, the container runs.
    assert podctl.ok("inspect", "--format", "{{.State.Status}}", name).strip() == "running"
    st = show(
        podctl.user, unit, "ActiveState", "SubState", "UnitFileState", "MainPID", "NRestarts"
    )
    assert (st["ActiveState"], st["SubState"], st["UnitFileState"]) == (
        "active",
        "running",
        "enabled",
    ), st
    # Enabled: default.target, which the user manager starts when it comes up (at boot with
    # lingering), now wants the unit.
    assert unit in show(podctl.user, "default.target", "Wants")["Wants"].split()
    first_id = podctl.ok("inspect", "--format", "{{.Id}}", name).strip()
    assert podctl.ok("exec", name, "sh", "-c", "echo $GREETING").strip() == "hi"

    # Killing the container's process makes systemd restart the unit: a new container.
    os.kill(int(podctl.ok("inspect", "--format", "{{.State.Pid}}", name)), signal.SIGKILL)
    assert wait_for(lambda: int(show(podctl.user, unit, "NRestarts")["NRestarts"] or 0) >= 1
                     and show(podctl.user, unit, "ActiveState")["ActiveState"] == "active"), \
        show(podctl.user, unit, "NRestarts", "ActiveState", "SubState")  # fmt: skip
    assert wait_for(
        lambda: (
            podctl.run("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
        )
    )
    assert podctl.ok("inspect", "--format", "{{.Id}}", name).strip() != first_id

    # systemctl stop: the container is stopped and removed, nothing of it is left.
    p = podctl.user.run(["systemctl", "--user", "stop", unit], timeout=60)
    assert p.returncode == 0, p.stderr
    assert show(podctl.user, unit, "ActiveState")["ActiveState"] in ("inactive", "failed")
    assert podctl.json("ps", "-a", "--format", "json") == []
    assert not (podctl.user.runtime_dir / f"{unit}.ctr-id").exists()
    assert not any(
        str(podctl.runroot) in _cmdline(pid) for pid in _pids_of(podctl.user.uid, "conmon")
    )

    out = podctl.ok("systemd", "uninstall", name)
    assert out.strip() == unit
    assert not installed.exists()
    assert not (installed.parent / "default.target.wants" / unit).exists()
    assert show(podctl.user, unit, "LoadState")["LoadState"] == "not-found"


def test_existing_container_forking_unit(podctl: Podctl, registry: str, units: list[str]) -> None:
    name = _name()
    unit = f"container-{name}.service"
    units.append(unit)
    podctl.ok("create", "--name", name, BUSYBOX, *SERVE)
    podctl.ok("generate", "systemd", "--name", "--install", "--start", name)
    st = show(podctl.user, unit, "ActiveState", "Type", "MainPID", "PIDFile")
    assert (st["ActiveState"], st["Type"]) == ("active", "forking"), st
    assert Path(st["PIDFile"]).read_text().strip() == st["MainPID"]  # conmon is the main process
    assert podctl.ok("inspect", "--format", "{{.State.Status}}", name).strip() == "running"
    assert podctl.user.run(["systemctl", "--user", "stop", unit], timeout=60).returncode == 0
    # Without --new the container outlives its unit, stopped.
    assert podctl.ok("inspect", "--format", "{{.State.Status}}", name).strip() == "exited"
    assert podctl.ok("systemd", "uninstall", unit).strip() == unit


def test_template_unit_instances(podctl: Podctl, registry: str, units: list[str]) -> None:
    """--template: each instance NAME@I.service runs its own container NAME-I."""
    name = _name()
    template = f"container-{name}@.service"
    units += [f"container-{name}@one.service", template]
    podctl.ok("create", "--name", name, BUSYBOX, *SERVE)
    out = podctl.ok("generate", "systemd", "--new", "--name", "--template", "--install", name)
    assert out.strip().endswith(f"/{template}")
    p = podctl.user.run(
        ["systemctl", "--user", "start", f"container-{name}@one.service"], timeout=60
    )
    assert p.returncode == 0, p.stderr
    assert podctl.ok("inspect", "--format", "{{.State.Status}}", f"{name}-one").strip() == "running"
    assert (
        podctl.user.run(
            ["systemctl", "--user", "stop", f"container-{name}@one.service"], timeout=60
        ).returncode
        == 0
    )
    assert podctl.run("inspect", f"{name}-one").returncode != 0  # removed with its instance
    assert podctl.ok("systemd", "uninstall", template).strip() == template


def test_failing_unit_reports_a_readable_reason(
    podctl: Podctl, registry: str, units: list[str]
) -> None:
    """A --new unit whose image is gone: the start fails, and the error says why."""
    name = _name()
    unit = f"container-{name}.service"
    units.append(unit)
    missing = f"127.0.0.1:5000/podctl-gone-{uuid.uuid4().hex[:8]}:latest"  # never pushed
    podctl.ok("pull", BUSYBOX)
    podctl.ok("tag", BUSYBOX, missing)
    podctl.ok("create", "--name", name, missing, *SERVE)
    podctl.ok("untag", BUSYBOX, missing)
    p = podctl.run(
        "generate",
        "systemd",
        "--new",
        "--name",
        "--restart-policy=no",
        "--install",
        "--start",
        name,
    )
    assert p.returncode == 125, p.stderr
    assert f"start of {unit} failed" in p.stderr, p.stderr
    assert "exited with status 125" in p.stderr, p.stderr
    # podctl run's own error reaches systemd as the unit's StatusText (no journal here).
    assert "status: Error:" in p.stderr and "podctl-gone" in p.stderr, p.stderr
    st = show(podctl.user, unit, "ActiveState", "StatusText")
    assert st["ActiveState"] == "failed" and "podctl-gone" in st["StatusText"], st
    [row] = podctl.json("systemd", "status", "--format", "json", name)
    assert (row["Unit"], row["ActiveState"], row["Result"]) == (unit, "failed", "exit-code"), row
    assert "podctl-gone" in row["StatusText"]
    table = podctl.ok("systemd", "status", unit).splitlines()
    assert table[0].split()[:4] == ["UNIT", "ACTIVE", "SUB", "RESULT"] and table[1].startswith(unit)


def test_install_needs_a_user_manager(podctl: Podctl, registry: str) -> None:
    name = _name()
    podctl.ok("create", "--name", name, BUSYBOX, "true")
    p = podctl.run("generate", "systemd", "--name", "--install", name,
                   env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"})  # fmt: skip
    assert p.returncode == 125
    assert "no systemd user manager reachable" in p.stderr and "loginctl enable-linger" in p.stderr
    unit_dir = podctl.user.home / ".config" / "systemd" / "user"
    assert not (unit_dir / f"container-{name}.service").exists()  # nothing half-installed


def test_generate_outputs(podctl: Podctl, registry: str) -> None:
    name = _name()
    cid = podctl.ok("create", "--name", name, "--stop-timeout", "3", BUSYBOX, "sleep", "5").strip()
    text = podctl.ok("generate", "systemd", "--no-header", cid)
    assert text.startswith(f"# container-{cid}.service\n\n[Unit]\n")
    assert "TimeoutStopSec=63" in text and "Type=forking" in text
    data = podctl.json("generate", "systemd", "--new", "--name", "--format", "json", name)
    assert list(data) == [f"container-{name}"]
    assert "Type=notify" in data[f"container-{name}"]
    out_dir = podctl.user.mkdir(podctl.root / "units", 0o755)
    p = podctl.user.run(podctl.argv("generate", "systemd", "--new", "--name", "--files",
                                    "--container-prefix", "ctr", "--separator", "_", name),
                        cwd=str(out_dir))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out_dir / f"ctr_{name}.service")
    assert "Environment=PODCTL_SYSTEMD_UNIT=%n" in (out_dir / f"ctr_{name}.service").read_text()
    p = podctl.run("generate", "systemd", "nosuchthing")
    assert p.returncode == 125 and "nosuchthing" in p.stderr
    p = podctl.run("generate", "systemd", "--enable", name)
    assert p.returncode == 125 and "--install" in p.stderr
    assert json.loads(podctl.ok("generate", "systemd", "--format", "json", name))


def _pids_of(uid: int, comm: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid and (d / "comm").read_text().strip() == comm:
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
