"""Healthchecks: `healthcheck run`, the status kept with each container, and their timers.

A container's effective healthcheck (flags over the image's `Healthcheck`) is resolved at
create time and stored in its spec. Each run execs the test in the container (the `exec` path,
output captured, killed after the timeout) and records the result in the record's
`extra["health"]`: Status (starting|healthy|unhealthy), FailingStreak and the last five Log
entries, as podman's `State.Health`. Failures inside the start period do not count.

Scheduling is what podman does with `systemd-run`: a transient `CID.timer` in the user manager
(started over D-Bus by `podctl.systemd.timers.start_periodic`) runs `podctl healthcheck run
CID` INTERVAL after the container starts and after each check; the timer goes when the
container stops or is removed. Without a reachable user manager the container runs with a
warning and its checks only run when asked (`podctl healthcheck run`), as podman does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from podctl.config import Config
from podctl.errors import InvalidSpec, PodctlError, StateError
from podctl.log import log, warn
from podctl.spec import ContainerSpec, Healthcheck, HealthOnFailure, SdNotify, parse_duration
from podctl.state.containers import ContainerRecord, State, StateDB

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
GONE = "gone"  # a timer's run whose container is gone: the timer stopped itself
MAX_LOG = 5
MAX_OUTPUT = 4096
NS = 1_000_000_000

# Set while `healthcheck run` acts on a failure: its own timer must survive a restart, and
# the transient service running it must not be stopped from inside.
_in_check = False
_unscheduled: set[str] = set()


# -- the effective healthcheck -------------------------------------------------------------------


def from_flags(cmd: str | None, interval: str | None, timeout: str | None, retries: int | None,
               start_period: str | None, on_failure: str | None, no_healthcheck: bool) -> tuple[Healthcheck | None, bool]:  # fmt: skip
    """The `--health-*` flags as (healthcheck or None, disabled). test=() takes the image's."""
    import json

    if no_healthcheck or (cmd is not None and cmd.strip().lower() == "none"):
        if any(v is not None for v in (interval, timeout, retries, start_period, on_failure)) or (
            no_healthcheck and cmd
        ):
            raise InvalidSpec("--no-healthcheck conflicts with the other --health-* flags")
        return None, True
    given = any(v is not None for v in (cmd, interval, timeout, retries, start_period, on_failure))
    if not given:
        return None, False
    test: tuple[str, ...] = ()
    if cmd is not None:
        if not cmd.strip():
            raise InvalidSpec("--health-cmd: the healthcheck command must not be empty")
        if cmd.lstrip().startswith("["):
            try:
                arr = json.loads(cmd)
            except ValueError as e:
                raise InvalidSpec(f"--health-cmd {cmd}: invalid JSON array") from e
            if not isinstance(arr, list) or not arr or not all(isinstance(x, str) for x in arr):
                raise InvalidSpec("--health-cmd: a JSON array must hold strings")
            test = tuple(arr) if arr[0] in ("CMD", "CMD-SHELL") else ("CMD", *arr)
        else:
            test = ("CMD-SHELL", cmd)
    hc = Healthcheck(
        test=test,
        interval=parse_duration(interval, "--health-interval") if interval is not None else 30.0,
        timeout=parse_duration(timeout, "--health-timeout") if timeout is not None else 30.0,
        retries=retries if retries is not None else 3,
        start_period=parse_duration(start_period, "--health-start-period") if start_period is not None else 0.0,
        on_failure=_on_failure(on_failure or "none"),
    )  # fmt: skip
    return hc, False


def _on_failure(value: str) -> HealthOnFailure:
    try:
        return HealthOnFailure(value)
    except ValueError as e:
        raise InvalidSpec(f"--health-on-failure={value}: must be none, kill, restart or stop") from e


def effective(spec: ContainerSpec, img_cfg: dict[str, Any]) -> ContainerSpec:
    """Resolve flags over the image's Healthcheck; the result (or None) goes into the spec."""
    if spec.no_healthcheck:
        return spec.replace(healthcheck=None) if spec.healthcheck else spec
    hc = spec.healthcheck
    img = img_cfg.get("Healthcheck") or {}
    img_test = tuple(img.get("Test") or ())
    if hc is None:
        if not img_test or img_test[0] == "NONE":
            return spec
        hc = Healthcheck(
            test=img_test,
            interval=(img.get("Interval") or 30 * NS) / NS,
            timeout=(img.get("Timeout") or 30 * NS) / NS,
            retries=img.get("Retries") or 3,
            start_period=(img.get("StartPeriod") or 0) / NS,
        )
    elif not hc.test:
        if not img_test or img_test[0] == "NONE":
            raise InvalidSpec("--health-* flags given but neither --health-cmd nor the image "
                              "defines a healthcheck")  # fmt: skip
        hc = Healthcheck(img_test, hc.interval, hc.timeout, hc.retries, hc.start_period, hc.on_failure)
    if hc.test[0] == "NONE":
        return spec.replace(healthcheck=None, no_healthcheck=True)
    return spec.replace(healthcheck=hc)


