"""systemd verbs: `generate systemd` (and `--install`), `systemd uninstall`.

Fills the generator's plain requests from the container state, writes or installs the units,
and explains a failed start with the unit's state and the last log lines it can find.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from podctl.config import Config, xdg_data_home, xdg_runtime_dir
from podctl.errors import InvalidSpec, NotFound, PodctlError
from podctl.systemd.bus import SystemdBus, UnitStatus
from podctl.systemd.generate import (
    ContainerRequest,
    GeneratedUnit,
    GenerateOptions,
    PodRequest,
    container_unit,
    pod_units,
)
from podctl.systemd.install import InstallReport, UninstallReport, user_unit_dir

BusFactory = Callable[[], SystemdBus]


def _default_bus() -> SystemdBus:
    from podctl.systemd.bus import connect

    return connect()


@dataclass(frozen=True)
class GenerateSystemdOptions:
    ref: str
    generate: GenerateOptions = field(default_factory=GenerateOptions)
    files: bool = False  # write NAME.service files (into files_dir, default the cwd)
    files_dir: Path | None = None
    install: bool = False  # write into the user unit dir and reload the manager
    enable: bool = False
    start: bool = False
    unit_dir: Path | None = None  # default $XDG_CONFIG_HOME/systemd/user

    def __post_init__(self) -> None:
        if (self.enable or self.start) and not self.install:
            raise InvalidSpec("--enable and --start need --install")


@dataclass(frozen=True)
class GenerateSystemdReport:
    units: tuple[GeneratedUnit, ...]
    files: tuple[Path, ...] = ()
    install: InstallReport | None = None


@dataclass(frozen=True)
class UninstallItem:
    ref: str
    report: UninstallReport | None = None
    error: PodctlError | None = None


def root_flags(cfg: Config) -> tuple[str, ...]:
    """The global flags a unit needs to reach this store (those that differ from defaults)."""
    flags: list[str] = []
    if cfg.root != xdg_data_home() / "podctl":
        flags += ["--root", str(cfg.root)]
    if cfg.runroot != xdg_runtime_dir() / "podctl":
        flags += ["--runroot", str(cfg.runroot)]
    if cfg.runtime:
        flags += ["--runtime", cfg.runtime]
    return tuple(flags)


def container_request(cfg: Config, ref: str) -> ContainerRequest:
    from podctl.runtime.paths import ContainerPaths
    from podctl.spec import ContainerSpec
    from podctl.state.containers import StateDB

    if not cfg.state_db.exists():
        raise NotFound(f'no container with name or ID "{ref}" found: no such container')
    db = StateDB(cfg.state_db)
    try:
        rec = db.lookup_container(ref)
    finally:
        db.close()
    spec = ContainerSpec.from_dict(rec.spec)
    restart = str(spec.restart_policy)
    if spec.restart_retries:
        restart += f":{spec.restart_retries}"
    env = [f"{k}={v}" for k, v in spec.env]
    env += [str(e) for e in rec.extra.get("env", []) if isinstance(e, str)]
    return ContainerRequest(
        name=rec.name,
        id=rec.id,
        create_command=tuple(spec.create_command),
        image=rec.image,
        stop_timeout=spec.stop_timeout,
        restart_policy="" if restart == "no" else restart,
        env=tuple(env),
        conmon_pidfile=str(ContainerPaths.of(cfg, rec.id).conmon_pidfile),
        run_root=str(cfg.runroot),
        root_flags=root_flags(cfg),
    )


def pod_request(cfg: Config, ref: str) -> PodRequest:
    """The pod REF as the generator needs it: its create command, its infra container's name,
    id and conmon PID file, and a ContainerRequest per member (see container_request).

    """
    from podctl.engine import pods
    from podctl.runtime.paths import ContainerPaths

    pod = pods.find(cfg, ref)  # NotFound: no such pod
    db = pods.lc.open_db(cfg)
    infra = db.get_container(pod.infra_id) if pod.infra_id else None
    pidfile = pod.extra.get("infra_conmon_pidfile") or (
        str(ContainerPaths.of(cfg, pod.infra_id).conmon_pidfile) if pod.infra_id else "")  # fmt: skip
    return PodRequest(
        name=pod.name, id=pod.id, infra_name=infra.name if infra else "", infra_id=pod.infra_id,
        infra_conmon_pidfile=pidfile, create_command=tuple(pod.spec.get("create_command") or ()),
        run_root=str(cfg.runroot), root_flags=root_flags(cfg),
        members=tuple(container_request(cfg, m.id) for m in pods.members(cfg, pod.id)),
    )  # fmt: skip


def generate_units(cfg: Config, ref: str, opts: GenerateOptions) -> list[GeneratedUnit]:
    """Units for a container, or for a pod and its member containers (as podman, containers
    are looked up first)."""
    try:
        return [container_unit(container_request(cfg, ref), opts)]
    except NotFound as e:
        try:
            pod = pod_request(cfg, ref)
        except NotFound as pe:
            raise NotFound(
                f"{ref} does not refer to a container or pod: {pe.message}: {e.message}"
            ) from e
    return pod_units(pod, opts)


def generate_systemd(
    cfg: Config, opts: GenerateSystemdOptions, *, bus_factory: BusFactory = _default_bus
) -> GenerateSystemdReport:
    units = generate_units(cfg, opts.ref, opts.generate)
    files: list[Path] = []
    if opts.files:
        from podctl.systemd.install import write_units

        files = write_units([(u.filename, u.text) for u in units], opts.files_dir or Path.cwd())
    report: InstallReport | None = None
    if opts.install:
        from podctl.systemd import install

        bus = bus_factory()
        try:
            report = install.install(
                bus,
                [(u.filename, u.text) for u in units],
                enable=opts.enable,
                start=opts.start,
                unit_dir=opts.unit_dir,
                logs_of=lambda name, status: unit_logs(cfg, name, status, opts.unit_dir),
            )
        finally:
            bus.close()
    return GenerateSystemdReport(tuple(units), tuple(files), report)


def uninstall(
    cfg: Config,
    names: Sequence[str],
    *,
    unit_dir: Path | None = None,
    bus_factory: BusFactory = _default_bus,
) -> list[UninstallItem]:
    """Stop, disable and remove installed units; per item, carrying on after a failure."""
    from podctl.systemd import install

    bus = bus_factory()
    out: list[UninstallItem] = []
    try:
        for name in names:
            try:
                out.append(
                    UninstallItem(
                        name, install.uninstall(bus, _unit_name(name, unit_dir), unit_dir=unit_dir)
                    )
                )
            except PodctlError as e:
                out.append(UninstallItem(name, error=e))
    finally:
        bus.close()
    return out


def status(
    names: Sequence[str], *, unit_dir: Path | None = None, bus_factory: BusFactory = _default_bus
) -> list[dict[str, object]]:
    """The manager's view of units (by unit, container or pod name), podman-style fields."""
    bus = bus_factory()
    try:
        rows: list[dict[str, object]] = []
        for ref in names:
            st = bus.unit_status(_unit_name(ref, unit_dir))
            rows.append({
                "Unit": st.name, "LoadState": st.load_state, "ActiveState": st.active_state,
                "SubState": st.sub_state, "Result": st.result, "MainPID": st.main_pid,
                "NRestarts": st.n_restarts, "UnitFileState": st.unit_file_state,
                "FragmentPath": st.fragment_path, "StatusText": str(st.extra.get("StatusText", "")),
            })  # fmt: skip
        return rows
    finally:
        bus.close()


