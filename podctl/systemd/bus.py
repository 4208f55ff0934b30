"""The systemd user manager over D-Bus (dbus-fast), imported only by commands that need it.

`SystemdBus` is the interface podctl uses; `DbusSystemdBus` is the real one (org.freedesktop.
systemd1 on the user bus) and `podctl.systemd.fake.FakeSystemdBus` the in-memory one for unit
tests. The same conformance tests run against both (tests/unit/test_systemd_bus.py).

Jobs are awaited the way systemctl does: subscribe to the manager's signals *before* queueing
the job, then wait for the `JobRemoved` signal carrying the job's object path and its result
(`done`, `failed`, `timeout`, `canceled`, `dependency`, `skipped`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from podctl.config import xdg_runtime_dir
from podctl.errors import NotFound, SystemdError

if TYPE_CHECKING:  # asyncio costs ~30 ms: only commands that talk to systemd import it
    import asyncio

SYSTEMD = "org.freedesktop.systemd1"
PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
SERVICE_IFACE = "org.freedesktop.systemd1.Service"
PROPS = "org.freedesktop.DBus.Properties"

DEFAULT_JOB_TIMEOUT = 300.0

T = TypeVar("T")

# A property of a transient unit: (name, D-Bus signature, value), e.g.
# ("ExecStart", "a(sasb)", [("/bin/sleep", ["/bin/sleep", "5"], False)]).
Property = tuple[str, str, Any]


@dataclass(frozen=True)
class JobResult:
    """How a start/stop/restart job ended: `done` is success."""

    unit: str
    job: str
    result: str

    @property
    def ok(self) -> bool:
        return self.result == "done"


@dataclass(frozen=True)
class UnitStatus:
    name: str
    load_state: str = "not-found"  # loaded, not-found, bad-setting, error, masked
    active_state: str = "inactive"  # active, reloading, inactive, failed, activating, deactivating
    sub_state: str = "dead"
    result: str = "success"  # the service's Result: success, exit-code, signal, timeout, ...
    main_pid: int = 0
    n_restarts: int = 0
    exec_main_code: int = 0  # CLD_EXITED (1), CLD_KILLED (2) ...
    exec_main_status: int = 0
    unit_file_state: str = ""  # enabled, disabled, static, linked ...
    fragment_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        text = f"{self.name}: {self.active_state} ({self.sub_state}), result {self.result}"
        if self.exec_main_code:
            how = "exited with status" if self.exec_main_code == 1 else "killed by signal"
            text += f", main process {how} {self.exec_main_status}"
        if self.n_restarts:
            text += f", restarted {self.n_restarts} times"
        if self.load_state != "loaded":
            text += f", load state {self.load_state}"
        return text


@dataclass(frozen=True)
class UnitFileChange:
    """One change EnableUnitFiles/DisableUnitFiles made: (symlink|unlink, path, target)."""

    kind: str
    path: str
    target: str


class SystemdBus(Protocol):
    """What podctl asks of a systemd user manager."""

    def version(self) -> str: ...

    def reload(self) -> None: ...

    def enable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False, force: bool = True
    ) -> list[UnitFileChange]: ...

    def disable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False
    ) -> list[UnitFileChange]: ...

    def start_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult: ...

    def stop_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult: ...

    def restart_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult: ...

    def reset_failed_unit(self, name: str) -> None: ...

    def kill_unit(self, name: str, signal: int, *, whom: str = "main") -> None: ...

    def unit_status(self, name: str) -> UnitStatus: ...

    def start_transient_unit(
        self,
        name: str,
        properties: Sequence[Property],
        aux: Sequence[tuple[str, Sequence[Property]]] = (),
        *,
        mode: str = "fail",
        timeout: float = DEFAULT_JOB_TIMEOUT,
    ) -> JobResult: ...

    def close(self) -> None: ...


def bus_address() -> str:
    addr = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if addr:
        return addr
    return f"unix:path={xdg_runtime_dir() / 'bus'}"


def _no_manager(detail: str) -> SystemdError:
    user = os.environ.get("USER") or str(os.getuid())
    return SystemdError(
        f"no systemd user manager reachable on {bus_address()}: {detail}",
        hint=(
            "fix: start one with `sudo systemctl start user@$(id -u).service`, make sure "
            "XDG_RUNTIME_DIR=/run/user/$(id -u) is set, and for start at boot run "
            f"`sudo loginctl enable-linger {user}`"
        ),
    )


def _auth() -> Any:
    """EXTERNAL auth with our uid as the bus sees it: inside podctl's user namespace (uid 0
    there) that is the uid mapped to 0, which the kernel reports to the bus daemon."""
    from dbus_fast.auth import AuthExternal

    uid = os.getuid()
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, outside, _count = (int(x) for x in line.split())
                if inside <= uid < inside + _count:
                    uid = outside + uid - inside
                    break
    except (OSError, ValueError):
        pass
    return AuthExternal(uid=uid)


async def _connect() -> Any:
    import asyncio

    from dbus_fast import BusType
    from dbus_fast.aio import MessageBus

    addr = bus_address()
    if addr.startswith("unix:path="):
        sock = Path(addr.removeprefix("unix:path=").split(",")[0])
        if not sock.exists():
            raise _no_manager(f"{sock} does not exist")
    try:
        return await asyncio.wait_for(
            MessageBus(bus_address=addr, bus_type=BusType.SESSION, auth=_auth()).connect(), 10
        )
    except (TimeoutError, OSError) as e:
        raise _no_manager(str(e) or type(e).__name__) from e
    except Exception as e:  # dbus_fast auth errors, EOF when the bus refuses our uid, ...
        raise _no_manager(f"{type(e).__name__}: {e}") from e


async def _manager_property(name: str) -> Any:
    from dbus_fast import Message, MessageType

    bus = await _connect()
    try:
        reply = await bus.call(
            Message(
                destination=SYSTEMD,
                path=PATH,
                interface=PROPS,
                member="Get",
                signature="ss",
                body=[MANAGER, name],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise _no_manager(f"{reply.error_name}: {' '.join(map(str, reply.body))}")
        return reply.body[0].value
    finally:
        bus.disconnect()


def call(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    import asyncio

    return asyncio.run(fn())


def manager_version() -> str:
    return str(call(lambda: _manager_property("Version")))


def connect() -> DbusSystemdBus:
    """The user manager of the calling user; raises SystemdError (with the fix) when absent."""
    return DbusSystemdBus()


_NOT_FOUND_ERRORS = {
    "org.freedesktop.systemd1.NoSuchUnit",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.systemd1.NoSuchJob",
}


def _unwrap(value: Any) -> Any:
    return value.value if hasattr(value, "signature") and hasattr(value, "value") else value


class DbusSystemdBus:
    """SystemdBus over one D-Bus connection, driven by a private event loop."""

    def __init__(self) -> None:
        import asyncio

        self._loop = asyncio.new_event_loop()
        self._done: dict[str, tuple[str, str]] = {}  # job path -> (unit, result)
        self._waiters: dict[str, asyncio.Future[tuple[str, str]]] = {}
        try:
            self._bus = self._run(self._open())
        except BaseException:
            self._loop.close()
            raise

    # -- plumbing ------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coro)

    async def _open(self) -> Any:
        bus = await _connect()
        bus.add_message_handler(self._on_message)
        try:
            # Subscribe before any job is queued: JobRemoved is only sent to subscribers.
            await self._call_on(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "AddMatch", "s",
                [f"type='signal',sender='{SYSTEMD}',interface='{MANAGER}',member='JobRemoved'"],
            )  # fmt: skip
            await self._call_on(bus, SYSTEMD, PATH, MANAGER, "Subscribe", "", [])
        except SystemdError as e:
            bus.disconnect()
            raise _no_manager(e.message) from e
        return bus

    def _on_message(self, msg: Any) -> None:
        from dbus_fast import MessageType

        if (
            msg.message_type == MessageType.SIGNAL
            and msg.interface == MANAGER
            and msg.member == "JobRemoved"
        ):
            _id, job, unit, result = msg.body
            waiter = self._waiters.pop(job, None)
            if waiter is not None and not waiter.done():
                waiter.set_result((unit, result))
            else:
                if len(self._done) > 1000:  # other clients' jobs: keep only recent ones
                    self._done.clear()
                self._done[job] = (unit, result)

    @staticmethod
    async def _call_on(
        bus: Any, dest: str, path: str, iface: str, member: str, sig: str, body: list[Any]
    ) -> list[Any]:
        from dbus_fast import Message, MessageType

        reply = await bus.call(
            Message(
                destination=dest,
                path=path,
                interface=iface,
                member=member,
                signature=sig,
                body=body,
            )
        )
        if reply.message_type == MessageType.ERROR:
            detail = " ".join(map(str, reply.body)) or reply.error_name
            if reply.error_name in _NOT_FOUND_ERRORS:
                raise NotFound(detail)
            raise SystemdError(f"systemd {member}: {detail} ({reply.error_name})")
        return list(reply.body)

    async def _manager(self, member: str, sig: str, *body: Any) -> list[Any]:
        return await self._call_on(self._bus, SYSTEMD, PATH, MANAGER, member, sig, list(body))

    async def _job(
        self, member: str, sig: str, body: list[Any], unit: str, timeout: float
    ) -> JobResult:
        reply = await self._manager(member, sig, *body)
        job = str(reply[0])
        if job in self._done:
            _unit, result = self._done.pop(job)
            return JobResult(unit, job, result)
        fut: asyncio.Future[tuple[str, str]] = self._loop.create_future()
        self._waiters[job] = fut
        try:
            import asyncio

            _unit, result = await asyncio.wait_for(fut, timeout)
        except TimeoutError as e:
            self._waiters.pop(job, None)
            raise SystemdError(f"{member} {unit}: no result after {timeout:g}s (job {job})") from e
        return JobResult(unit, job, result)

    # -- SystemdBus ----------------------------------------------------------------------

    def version(self) -> str:
        async def get() -> str:
            body = await self._call_on(
                self._bus, SYSTEMD, PATH, PROPS, "Get", "ss", [MANAGER, "Version"]
            )
            return str(_unwrap(body[0]))

        return self._run(get())

    def reload(self) -> None:
        self._run(self._manager("Reload", ""))

    def enable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False, force: bool = True
    ) -> list[UnitFileChange]:
        body = self._run(self._manager("EnableUnitFiles", "asbb", list(files), runtime, force))
        return [UnitFileChange(*c) for c in body[1]]

    def disable_unit_files(
        self, files: Sequence[str], *, runtime: bool = False
    ) -> list[UnitFileChange]:
        body = self._run(self._manager("DisableUnitFiles", "asb", list(files), runtime))
        return [UnitFileChange(*c) for c in body[0]]

    def start_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        return self._run(self._job("StartUnit", "ss", [name, mode], name, timeout))

    def stop_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        return self._run(self._job("StopUnit", "ss", [name, mode], name, timeout))

    def restart_unit(
        self, name: str, *, mode: str = "replace", timeout: float = DEFAULT_JOB_TIMEOUT
    ) -> JobResult:
        return self._run(self._job("RestartUnit", "ss", [name, mode], name, timeout))

    def reset_failed_unit(self, name: str) -> None:
        self._run(self._manager("ResetFailedUnit", "s", name))

    def kill_unit(self, name: str, signal: int, *, whom: str = "main") -> None:
        self._run(self._manager("KillUnit", "ssi", name, whom, signal))

    def unit_status(self, name: str) -> UnitStatus:
        async def get() -> UnitStatus:
            path = str((await self._manager("LoadUnit", "s", name))[0])
            unit = await self._call_on(self._bus, SYSTEMD, path, PROPS, "GetAll", "s", [UNIT_IFACE])
            props = {k: _unwrap(v) for k, v in unit[0].items()}
            if name.endswith(".service"):
                svc = await self._call_on(
                    self._bus, SYSTEMD, path, PROPS, "GetAll", "s", [SERVICE_IFACE]
                )
                props.update({k: _unwrap(v) for k, v in svc[0].items()})
            return UnitStatus(
                name=name,
                load_state=str(props.get("LoadState", "")),
                active_state=str(props.get("ActiveState", "")),
                sub_state=str(props.get("SubState", "")),
                result=str(props.get("Result", "success")),
                main_pid=int(props.get("MainPID", 0) or 0),
                n_restarts=int(props.get("NRestarts", 0) or 0),
                exec_main_code=int(props.get("ExecMainCode", 0) or 0),
                exec_main_status=int(props.get("ExecMainStatus", 0) or 0),
                unit_file_state=str(props.get("UnitFileState", "")),
                fragment_path=str(props.get("FragmentPath", "")),
                extra={k: props[k] for k in ("ActiveEnterTimestamp", "StatusText") if k in props},
            )

        return self._run(get())

    def start_transient_unit(
        self,
        name: str,
        properties: Sequence[Property],
        aux: Sequence[tuple[str, Sequence[Property]]] = (),
        *,
        mode: str = "fail",
        timeout: float = DEFAULT_JOB_TIMEOUT,
    ) -> JobResult:
        from dbus_fast import Variant

        def props(ps: Sequence[Property]) -> list[list[Any]]:
            return [[k, Variant(sig, v)] for k, sig, v in ps]

        body = [name, mode, props(properties), [[n, props(p)] for n, p in aux]]
        return self._run(self._job("StartTransientUnit", "ssa(sv)a(sa(sv))", body, name, timeout))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._bus.disconnect()
            import asyncio

            self._run(asyncio.sleep(0))
        finally:
            self._loop.close()

    def __enter__(self) -> DbusSystemdBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
