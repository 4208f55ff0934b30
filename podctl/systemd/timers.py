"""Transient timers in the user manager, as podman schedules healthchecks.

podman runs `systemd-run --user --unit CID --on-unit-inactive=INTERVAL podman healthcheck run
CID`; podctl asks the manager directly (StartTransientUnit): a `CID.timer` that first fires
INTERVAL after it starts and then INTERVAL after each run of `CID.service` has finished, so
that slow checks never overlap. Both units vanish when the timer is stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from podctl.errors import InvalidSpec, NotFound, SystemdError
from podctl.systemd.bus import JobResult, Property, SystemdBus
from podctl.systemd.unitfile import check_unit_name

USEC = 1_000_000


def timer_units(name: str) -> tuple[str, str]:
    check_unit_name(f"{name}.timer")
    return f"{name}.timer", f"{name}.service"


def start_periodic(
    bus: SystemdBus,
    name: str,
    argv: Sequence[str],
    interval: float,
    *,
    description: str = "",
    env: Mapping[str, str] | None = None,
    kill_mode: str = "",
) -> JobResult:
    """Run ARGV every INTERVAL seconds (measured from the end of the previous run).

    KILL_MODE=process leaves what a run started (a restarted container's conmon) alive when
    the run ends."""
    if not argv or not argv[0].startswith("/"):
        raise InvalidSpec(
            f"timer {name}: the command must start with an absolute path, not {argv[:1]}"
        )
    if interval <= 0:
        raise InvalidSpec(f"timer {name}: the interval must be positive, not {interval}")
    timer, service = timer_units(name)
    usec = int(interval * USEC)
    timer_props: list[Property] = [
        ("Description", "s", description or f"podctl timer {name}"),
        ("OnActiveSec", "t", usec),
        ("OnUnitInactiveSec", "t", usec),
        ("AccuracyUSec", "t", USEC // 10 if interval < 10 else USEC),
        ("RemainAfterElapse", "b", False),
    ]
    service_props: list[Property] = [
        ("Description", "s", description or f"podctl timer {name}"),
        ("Type", "s", "oneshot"),
        ("ExecStart", "a(sasb)", [(argv[0], list(argv), False)]),
    ]
    if kill_mode:
        service_props.append(("KillMode", "s", kill_mode))
    if env:
        service_props.append(("Environment", "as", [f"{k}={v}" for k, v in env.items()]))
    job = bus.start_transient_unit(timer, timer_props, [(service, service_props)])
    if not job.ok:
        raise SystemdError(f"cannot start timer {timer}: job {job.result}")
    return job


def stop_periodic(bus: SystemdBus, name: str) -> None:
    """Stop the timer and any run in progress; both transient units go away. Idempotent."""
    for unit in timer_units(name):
        with contextlib.suppress(NotFound):
            bus.stop_unit(unit)
        with contextlib.suppress(NotFound):
            bus.reset_failed_unit(unit)
