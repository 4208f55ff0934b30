"""Installing, starting and removing units through the SystemdBus interface (fake manager)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.errors import InvalidSpec, NotFound, SystemdError
from podctl.systemd import install
from podctl.systemd.fake import FakeSystemdBus

SLEEPER = "[Unit]\nDescription=t\n\n[Service]\nExecStart=/bin/sleep 300\n\n[Install]\nWantedBy=default.target\n"
FAILING = "[Service]\nType=oneshot\nExecStart=/bin/false\n"


def test_install_enable_start(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path])
    report = install.install(bus, [("a.service", SLEEPER), ("b.service", SLEEPER)], enable=True, start=True,
                             unit_dir=tmp_path)  # fmt: skip
    assert [p.name for p in report.files] == ["a.service", "b.service"]
    assert (tmp_path / "a.service").read_text() == SLEEPER
    assert [c.path for c in report.enabled] == [
        str(tmp_path / "default.target.wants" / n) for n in ("a.service", "b.service")
    ]
    assert [j.unit for j in report.started] == ["a.service", "b.service"] and all(
        j.ok for j in report.started
    )
    assert bus.calls[1:5] == [
        ("reload", ""),
        ("enable", "a.service b.service"),
        ("reload", ""),
        ("start", "a.service"),
    ]
    assert bus.unit_status("a.service").unit_file_state == "enabled"


def test_failed_start_says_why(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path])
    seen: list[str] = []

    def logs(name: str, status: object) -> list[str]:
        seen.append(name)
        return ["Error: image not found"]

    with pytest.raises(SystemdError) as e:
        install.install(bus, [("ok.service", SLEEPER), ("bad.service", FAILING), ("never.service", SLEEPER)],
                        start=True, unit_dir=tmp_path, logs_of=logs)  # fmt: skip
    msg = e.value.message
    assert msg.startswith(
        "start of bad.service failed: bad.service: failed (failed), result exit-code"
    )
    assert "exited with status 1" in msg and "  Error: image not found" in msg
    assert e.value.hint and "systemctl --user status bad.service" in e.value.hint
    assert seen == ["bad.service"]
    assert ("start", "never.service") not in bus.calls  # stops at the first failure


def test_invalid_units_leave_nothing(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path])
    with pytest.raises(InvalidSpec):
        install.install(
            bus, [("good.service", SLEEPER), ("bad.service", "garbage line\n")], unit_dir=tmp_path
        )
    with pytest.raises(InvalidSpec):
        install.install(bus, [("no-suffix", SLEEPER)], unit_dir=tmp_path)
    with pytest.raises(InvalidSpec, match="template"):
        install.install(bus, [("t@.service", SLEEPER)], enable=True, unit_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert bus.calls == [("reload", "")]  # only the constructor's


def test_uninstall_stops_disables_and_removes(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path])
    install.install(bus, [("web.service", SLEEPER)], enable=True, start=True, unit_dir=tmp_path)
    (tmp_path / "web.service.d").mkdir()
    (tmp_path / "web.service.d" / "x.conf").write_text("[Service]\nEnvironment=A=1\n")
    report = install.uninstall(bus, "web", unit_dir=tmp_path)
    assert report.unit == "web.service" and report.stopped and report.stopped.ok
    assert [c.kind for c in report.disabled] == ["unlink"]
    assert sorted(p.name for p in report.removed) == ["web.service", "x.conf"]
    assert not (tmp_path / "web.service").exists() and not (tmp_path / "web.service.d").exists()
    assert bus.unit_status("web.service").load_state == "not-found"
    with pytest.raises(NotFound, match="not installed"):
        install.uninstall(bus, "web.service", unit_dir=tmp_path)


def test_uninstall_of_a_unit_that_never_loaded(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path / "elsewhere"])
    (tmp_path / "lone.service").write_text(SLEEPER)
    report = install.uninstall(bus, "lone.service", unit_dir=tmp_path)
    assert report.notes == ("not loaded",) and report.removed == (tmp_path / "lone.service",)


def test_engine_generate_with_fake_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """engine.generate_systemd: request from the state, install through the given bus."""
    from podctl.engine import systemd as engine
    from podctl.systemd.generate import ContainerRequest, GenerateOptions

    req = ContainerRequest(
        name="web", id="a" * 64, conmon_pidfile="/run/x/conmon.pid", run_root="/run/x"
    )
    monkeypatch.setattr(engine, "container_request", lambda cfg, ref: req)
    unit_dir = tmp_path / "units"
    bus = FakeSystemdBus([unit_dir])
    opts = engine.GenerateSystemdOptions(
        ref="web", generate=GenerateOptions(use_name=True, executable=("/bin/sleep",)), install=True,
        enable=True, unit_dir=unit_dir,
    )  # fmt: skip
    report = engine.generate_systemd(object(), opts, bus_factory=lambda: bus)  # type: ignore[arg-type]
    assert [u.filename for u in report.units] == ["container-web.service"]
    assert report.install and report.install.files == (unit_dir / "container-web.service",)
    assert bus.unit_status("container-web.service").unit_file_state == "enabled"
    with pytest.raises(InvalidSpec, match="--install"):
        engine.GenerateSystemdOptions(ref="web", start=True)


def test_periodic_timer_validation_and_fake(tmp_path: Path) -> None:
    from podctl.systemd import timers

    bus = FakeSystemdBus([tmp_path])
    with pytest.raises(InvalidSpec, match="absolute path"):
        timers.start_periodic(bus, "hc1", ["podctl", "healthcheck", "run", "x"], 30)
    with pytest.raises(InvalidSpec, match="positive"):
        timers.start_periodic(bus, "hc1", ["/bin/true"], 0)
    with pytest.raises(InvalidSpec):
        timers.start_periodic(bus, "bad name", ["/bin/true"], 1)
    assert timers.start_periodic(bus, "hc1", ["/bin/true"], 30, env={"A": "1"}).ok
    st = bus.unit_status("hc1.timer")
    assert (st.active_state, st.sub_state, st.unit_file_state) == ("active", "waiting", "transient")
    timers.stop_periodic(bus, "hc1")
    timers.stop_periodic(bus, "hc1")  # idempotent
    assert bus.unit_status("hc1.timer").load_state == "not-found"


def test_engine_falls_back_to_pods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from podctl.engine import systemd as engine
    from podctl.systemd.generate import ContainerRequest, GenerateOptions, PodRequest

    def no_container(cfg: object, ref: str) -> ContainerRequest:
        raise NotFound(f'no container with name or ID "{ref}" found: no such container')

    monkeypatch.setattr(engine, "container_request", no_container)
    with pytest.raises(NotFound) as e:
        # a store without any pod: pod_request (engine.pods.find) answers NotFound
        engine.generate_units(SimpleNamespace(state_db=tmp_path / "state.db"), "ghost", GenerateOptions())  # type: ignore[arg-type]
    assert e.value.message == (
        "ghost does not refer to a container or pod: no pod with name or ID ghost found: no such pod: "
        'no container with name or ID "ghost" found: no such container'
    )
    member = ContainerRequest(
        name="p-web", id="b" * 64, conmon_pidfile="/run/x/b.pid", run_root="/run/x"
    )
    pod = PodRequest(name="p", id="c" * 64, infra_name="p-infra", infra_id="d" * 64,
                     infra_conmon_pidfile="/run/x/infra.pid", run_root="/run/x", members=(member,))  # fmt: skip
    monkeypatch.setattr(engine, "pod_request", lambda cfg, ref: pod)
    units = engine.generate_units(
        object(), "p", GenerateOptions(use_name=True, executable=("/bin/podctl",))
    )  # type: ignore[arg-type]
    assert [u.filename for u in units] == ["pod-p.service", "container-p-web.service"]
    assert "ExecStart=/bin/podctl start p-infra" in units[0].text
    assert "BindsTo=pod-p.service" in units[1].text


def test_engine_status_with_fake_bus(tmp_path: Path) -> None:
    from podctl.engine import systemd as engine

    bus = FakeSystemdBus([tmp_path])
    install.install(bus, [("container-web.service", SLEEPER)], start=True, unit_dir=tmp_path)
    rows = engine.status(["web", "absent.service"], unit_dir=tmp_path, bus_factory=lambda: bus)
    assert [(r["Unit"], r["ActiveState"], r["SubState"]) for r in rows] == [
        ("container-web.service", "active", "running"),
        ("absent.service", "inactive", "dead"),
    ]
    assert rows[1]["LoadState"] == "not-found" and rows[0]["MainPID"]


def test_uninstall_template_does_not_stop_it(tmp_path: Path) -> None:
    bus = FakeSystemdBus([tmp_path])
    install.write_units([("web@.service", SLEEPER)], tmp_path)
    report = install.uninstall(bus, "web@.service", unit_dir=tmp_path)
    assert report.stopped is None and "template" in report.notes[0]
    assert not (tmp_path / "web@.service").exists()
    assert ("stop", "web@.service") not in bus.calls
