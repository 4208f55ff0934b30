"""The OCI runtime driver: intents -> runc/crun argv, answers -> Python values. No state logic."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from podctl import fastjson as json
from podctl import procs
from podctl import run as gateway
from podctl.errors import InvalidSpec, NotFound, RuntimeFailed

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command. The
# Protocols below are for mypy; at run time they are plain classes nothing derives from.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object


class OCIRuntime(Protocol):
    path: str
    root: Path

    def start(self, cid: str) -> None: ...
    def kill(self, cid: str, sig: int, all_procs: bool = False) -> None: ...
    def delete(self, cid: str, force: bool = False) -> None: ...
    def forget(self, cid: str) -> None: ...
    def state(self, cid: str) -> dict[str, Any] | None: ...
    def pids(self, cid: str) -> list[int]: ...
    def exec_argv(
        self, cid: str, process_json: Path, *, tty: bool, detach: bool = False
    ) -> list[str]: ...


class Runc:
    """runc and crun share the command line used here."""

    runtime_args: tuple[str, ...] = ()  # global options conmon passes on (--runtime-arg)

    def __init__(self, path: str, root: Path) -> None:
        self.path = path
        self.root = root

    def prepare(self) -> None:
        """Whatever the host needs before the runtime runs (inside the user namespace)."""

    def finish_config(self, config: dict[str, Any], cid: str, runroot: Path) -> None:
        """A last look at a container's config.json before it is written."""

    def _argv(self, *args: str) -> list[str]:
        return [self.path, "--root", str(self.root), *self.runtime_args, *args]

    def start(self, cid: str) -> None:
        gateway.run_light(self._argv("start", cid))

    def kill(self, cid: str, sig: int, all_procs: bool = False) -> None:
        argv = self._argv("kill", *(["--all"] if all_procs else []), cid, str(sig))
        proc = gateway.run(argv, check=False)
        if proc.returncode != 0:
            err = (proc.stderr or "").lower()
            if "not running" in err or "no such process" in err or self._gone(err):
                raise NotFound(f"container {cid} is not running")
            raise gateway.failure(argv, proc.returncode, proc.stderr)

    def pause(self, cid: str) -> None:
        gateway.run(self._argv("pause", cid))

    def resume(self, cid: str) -> None:
        gateway.run(self._argv("resume", cid))

    def delete(self, cid: str, force: bool = False) -> None:
        argv = self._argv("delete", *(["--force"] if force else []), cid)
        proc = gateway.run(argv, check=False)
        if proc.returncode != 0 and not self._gone((proc.stderr or "").lower()):
            raise gateway.failure(argv, proc.returncode, proc.stderr)

    def _gone(self, err: str) -> bool:
        """Whether the runtime's (lower-cased) error says it has no such container."""
        return "does not exist" in err

    def forget(self, cid: str) -> None:
        """`delete` for a container whose processes are gone: drop runc's state directory.

        Saves a runc process (10-25 ms) on every exit. When the init process still runs, or
        runc created cgroups that must go too, this is a real `runc delete --force`.
        """
        state_dir = self.root / cid
        try:
            data = json.loads((state_dir / "state.json").read_text())
        except FileNotFoundError:
            # crun's state (a container created with --runtime crun) has a `status` file.
            try:
                data = _crun_status(json.loads((state_dir / "status").read_text()))
            except FileNotFoundError:
                return
            except (OSError, ValueError):
                self.delete(cid, force=True)
                return
        except (OSError, ValueError):
            self.delete(cid, force=True)
            return
        pid = int(data.get("init_process_pid") or 0)
        cgroups = (data.get("cgroup_paths") or {}).values()
        if procs.alive(pid, int(data.get("init_process_start") or 0)) or not _rmdir_all(cgroups):
            self.delete(cid, force=True)
            return
        from podctl.runtime.fsutil import rmtree

        rmtree(state_dir)

    def state(self, cid: str) -> dict[str, Any] | None:
        proc = gateway.run(self._argv("state", cid), check=False)
        if proc.returncode != 0:
            return None
        try:
            data = json.loads(proc.stdout)
        except ValueError as e:
            raise RuntimeFailed(f"{self.path} state {cid}: unreadable answer") from e
        return data if isinstance(data, dict) else None

    def pids(self, cid: str) -> list[int]:
        proc = gateway.run(self._argv("ps", "--format", "json", cid), check=False)
        if proc.returncode != 0:
            return []
        try:
            return [int(p) for p in json.loads(proc.stdout) or []]
        except (ValueError, TypeError):
            return []

    def run_argv(self, cid: str, bundle: Path, pidfile: Path, logfile: Path) -> list[str]:
        """`runc run` in the foreground: the caller's stdio (or a pty runc makes) is the container's."""
        return self._argv("--log", str(logfile), "--log-format", "json", "run", "--bundle", str(bundle),
                          "--pid-file", str(pidfile), cid)  # fmt: skip

    def exec_argv(self, cid: str, process_json: Path, *, tty: bool, detach: bool = False) -> list[str]:
        argv = self._argv("exec", "--process", str(process_json))
        if tty:
            argv.append("--tty")
        if detach:
            argv.append("--detach")
        return [*argv, cid]


