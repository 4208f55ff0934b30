"""Installing generated units into the user manager and driving them over D-Bus.

Files go to `$XDG_CONFIG_HOME/systemd/user/` (written atomically, read back through the unit
file parser so a malformed unit never reaches systemd), then the manager reloads, enables
(`EnableUnitFiles`) and starts (`StartUnit`) them, waiting for each job's `JobRemoved`.
A failed job raises SystemdError with the unit's state and whatever log lines the caller can
find (`logs_of`), so the user sees why, not just "failed".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from podctl.config import xdg_config_home
from podctl.errors import InvalidSpec, NotFound, SystemdError
from podctl.systemd.bus import (
    DEFAULT_JOB_TIMEOUT,
    JobResult,
    SystemdBus,
    UnitFileChange,
    UnitStatus,
)
from podctl.systemd.unitfile import UnitFile, check_unit_name

LogSource = Callable[[str, UnitStatus], list[str]]


def user_unit_dir() -> Path:
    return xdg_config_home() / "systemd" / "user"


@dataclass(frozen=True)
class InstallReport:
    unit_dir: Path
    files: tuple[Path, ...]
    enabled: tuple[UnitFileChange, ...] = ()
    started: tuple[JobResult, ...] = ()


@dataclass(frozen=True)
class UninstallReport:
    unit: str
    stopped: JobResult | None = None
    disabled: tuple[UnitFileChange, ...] = ()
    removed: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default=())


def write_units(units: Sequence[tuple[str, str]], unit_dir: Path) -> list[Path]:
    """Write (filename, text) pairs; all are validated before any is written."""
    parsed: list[tuple[Path, UnitFile]] = []
    for filename, text in units:
        check_unit_name(filename)
        parsed.append((unit_dir / filename, UnitFile.parse(text, unit_dir / filename)))
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidSpec(f"cannot create {unit_dir}: {e.strerror}") from e
    return [uf.write(path) for path, uf in parsed]


def job_failure(
    job: JobResult, status: UnitStatus, logs: list[str], verb: str = "start"
) -> SystemdError:
    lines = [f"{verb} of {job.unit} {job.result}: {status.describe()}"]
    text = status.extra.get("StatusText") if status.extra else ""
    if text:
        lines.append(f"status: {text}")
    if logs:
        lines.append("last log lines:")
        lines.extend(f"  {ln}" for ln in logs)
    return SystemdError(
        "\n".join(lines),
        hint=f"inspect with `systemctl --user status {job.unit}` and `journalctl --user -u {job.unit}`",
    )


def start_units(
    bus: SystemdBus,
    names: Sequence[str],
    *,
    logs_of: LogSource | None = None,
    timeout: float = DEFAULT_JOB_TIMEOUT,
) -> list[JobResult]:
    """Start NAMES in order; stop at the first failed job with a readable SystemdError."""
    results: list[JobResult] = []
    for name in names:
        job = bus.start_unit(name, timeout=timeout)
        results.append(job)
        if not job.ok:
            status = bus.unit_status(name)
            logs = logs_of(name, status) if logs_of else []
            raise job_failure(job, status, logs)
    return results


def install(
    bus: SystemdBus,
    units: Sequence[tuple[str, str]],
    *,
    enable: bool = False,
    start: bool = False,
    unit_dir: Path | None = None,
    logs_of: LogSource | None = None,
    timeout: float = DEFAULT_JOB_TIMEOUT,
) -> InstallReport:
    """Write UNITS, reload, then optionally enable and start them (in the given order)."""
    where = unit_dir or user_unit_dir()
    names = [f for f, _ in units]
    if enable and any("@." in n for n in names):
        raise InvalidSpec(
            "template units (NAME@.service) cannot be enabled without an instance name"
        )
    if start and any("@." in n for n in names):
        raise InvalidSpec(
            "template units (NAME@.service) cannot be started without an instance name"
        )
    files = write_units(units, where)
    bus.reload()
    enabled: list[UnitFileChange] = []
    if enable:
        enabled = bus.enable_unit_files(names)
        bus.reload()
    started = start_units(bus, names, logs_of=logs_of, timeout=timeout) if start else []
    return InstallReport(where, tuple(files), tuple(enabled), tuple(started))


def uninstall(bus: SystemdBus, name: str, *, unit_dir: Path | None = None,
              timeout: float = DEFAULT_JOB_TIMEOUT) -> UninstallReport:  # fmt: skip
    """Stop, disable and remove a unit podctl installed, then reload. Idempotent per step."""
    if not name.endswith(".service"):
        name += ".service"
    check_unit_name(name)
    where = unit_dir or user_unit_dir()
    path = where / name
    dropins = where / f"{name}.d"
    if not path.exists() and not dropins.exists():
        raise NotFound(f"unit {name} is not installed in {where}")
    notes: list[str] = []
    stopped: JobResult | None = None
    if name.endswith("@.service"):
        notes.append("template: its running instances (NAME@INSTANCE.service) are not stopped")
    else:
        try:
            stopped = bus.stop_unit(name, timeout=timeout)
            if not stopped.ok:
                notes.append(f"stop job {stopped.result}")
        except NotFound:
            notes.append("not loaded")
        with contextlib.suppress(NotFound):
            bus.reset_failed_unit(name)
    disabled: list[UnitFileChange] = []
    with contextlib.suppress(NotFound):
        disabled = bus.disable_unit_files([name])
    removed: list[Path] = []
    try:
        if path.exists():
            path.unlink()
            removed.append(path)
        if dropins.is_dir():
            for conf in sorted(dropins.iterdir()):
                conf.unlink()
                removed.append(conf)
            dropins.rmdir()
    except OSError as e:
        raise SystemdError(f"cannot remove {path}: {e.strerror}") from e
    bus.reload()
    return UninstallReport(name, stopped, tuple(disabled), tuple(removed), tuple(notes))
