"""An in-memory SystemdBus for fast unit tests.

It reads unit files (and drop-ins) from the directories it is given on `reload()`, and models
what podctl relies on: start/stop/restart jobs and their results, Type=oneshot/exec failures,
Restart= after a kill (NRestarts), enable/disable through [Install] WantedBy= symlinks, and
transient units. Programs are not run: a command "runs" if its executable exists, and
`false` (or anything listed in `failing`) exits with status 1.

The conformance tests in tests/unit/test_systemd_bus.py hold it to the real manager's answers.
"""

from __future__ import annotations

import itertools
import os
import signal as signals
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from podctl.errors import NotFound, SystemdError
from podctl.systemd import unitfile
from podctl.systemd.bus import DEFAULT_JOB_TIMEOUT, JobResult, Property, UnitFileChange, UnitStatus


@dataclass
class _Unit:
    name: str
    exec_start: list[str]
    type: str = "simple"
    restart: str = "no"
    remain_after_exit: bool = False
    wanted_by: list[str] = field(default_factory=list)
    path: str = ""
    transient: bool = False
    status: UnitStatus = field(default_factory=lambda: UnitStatus(name=""))


class FakeSystemdBus:
    def __init__(self, unit_dirs: Sequence[Path], *, failing: Sequence[str] = ()) -> None:
        if not unit_dirs:
            raise ValueError("FakeSystemdBus needs at least one unit directory")
        self.unit_dirs = [Path(d) for d in unit_dirs]
        self.failing = set(failing)
        self.units: dict[str, _Unit] = {}
        self.calls: list[tuple[str, str]] = []
        self._jobs = itertools.count(1)
        self._pids = itertools.count(40000)
        self.reload()

    # -- model ---------------------------------------------------------------------------

    def _file_units(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for d in reversed(self.unit_dirs):  # earlier dirs take precedence, as in systemd
            if d.is_dir():
                for p in d.iterdir():
                    if p.is_file() and p.suffix in (".service", ".timer", ".target"):
                        found[p.name] = p
        return found

    def _enabled(self, name: str) -> bool:
        return any(
            (d / f"{t}.wants" / name).is_symlink() or (d / f"{t}.wants" / name).exists()
            for d in self.unit_dirs
            for t in ("default.target", "multi-user.target", "timers.target")
        )

    def _job(self, unit: str) -> str:
        return f"/org/freedesktop/systemd1/job/{next(self._jobs)}"

    def _get(self, name: str, verb: str = "found") -> _Unit:
        u = self.units.get(name)
        if u is None or u.status.load_state != "loaded":
            raise NotFound(f"Unit {name} not {verb}.")
        return u

    def _set(self, u: _Unit, **changes: object) -> None:
        u.status = replace(u.status, **changes)  # type: ignore[arg-type]

    def _run(self, u: _Unit) -> str:
        """Start U's main process; returns the job result."""
        argv = u.exec_start
        exe = argv[0] if argv else ""
        if not exe or not (os.path.isabs(exe) and os.access(exe, os.X_OK)):
            self._set(u, active_state="failed", sub_state="failed", result="exit-code",
                      exec_main_code=1, exec_main_status=203, main_pid=0)  # fmt: skip
            return "done" if u.type == "simple" else "failed"
        fails = os.path.basename(exe) == "false" or u.name in self.failing
        if fails:
            self._set(u, active_state="failed", sub_state="failed", result="exit-code",
                      exec_main_code=1, exec_main_status=1, main_pid=0)  # fmt: skip
            return "done" if u.type == "simple" else "failed"
        if u.type == "oneshot":
            if u.remain_after_exit:
                self._set(u, active_state="active", sub_state="exited", result="success",
                          exec_main_code=1, exec_main_status=0, main_pid=0)  # fmt: skip
            else:
                self._set(u, active_state="inactive", sub_state="dead", result="success",
                          exec_main_code=1, exec_main_status=0, main_pid=0)  # fmt: skip
            return "done"
        self._set(u, active_state="active", sub_state="running", result="success",
                  exec_main_code=0, exec_main_status=0, main_pid=next(self._pids))  # fmt: skip
        return "done"

    # -- SystemdBus ----------------------------------------------------------------------

    def version(self) -> str:
        return "252 (fake)"

    def reload(self) -> None:
        self.calls.append(("reload", ""))
        files = self._file_units()
        for name in list(self.units):
            u = self.units[name]
            if (
                not u.transient
                and name not in files
                and u.status.active_state in ("inactive", "failed")
            ):
                del self.units[name]
        for name, path in files.items():
            unit = unitfile.load(path)
            old = self.units.get(name)
            u = _Unit(
                name=name,
                exec_start=unit.lookup_args("Service", "ExecStart") or [],
                type=unit.lookup("Service", "Type") or "simple",
                restart=unit.lookup("Service", "Restart") or "no",
                remain_after_exit=unitfile.parse_bool(unit.lookup("Service", "RemainAfterExit")),
                wanted_by=unit.lookup_strv("Install", "WantedBy"),
                path=str(path),
            )
            base = old.status if old else UnitStatus(name=name)
            u.status = replace(base, name=name, load_state="loaded", fragment_path=str(path))
            self.units[name] = u

    def enable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False, force: bool = True
    ) -> list[UnitFileChange]:
        self.calls.append(("enable", " ".join(files)))
        changes: list[UnitFileChange] = []
        known = self._file_units()
        for f in files:
            name = Path(f).name
            if name not in known:
                raise NotFound(f"Unit file {name} does not exist.")
            unit = unitfile.load(known[name])
            for target in unit.lookup_strv("Install", "WantedBy"):
                link = self.unit_dirs[0] / f"{target}.wants" / name
                link.parent.mkdir(parents=True, exist_ok=True)
                if link.is_symlink() and not force:
                    continue
                link.unlink(missing_ok=True)
                link.symlink_to(known[name])
                changes.append(UnitFileChange("symlink", str(link), str(known[name])))
        return changes

    def disable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False
    ) -> list[UnitFileChange]:
        self.calls.append(("disable", " ".join(files)))
        changes: list[UnitFileChange] = []
        known = self._file_units()
        for f in files:
            name = Path(f).name
            if name not in known and not self._enabled(name):
                raise NotFound(f"Unit file {name} does not exist.")
            for d in self.unit_dirs:
                for wants in d.glob("*.wants"):
                    link = wants / name
                    if link.is_symlink():
                        link.unlink()
                        changes.append(UnitFileChange("unlink", str(link), ""))
        return changes

    def start_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        self.calls.append(("start", name))
        u = self._get(name)
        if u.status.active_state == "active":
            return JobResult(name, self._job(name), "done")
        self._set(u, n_restarts=0)  # an explicit start resets NRestarts, as in systemd
        return JobResult(name, self._job(name), self._run(u))

    def stop_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        self.calls.append(("stop", name))
        u = self._get(name, "loaded")
        if u.status.active_state != "failed":
            self._set(u, active_state="inactive", sub_state="dead", main_pid=0)
        if u.transient:
            del self.units[name]
        return JobResult(name, self._job(name), "done")

    def restart_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        self.calls.append(("restart", name))
        u = self._get(name)
        self._set(u, active_state="inactive", sub_state="dead", main_pid=0, n_restarts=0)
        return JobResult(name, self._job(name), self._run(u))

    def reset_failed_unit(self, name: str) -> None:
        u = self._get(name, "loaded")
        if u.status.active_state == "failed":
            self._set(u, active_state="inactive", sub_state="dead", result="success")
            if u.transient:
                del self.units[name]

    def kill_unit(self, name: str, signal: int, *, whom: str = "main") -> None:
        u = self._get(name, "loaded")
        if u.status.active_state != "active" or not u.status.main_pid:
            return
        restart = u.restart in ("always", "on-failure", "on-abnormal", "on-abort")
        if signal in (signals.SIGTERM, signals.SIGINT, signals.SIGHUP, signals.SIGPIPE):
            restart = u.restart == "always"  # clean signals count as success
        if restart:
            self._set(u, n_restarts=u.status.n_restarts + 1, main_pid=next(self._pids))
        else:
            self._set(u, active_state="failed", sub_state="failed", result="signal",
                      exec_main_code=2, exec_main_status=signal, main_pid=0)  # fmt: skip

    def unit_status(self, name: str) -> UnitStatus:
        u = self.units.get(name)
        if u is None:
            return UnitStatus(name=name)
        state = "transient" if u.transient else ("enabled" if self._enabled(name) else
                                                  ("disabled" if u.wanted_by else "static"))  # fmt: skip
        return replace(u.status, unit_file_state=state)

    def start_transient_unit(
        self,
        name: str,
        properties: Sequence[Property],
        aux: Sequence[tuple[str, Sequence[Property]]] = (),
        *,
        mode: str = "fail",
        timeout: float = DEFAULT_JOB_TIMEOUT,
    ) -> JobResult:
        self.calls.append(("start-transient", name))
        if name in self.units:
            raise SystemdError(f"Unit {name} was already loaded or has a fragment file.")
        for aux_name, aux_props in aux:
            self._add_transient(aux_name, aux_props)
        u = self._add_transient(name, properties)
        if name.endswith(".timer"):
            self._set(u, active_state="active", sub_state="waiting")
            return JobResult(name, self._job(name), "done")
        return JobResult(name, self._job(name), self._run(u))

    def _add_transient(self, name: str, properties: Sequence[Property]) -> _Unit:
        props = {k: v for k, _sig, v in properties}
        exec_start = props.get("ExecStart") or []
        argv = list(exec_start[0][1]) if exec_start else []
        if argv and exec_start:
            argv[0] = exec_start[0][0]
        u = _Unit(name=name, exec_start=argv, type=str(props.get("Type", "simple")),
                  restart=str(props.get("Restart", "no")), transient=True)  # fmt: skip
        u.status = UnitStatus(name=name, load_state="loaded")
        self.units[name] = u
        return u

    def close(self) -> None:
        pass
