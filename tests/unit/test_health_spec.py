"""Healthcheck flags, image healthchecks and kube probes as ContainerSpec fields."""

from __future__ import annotations

import pytest

from podctl.engine.health import effective, from_flags
from podctl.errors import InvalidSpec
from podctl.spec import ContainerSpec, Healthcheck, HealthOnFailure, SdNotify, parse_duration

NS = 1_000_000_000


def test_durations() -> None:
    assert parse_duration("30s", "f") == 30
    assert parse_duration("1m30s", "f") == 90
    assert parse_duration("500ms", "f") == 0.5
    assert parse_duration("1h", "f") == 3600
    assert parse_duration("disable", "f") == 0
    for bad in ("", "5", "5x", "s", "1m 3s"):
        with pytest.raises(InvalidSpec, match="--health-interval"):
            parse_duration(bad, "--health-interval")


def test_flags() -> None:
    hc, off = from_flags("curl -f http://localhost/", "10s", "3s", 5, "1m", "restart", False)
    assert not off and hc == Healthcheck(("CMD-SHELL", "curl -f http://localhost/"), 10, 3, 5, 60,
                                         HealthOnFailure.RESTART)  # fmt: skip
    assert hc.argv == ("/bin/sh", "-c", "curl -f http://localhost/")
    hc, _ = from_flags('["test", "-e", "/ok"]', None, None, None, None, None, False)
    assert hc is not None and hc.test == ("CMD", "test", "-e", "/ok") and hc.argv == ("test", "-e", "/ok")
    assert (hc.interval, hc.timeout, hc.retries, hc.start_period) == (30, 30, 3, 0)
    assert from_flags(None, None, None, None, None, None, False) == (None, False)
    assert from_flags("none", None, None, None, None, None, False) == (None, True)
    assert from_flags(None, None, None, None, None, None, True) == (None, True)
    with pytest.raises(InvalidSpec, match="--no-healthcheck"):
        from_flags(None, "5s", None, None, None, None, True)
    with pytest.raises(InvalidSpec, match="--health-retries"):
        from_flags("true", None, None, 0, None, None, False)
    with pytest.raises(InvalidSpec, match="--health-on-failure"):
        from_flags("true", None, None, None, None, "explode", False)
    with pytest.raises(InvalidSpec, match="empty"):
        from_flags(" ", None, None, None, None, None, False)


IMAGE = {"Healthcheck": {"Test": ["CMD-SHELL", "test -e /ready"], "Interval": 5 * NS,
                         "Timeout": 2 * NS, "Retries": 4, "StartPeriod": NS}}  # fmt: skip


def test_image_healthcheck_and_overrides() -> None:
    spec = effective(ContainerSpec(image="x"), IMAGE)
    assert spec.healthcheck == Healthcheck(("CMD-SHELL", "test -e /ready"), 5, 2, 4, 1)
    # Flags without --health-cmd alter the image's test.
    hc, _ = from_flags(None, "7s", None, None, None, "stop", False)
    spec = effective(ContainerSpec(image="x", healthcheck=hc), IMAGE)
    assert spec.healthcheck is not None
    assert (spec.healthcheck.test[1], spec.healthcheck.interval, spec.healthcheck.on_failure) == (
        "test -e /ready", 7, HealthOnFailure.STOP)
    assert effective(ContainerSpec(image="x", no_healthcheck=True), IMAGE).healthcheck is None
    assert effective(ContainerSpec(image="x"), {"Healthcheck": {"Test": ["NONE"]}}).healthcheck is None
    with pytest.raises(InvalidSpec, match="neither --health-cmd nor the image"):
        effective(ContainerSpec(image="x", healthcheck=hc), {})
    # Stored as JSON with the container and read back.
    spec = effective(ContainerSpec(image="x"), IMAGE)
    assert ContainerSpec.from_dict(spec.to_dict()) == spec


def test_sdnotify_healthy_needs_a_healthcheck() -> None:
    with pytest.raises(InvalidSpec, match="requires a healthcheck"):
        ContainerSpec(image="x", sdnotify=SdNotify.HEALTHY, no_healthcheck=True)


def test_kube_probes_become_the_healthcheck() -> None:
    from podctl.kube.container import _healthcheck
    from podctl.kube.model import Probe, ProbeAction, ProbeKind

    ready = Probe(ProbeKind.READINESS, ProbeAction.TCP, port=80, period=3)
    live = Probe(ProbeKind.LIVENESS, ProbeAction.EXEC, command=("cat", "/ok"), period=4, timeout=2,
                 failure_threshold=5, initial_delay=6)  # fmt: skip
    assert _healthcheck(()) is None
    assert _healthcheck((ready, live)) == Healthcheck(("CMD", "cat", "/ok"), 4, 2, 5, 6, HealthOnFailure.RESTART)
    only_ready = _healthcheck((ready,))
    assert only_ready is not None and only_ready.on_failure == HealthOnFailure.NONE
    assert only_ready.test[0] == "CMD-SHELL" and "nc -z localhost 80" in only_ready.test[1]