class Crun(Runc):
    """crun; on a hybrid host with no cgroup manager (rootless podctl gets no cgroups there)
    and the cgroup v2 hierarchy hidden from it (podctl.runtime.crun)."""

    def __init__(self, path: str, root: Path) -> None:
        super().__init__(path, root)
        from podctl.runtime import crun

        self._hybrid = crun.hybrid_host()
        self.runtime_args = crun.CGROUP_ARGS if self._hybrid else ()
        self._hidden = not self._hybrid

    def prepare(self) -> None:
        """Before crun runs in this process (inside the user namespace): hide the hybrid
        hierarchy, once."""
        if self._hidden:
            return
        from podctl.runtime import crun

        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._hidden = crun.hide_unified(self.root)

    def _argv(self, *args: str) -> list[str]:
        self.prepare()
        return super()._argv(*args)

    def _gone(self, err: str) -> bool:
        # crun: "error opening file `ROOT/ID/status`: No such file or directory",
        # "cannot open directory 'ROOT/ID': No such file or directory"
        return "does not exist" in err or (str(self.root).lower() in err and "no such file or directory" in err)

    def finish_config(self, config: dict[str, Any], cid: str, runroot: Path) -> None:
        """Before config.json is written: the cached compiled seccomp filter, or a hook that
        keeps the one crun compiles now."""
        from podctl.runtime import crun

        crun.use_bpf_cache(config, self.path, self.root, cid, runroot)


def _crun_status(status: dict[str, Any]) -> dict[str, Any]:
    """crun's state `status` file in the shape of runc's state.json (the fields forget reads)."""
    cgroup = str(status.get("cgroup-path") or "")
    return {"init_process_pid": status.get("pid"), "init_process_start": status.get("process-start-time"),
            "cgroup_paths": {"": cgroup} if cgroup.startswith("/sys/fs/cgroup") else {}}  # fmt: skip


def make_runtime(path: str, root: Path) -> Runc:
    """The driver for the runtime at PATH."""
    if os.path.basename(path).startswith("crun"):
        return Crun(path, root)
    return Runc(path, root)


def _rmdir_all(paths: Iterable[str]) -> bool:
    """Remove the (empty) cgroups runc made for a container that has ended, as `runc delete`
    does (under a systemd unit the delegated name=systemd hierarchy is writable, so runc
    makes one there); False if one is left (still in use: then a real `runc delete`)."""
    ok = True
    for p in paths:
        try:
            os.rmdir(p)
        except FileNotFoundError:
            pass
        except OSError:
            ok = False
    return ok


def parse_signal(sig: str | int) -> int:
    """`KILL`, `SIGKILL`, `9` -> 9; a clear error for anything else."""
    if isinstance(sig, int):
        return sig
    import signal as _signal  # not at import: `run --rm` loads this module before runc starts

    s = sig.strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
    else:
        name = s if s.startswith("SIG") else "SIG" + s
        if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
            base = _signal.SIGRTMIN if "MIN" in name else _signal.SIGRTMAX
            off = name[8:]
            try:
                return int(base) + (int(off) if off else 0)
            except ValueError:
                pass
        try:
            return int(_signal.Signals[name])
        except KeyError:
            pass
    raise InvalidSpec(f"invalid signal: {sig}")


def signal_name(sig: int) -> str:
    import signal as _signal

    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)


def argv_join(argv: Sequence[str]) -> str:
    import shlex

    return shlex.join(argv)
