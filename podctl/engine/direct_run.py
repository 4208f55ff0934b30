"""Attached `run --rm` without conmon: this podctl process is the container's monitor."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.errors import PodctlError
from podctl.runtime.paths import ContainerPaths
from podctl.state.containers import ContainerRecord, State, StateDB


def direct_run_ok(rec: ContainerRecord) -> bool:
    """Attached `run --rm`: the podctl process that waits anyway can be the monitor itself.

    Such a container's log dies with it, so conmon (its k8s-file log, attach socket and exit
    command) buys nothing; `runc run` in the foreground saves the conmon start-up, the sync
    pipe, `runc start` and the attach relay. systemd's NOTIFY_SOCKET still goes through conmon.
    """
    spec = rec.spec
    return bool(spec.get("remove")) and not os.environ.get("NOTIFY_SOCKET") and (
        spec.get("log_driver", "k8s-file") in ("k8s-file", "none", "passthrough")
    )


def run_direct(cfg: Config, db: StateDB, rec: ContainerRecord) -> int:
    """Run the container with `runc run`, this process standing in for conmon; its exit code."""
    from podctl import run as gateway
    from podctl.runtime import etcfiles

    with lc.locked(cfg, rec.id):
        try:
            rec, paths, config = lc.prepare_config(cfg, db, rec)
            proc_cfg = config["process"]
            env = dict(e.split("=", 1) for e in proc_cfg["env"])
            etcfiles.find_executable(paths.merged, proc_cfg["args"][0], env.get("PATH", ""), proc_cfg["cwd"],
                                     config.get("mounts", ()))  # fmt: skip
            rt = lc.runtime(cfg, rec)
            rt.forget(rec.id)
            for stale in (paths.exit_file, paths.pidfile):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            paths.exits.mkdir(parents=True, exist_ok=True, mode=0o700)
            logfile = paths.bundle / "runc.log"
            argv = rt.run_argv(rec.id, paths.bundle, paths.pidfile, logfile)
            lc.settle_network(rec)  # pasta (or slirp4netns) started during the above
            child = gateway.start(argv, stdin_devnull=not rec.spec.get("interactive"))
            rec = db.update_container(rec.id, state=State.RUNNING, started_at=time.time(),
                                      conmon_pid=os.getpid(), pid=0, finished_at=0.0,
                                      rootfs_driver=rec.rootfs_driver)  # fmt: skip
        except BaseException:
            lc.after_failed_start(cfg, db, rec)
            with contextlib.suppress(Exception):
                lc.remove_locked(cfg, db, rec, volumes=True)
            raise

    # _signal, not signal: the wrapper module builds its enums (~2 ms of CPU, which runc's
    # start on this machine's other core competes for); the C module has all this needs.
    import _signal as signal

    def forward(sig: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.kill(child, sig)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                                                  signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)}  # fmt: skip
    try:
        lc.prepare_cleanup(cfg)  # while runc starts the container (on the other core)
        code = gateway.wait(child)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    started = paths.pidfile.exists()
    error = None
    if code != 0 and not started:
        error = _runc_error(logfile, rt.path)
    _write_exit_file(paths, code if started else -1)
    with lc.locked(cfg, rec.id):
        current = db.get_container(rec.id)
        if current is not None:
            lc.cleanup_locked(cfg, db, current, code if started else -1, from_exit_command=False)
    with contextlib.suppress(OSError):
        paths.exit_file.unlink()
    if error is not None:
        raise error
    return code if code >= 0 else 128 - code


def _write_exit_file(paths: ContainerPaths, code: int) -> None:
    tmp = paths.exits / f".{paths.id}.{os.getpid()}"
    tmp.write_text(str(code))
    os.replace(tmp, paths.exit_file)


def _runc_error(logfile: Path, runtime: str = "runc") -> PodctlError:
    """The error lines of the runtime's JSON log (runc and crun both write them)."""
    import json

    from podctl.runtime.conmon import classify_error

    msgs = []
    with contextlib.suppress(OSError):
        for line in logfile.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    msgs.append(str(entry.get("msg", "")))
    return classify_error(runtime, "; ".join(msgs) or "the OCI runtime failed to start the container")