def check_sdnotify(spec: ContainerSpec) -> None:
    if spec.sdnotify == SdNotify.HEALTHY and spec.healthcheck is None:
        raise InvalidSpec("--sdnotify=healthy requires a healthcheck (--health-cmd or the image's)")


def healthcheck_of(rec: ContainerRecord) -> Healthcheck | None:
    d = rec.spec.get("healthcheck")
    return Healthcheck.from_dict(d) if d else None


# -- status -----------------------------------------------------------------------------------------


def reset(db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    """A (re)started container is `starting` again, with its log kept."""
    h = dict(rec.extra.get("health") or {})
    h.update(Status=STARTING, FailingStreak=0)
    return db.update_container(rec.id, extra={**rec.extra, "health": h})


# -- one run ----------------------------------------------------------------------------------------


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="microseconds")


def _exec_captured(cfg: Config, rec: ContainerRecord, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
    """Exec ARGV in the container; (exit code, output). A timeout kills it: code -1."""
    import tempfile

    from podctl.engine.container_ops import exec_in
    from podctl.engine.containers import ExecOptions

    before = set(_descendants())
    with tempfile.TemporaryFile() as out:
        saved = os.dup(1), os.dup(2)
        state: dict[str, Any] = {}

        def on_alarm(_sig: int, _frame: object) -> None:
            state["timed_out"] = True
            raise TimeoutError

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            try:
                code = exec_in(cfg, rec, ExecOptions(command=argv))
            except TimeoutError:
                code = -1
            except PodctlError as e:
                os.write(2, f"{e}\n".encode())
                code = 125
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            sys.stdout.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        if state.get("timed_out"):
            _kill_stray_exec(before)
        out.seek(0)
        text = out.read(MAX_OUTPUT).decode(errors="replace")
    if state.get("timed_out"):
        text += f"\nHealthcheck command timed out after {timeout:g}s"
    return code, text.strip()


def _descendants() -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    todo, found = [os.getpid()], []
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def _kill_stray_exec(before: set[int]) -> None:
    """After a timeout: the runc exec we stopped waiting for and the test it started (the
    test runs in the container but is runc's child); not what we had started before."""
    for pid in reversed([p for p in _descendants() if p not in before]):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        for pid in [p for p in _descendants() if p not in before]:
            os.waitpid(pid, os.WNOHANG)


def run_check(cfg: Config, ref: str) -> str:
    """`podctl healthcheck run REF`: run the test once, record it, act on failure; the status."""
    from podctl.engine import containers
    from podctl.engine import lifecycle as lc
    from podctl.rootless import userns

    if os.environ.get("PODCTL_HEALTHCHECK_OF") == ref and not _still_running(cfg, ref):
        # Checked before joining the user namespace: that could start a pause process
        # for a store that is gone, inside this timer's unit.
        _stop_own_timer(ref)
        return GONE
    try:
        userns.join(cfg)
        db = lc.open_db(cfg)
        rec = lc.sync(cfg, db, containers.find(db, ref))
        hc = healthcheck_of(rec)
        if hc is None:
            raise StateError(f"container {rec.id} has no defined healthcheck")
        if rec.state != State.RUNNING:
            raise StateError(f"container {rec.id} is not running: container state improper")
    except PodctlError as e:
        if _stop_own_timer(ref):
            log.info("healthcheck timer of %s stopped: %s", ref, e)
            return GONE
        raise
    started = time.time()
    code, output = _exec_captured(cfg, rec, hc.argv, hc.timeout)
    ended = time.time()
    in_start_period = hc.start_period > 0 and started - rec.started_at < hc.start_period
    with lc.locked(cfg, rec.id):
        current = db.get_container(rec.id)
        if current is None or current.state != State.RUNNING or current.started_at != rec.started_at:
            return STARTING  # stopped or restarted meanwhile: this result is stale
        h = dict(current.extra.get("health") or {})
        status = str(h.get("Status") or STARTING)
        streak = int(h.get("FailingStreak") or 0)
        if code == 0:
            status, streak = HEALTHY, 0
        elif not in_start_period:
            streak += 1
            if streak >= hc.retries:
                status = UNHEALTHY
        entry = {"Start": _stamp(started), "End": _stamp(ended), "ExitCode": code, "Output": output}
        log_ = [*list(h.get("Log") or []), entry][-MAX_LOG:]
        h.update(Status=status, FailingStreak=streak, Log=log_)
        current = db.update_container(rec.id, extra={**current.extra, "health": h})
    if status == UNHEALTHY and hc.on_failure != HealthOnFailure.NONE:
        _on_unhealthy(cfg, db, current, hc.on_failure)
    if code == 0:
        return HEALTHY
    return UNHEALTHY if status == UNHEALTHY or not in_start_period else STARTING


def _on_unhealthy(cfg: Config, db: StateDB, rec: ContainerRecord, action: HealthOnFailure) -> None:
    global _in_check
    from podctl.engine import lifecycle as lc

    log.info("container %s is unhealthy: --health-on-failure=%s", rec.name, action)
    _in_check = True
    try:
        with lc.locked(cfg, rec.id):
            current = db.get_container(rec.id)
            if current is None or current.state != State.RUNNING:
                return
            if action == HealthOnFailure.KILL:
                lc.kill(cfg, db, current, 9)
            elif action == HealthOnFailure.STOP:
                lc.stop(cfg, db, current, None, exit_policy=True)
            elif action == HealthOnFailure.RESTART:
                stopped = lc.stop(cfg, db, current, None)
                again = db.get_container(stopped.id)
                if again is not None:
                    lc.start(cfg, db, again)
    finally:
        _in_check = False


# -- timers ----------------------------------------------------------------------------------------


def timer_name(cid: str) -> str:
    return f"podctl-health-{cid[:32]}"


def _argv(cfg: Config, cid: str) -> list[str]:
    from podctl.engine.systemd import root_flags

    return [sys.executable, "-m", "podctl", *root_flags(cfg), "healthcheck", "run", cid]


def schedule(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    """After a start: status `starting`, and a timer when there is an interval and a manager."""
    hc = healthcheck_of(rec)
    if hc is None:
        return rec
    rec = reset(db, rec)
    if _in_check or not hc.interval:
        return rec
    from podctl.errors import SystemdError
    from podctl.systemd.bus import connect
    from podctl.systemd.timers import start_periodic

    try:
        with connect() as bus:
            start_periodic(bus, timer_name(rec.id), _argv(cfg, rec.id), hc.interval,
                           description=f"podctl healthcheck of {rec.name}",
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                "PODCTL_HEALTHCHECK_OF": rec.id},
                           kill_mode="process")  # fmt: skip
    except SystemdError as e:
        warn("healthcheck of container %s will not run on its own every %gs: %s; run "
             "`podctl healthcheck run %s` yourself", rec.name, hc.interval, e, rec.name)  # fmt: skip
    except PodctlError as e:
        warn("cannot schedule the healthcheck of container %s: %s", rec.name, e)
    return rec


def _still_running(cfg: Config, cid: str) -> bool:
    from podctl.engine import lifecycle as lc

    if not cfg.state_db.exists():
        return False
    try:
        rec = lc.open_db(cfg).get_container(cid)
    except PodctlError:
        return False
    return rec is not None and rec.state == State.RUNNING


def _stop_own_timer(ref: str) -> bool:
    """Run by a timer whose container is gone or stopped (its store deleted, a path that did
    not unschedule): the timer stops itself, and this run ends cleanly (GONE, exit 0) so that
    no failed unit is left behind."""
    if os.environ.get("PODCTL_HEALTHCHECK_OF") != ref:
        return False
    from podctl.systemd.bus import connect
    from podctl.systemd.timers import timer_units

    with contextlib.suppress(Exception), connect() as bus:
        bus.stop_unit(timer_units(timer_name(ref))[0])
    return True


def unschedule(rec: ContainerRecord) -> None:
    """The container stopped or went away: its timer goes (not from within its own run).
    Called from both stop (cleanup) and remove; one D-Bus round per process is enough."""
    if not rec.spec.get("healthcheck") or _in_check or rec.id in _unscheduled:
        return
    _unscheduled.add(rec.id)
    from podctl.systemd.bus import connect
    from podctl.systemd.timers import stop_periodic, timer_units

    if os.environ.get("PODCTL_HEALTHCHECK_OF") == rec.id:
        # conmon's exit command under our own timer's service: stopping the service would
        # kill this process; the timer alone goes.
        with contextlib.suppress(Exception), connect() as bus:
            bus.stop_unit(timer_units(timer_name(rec.id))[0])
        return
    with contextlib.suppress(Exception), connect() as bus:
        stop_periodic(bus, timer_name(rec.id))


def wait_healthy(cfg: Config, rec: ContainerRecord) -> None:
    """--sdnotify=healthy under a Type=notify unit: run checks until one passes, then READY=1.

    This runs in the unit's main process (`podctl run`), the only one whose messages systemd
    takes for the unit; a container that stops first leaves the unit not ready (it fails).
    """
    from podctl.engine import lifecycle as lc

    hc = healthcheck_of(rec)
    sock = os.environ.get("NOTIFY_SOCKET", "")
    if hc is None or not sock:
        return
    from podctl.systemd.notify import notify

    notify(f"MAINPID={rec.conmon_pid}", sock_path=sock)
    delay = min(hc.interval or 1.0, 1.0)
    while True:
        try:
            status = run_check(cfg, rec.id)
        except StateError as e:
            raise StateError(f"container {rec.name} stopped before it became healthy: {e}") from e
        if status == HEALTHY:
            current = lc.open_db(cfg).get_container(rec.id) or rec
            notify(f"MAINPID={current.conmon_pid}\nREADY=1", sock_path=sock, barrier=True)
            return
        time.sleep(delay)