def _unit_name(ref: str, unit_dir: Path | None) -> str:
    """A unit name, or a container name whose `container-NAME.service` is installed."""
    if ref.endswith(".service"):
        return ref
    where = unit_dir or user_unit_dir()
    for candidate in (f"{ref}.service", f"container-{ref}.service", f"pod-{ref}.service"):
        if (where / candidate).exists():
            return candidate
    return f"{ref}.service"


# -- explaining failures -----------------------------------------------------------------------


def unit_logs(
    cfg: Config, unit: str, status: UnitStatus, unit_dir: Path | None = None, tail: int = 10
) -> list[str]:
    """The last lines systemd's journal has for UNIT, else the log of the container it runs."""
    lines = _journal(unit, tail)
    if lines:
        return lines
    name = _container_name_of(unit, unit_dir)
    if name:
        lines = _container_log(cfg, name, tail)
    return lines


def _journal(unit: str, tail: int) -> list[str]:
    journalctl = shutil.which("journalctl")
    if not journalctl:
        return []
    from podctl.errors import RuntimeFailed
    from podctl.run import run

    try:
        proc = run([journalctl, "--user", "-u", unit, "-n", str(tail), "--no-pager", "-o", "cat"],
                   check=False, timeout=5)  # fmt: skip
    except RuntimeFailed:
        return []
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return [] if not lines or lines[0].startswith("-- No entries --") else lines[-tail:]


def _container_name_of(unit: str, unit_dir: Path | None) -> str:
    from podctl.systemd.unitfile import UnitFile

    path = (unit_dir or user_unit_dir()) / unit
    try:
        u = UnitFile.read(path)
        args = u.lookup_args("Service", "ExecStart") or []
    except PodctlError:
        return ""
    for i, a in enumerate(args):
        if a == "--name" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--name="):
            return a.split("=", 1)[1]
    if len(args) >= 2 and args[-2] == "start":
        return args[-1]
    return ""


def _container_log(cfg: Config, name: str, tail: int) -> list[str]:
    from podctl.runtime import logs
    from podctl.runtime.paths import ContainerPaths
    from podctl.state.containers import StateDB

    if not cfg.state_db.exists():
        return []
    db = StateDB(cfg.state_db)
    try:
        rec = db.lookup_container(name)
    except PodctlError:
        return []
    finally:
        db.close()
    found, _ = logs.read(ContainerPaths.of(cfg, rec.id).log_path, tail=tail)
    return [ln.text.decode(errors="replace") for ln in found]


def environment_unit() -> str | None:
    """The unit that runs this podctl (set by generated units), to record with a container."""
    # Quadlet units (written for podman) set PODMAN_SYSTEMD_UNIT.
    return os.environ.get("PODCTL_SYSTEMD_UNIT") or os.environ.get("PODMAN_SYSTEMD_UNIT") or None
