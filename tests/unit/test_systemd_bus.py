"""SystemdBus conformance: the same checks against the fake and the real user manager.

The real variant runs each check in a forked child that has become the test user (the user
bus only admits its owner), against the systemd user manager scripts/host-setup starts.
Every check uses unique unit names and removes its units even when it fails.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import User

from podctl.errors import NotFound, SystemdError
from podctl.systemd.bus import SystemdBus, UnitStatus
from podctl.systemd.fake import FakeSystemdBus

Check = Callable[[SystemdBus, Path, str], None]


def _unit_name() -> str:
    return f"podctl-test-{uuid.uuid4().hex[:10]}"


def _write(unit_dir: Path, name: str, service: str, install: str = "") -> Path:
    unit_dir.mkdir(parents=True, exist_ok=True)
    path = unit_dir / name
    text = f"[Unit]\nDescription=podctl test {name}\n\n[Service]\n{service}\n"
    if install:
        text += f"\n[Install]\n{install}\n"
    path.write_text(text)
    return path


def _cleanup(bus: SystemdBus, unit_dir: Path, names: list[str]) -> None:
    for n in names:
        for step in (bus.stop_unit, bus.reset_failed_unit):
            try:
                step(n)
            except (NotFound, SystemdError):
                pass
        try:
            bus.disable_unit_files([n])
        except (NotFound, SystemdError):
            pass
        (unit_dir / n).unlink(missing_ok=True)
    bus.reload()


def _wait(
    bus: SystemdBus, name: str, pred: Callable[[UnitStatus], bool], secs: float = 10
) -> UnitStatus:
    deadline = time.monotonic() + secs
    while True:
        st = bus.unit_status(name)
        if pred(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.05)


# -- the checks --------------------------------------------------------------------------


def check_start_stop(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    try:
        _write(unit_dir, name, "ExecStart=/bin/sleep 300")
        bus.reload()
        job = bus.start_unit(name)
        assert job.ok and job.result == "done" and job.unit == name, job
        st = bus.unit_status(name)
        assert (st.load_state, st.active_state, st.sub_state) == ("loaded", "active", "running"), st
        assert st.main_pid > 0 and st.n_restarts == 0
        assert st.unit_file_state == "static"
        job = bus.stop_unit(name)
        assert job.result == "done", job
        st = bus.unit_status(name)
        assert st.active_state == "inactive" and st.main_pid == 0, st
    finally:
        _cleanup(bus, unit_dir, [name])


def check_failing_unit_reports_failed(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    try:
        _write(unit_dir, name, "Type=oneshot\nExecStart=/bin/false")
        bus.reload()
        job = bus.start_unit(name)
        assert job.result == "failed" and not job.ok, job
        st = bus.unit_status(name)
        assert (st.active_state, st.result, st.exec_main_status) == ("failed", "exit-code", 1), st
        assert "failed" in st.describe() and "exited with status 1" in st.describe()
        bus.reset_failed_unit(name)
        assert bus.unit_status(name).active_state == "inactive"
    finally:
        _cleanup(bus, unit_dir, [name])


def check_missing_executable(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    try:
        _write(unit_dir, name, "Type=exec\nExecStart=/nonexistent/podctl-test-binary")
        bus.reload()
        job = bus.start_unit(name)
        assert job.result == "failed", job
        st = bus.unit_status(name)
        assert st.active_state == "failed" and st.exec_main_status == 203, st  # EXIT_EXEC
    finally:
        _cleanup(bus, unit_dir, [name])


def check_unknown_unit(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}-absent.service"
    with pytest.raises(NotFound):
        bus.start_unit(name)
    with pytest.raises(NotFound):
        bus.stop_unit(name)
    with pytest.raises(NotFound):
        bus.enable_unit_files([name])
    st = bus.unit_status(name)
    assert st.load_state == "not-found" and st.active_state == "inactive", st


def check_enable_disable(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    try:
        _write(unit_dir, name, "ExecStart=/bin/sleep 300", "WantedBy=default.target")
        bus.reload()
        assert bus.unit_status(name).unit_file_state == "disabled"
        changes = bus.enable_unit_files([name])
        assert [c.kind for c in changes] == ["symlink"], changes
        assert changes[0].path.endswith(f"/default.target.wants/{name}"), changes
        assert Path(changes[0].path).is_symlink()
        bus.reload()
        assert bus.unit_status(name).unit_file_state == "enabled"
        changes = bus.disable_unit_files([name])
        assert [c.kind for c in changes] == ["unlink"], changes
        assert not (unit_dir / "default.target.wants" / name).exists()
        bus.reload()
        assert bus.unit_status(name).unit_file_state == "disabled"
    finally:
        _cleanup(bus, unit_dir, [name])


def check_restart_after_kill(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    try:
        _write(unit_dir, name, "ExecStart=/bin/sleep 300\nRestart=on-failure\nRestartSec=100ms")
        bus.reload()
        assert bus.start_unit(name).ok
        first = bus.unit_status(name).main_pid
        bus.kill_unit(name, signal.SIGKILL)
        st = _wait(
            bus, name, lambda s: s.n_restarts >= 1 and s.active_state == "active" and s.main_pid > 0
        )
        assert st.n_restarts == 1 and st.active_state == "active", st
        assert st.main_pid not in (0, first), st
        assert bus.restart_unit(name).ok
        st = bus.unit_status(name)
        assert st.active_state == "active" and st.n_restarts == 0, st  # a manual restart resets it
    finally:
        _cleanup(bus, unit_dir, [name])


def check_transient_service(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    name = f"{base}.service"
    props = [
        ("Description", "s", "podctl transient test"),
        ("ExecStart", "a(sasb)", [("/bin/sleep", ["/bin/sleep", "300"], False)]),
    ]
    try:
        job = bus.start_transient_unit(name, props)
        assert job.ok, job
        st = bus.unit_status(name)
        assert st.active_state == "active" and st.unit_file_state == "transient", st
        with pytest.raises(SystemdError):
            bus.start_transient_unit(name, props)
        assert bus.stop_unit(name).ok
        st = _wait(bus, name, lambda s: s.load_state == "not-found")
        assert st.load_state == "not-found", st  # transient units go away once stopped
    finally:
        _cleanup(bus, unit_dir, [name])


def check_transient_timer(bus: SystemdBus, unit_dir: Path, base: str) -> None:
    """A healthcheck-style timer: the timer and its oneshot service in one call."""
    timer, service = f"{base}.timer", f"{base}.service"
    try:
        job = bus.start_transient_unit(
            timer,
            [("OnUnitActiveSec", "t", 3600 * 10**6), ("OnActiveSec", "t", 3600 * 10**6)],
            [(service, [("Type", "s", "oneshot"),
                        ("ExecStart", "a(sasb)", [("/bin/true", ["/bin/true"], False)])])],
        )  # fmt: skip
        assert job.ok, job
        st = bus.unit_status(timer)
        assert (st.active_state, st.sub_state) == ("active", "waiting"), st
    finally:
        _cleanup(bus, unit_dir, [timer, service])


CHECKS: list[Check] = [
    check_start_stop,
    check_failing_unit_reports_failed,
    check_missing_executable,
    check_unknown_unit,
    check_enable_disable,
    check_restart_after_kill,
    check_transient_service,
    check_transient_timer,
]


# -- running them ------------------------------------------------------------------------


def _run_as(user: User, fn: Callable[[], None]) -> None:
    """Run FN as USER in a forked child; its failure (with traceback) fails the test."""
    if not user.drop:
        fn()
        return
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            os.environ.clear()
            os.environ.update(user.env())
            os.chdir(user.home)
            fn()
            code = 0
        except BaseException:
            os.write(w, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        pytest.fail(f"as {user.name}:\n" + b"".join(chunks).decode(errors="replace"), pytrace=False)


@pytest.fixture(params=["fake", "real"])
def run_check(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Check], None]]:
    if request.param == "fake":

        def fake(check: Check) -> None:
            bus = FakeSystemdBus([tmp_path / "user"])
            check(bus, tmp_path / "user", _unit_name())

        yield fake
        return
    user: User = request.getfixturevalue("systemd_user")

    def real(check: Check) -> None:
        def body() -> None:
            from podctl.systemd.bus import connect

            unit_dir = Path(os.environ["HOME"]) / ".config" / "systemd" / "user"
            with connect() as bus:
                check(bus, unit_dir, _unit_name())

        _run_as(user, body)

    yield real


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_conformance(run_check: Callable[[Check], None], check: Check) -> None:
    run_check(check)


def test_no_manager_gives_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from podctl.systemd import bus

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.setenv("USER", "someone")
    with pytest.raises(SystemdError) as e:
        bus.connect()
    assert f"{tmp_path}/no-bus does not exist" in e.value.message
    assert e.value.hint and "loginctl enable-linger someone" in e.value.hint
    with pytest.raises(SystemdError):
        bus.manager_version()


def test_refused_connection_is_no_manager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A socket that is not a bus (or refuses us) gives the same clear error, not a traceback."""
    import socket

    from podctl.systemd import bus

    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))  # bound but not listening: connection refused
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={path}")
        with pytest.raises(SystemdError) as e:
            bus.connect()
        assert "no systemd user manager reachable" in e.value.message
    finally:
        s.close()
