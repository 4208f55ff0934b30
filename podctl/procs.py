"""Processes by pid, for every layer: /proc/PID/stat's state and start time (a pid together
with its start time names one process, never a recycled pid), and waiting for an exit on a
pidfd; stopping a helper by pid and start time. Deliberately light: `stop`, conmon's exit
command and the network helpers use it."""

from __future__ import annotations

import os

_SIGTERM, _SIGKILL = 15, 9  # (not the signal module: its import costs start-up time)


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the comm (which may hold ") "): [0] is the state,
    [19] the start time in clock ticks after boot."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def start_time(pid: int) -> int:
    """PID's start time (field 22 of /proc/PID/stat), 0 when there is no such process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else 0


def alive(pid: int, started: int = 0) -> bool:
    """PID is a live process (not a zombie) and, with STARTED, the one started then."""
    fields = _stat_fields(pid)
    if not fields or len(fields) <= 19 or fields[0] in (b"Z", b"X"):
        return False
    return not started or int(fields[19]) == started


def pidfd(pid: int) -> int:
    """A pidfd for PID (readable once it has exited), or -1."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return -1


def readable(fd: int, timeout: float) -> bool:
    """Whether FD becomes readable within TIMEOUT seconds (a pidfd: the process exited)."""
    import select

    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(max(0, int(timeout * 1000))))


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until PID has exited (a zombie counts as gone); False after TIMEOUT seconds."""
    fd = pidfd(pid)
    if fd < 0:
        import time

        deadline = time.monotonic() + timeout
        while alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True
    try:
        return readable(fd, timeout)
    finally:
        os.close(fd)


def stop(pid: int, started: int, timeout: float = 3.0) -> bool:
    """SIGTERM (then SIGKILL) PID if it is still the process started at STARTED (0: any);
    reap it if it is our child. For the network helpers: slirp4netns, pasta, the forwarder.

    Returns True when a process was stopped.
    """
    if not pid or not alive(pid, started):
        _reap(pid)
        return False
    return _signal_and_wait(pid, started, _SIGTERM, timeout) or _signal_and_wait(
        pid, started, _SIGKILL, 2.0
    )


def kill(pid: int, started: int, timeout: float = 3.0) -> bool:
    """SIGKILL PID if it is still the process started at STARTED, and wait until it is gone.

    For a helper that never got ready: nothing of it is worth a clean exit.
    Returns True when a process was killed.
    """
    if not pid or not alive(pid, started):
        _reap(pid)
        return False
    _signal_and_wait(pid, started, _SIGKILL, timeout)
    return True


def _signal_and_wait(pid: int, started: int, sig: int, timeout: float) -> bool:
    """Send SIG to PID and wait up to TIMEOUT for it to end: True when it has.

    A pidfd tells the exit at once (no polling step added to every teardown)."""
    fd = pidfd(pid)
    try:
        if not alive(pid, started):  # (the pidfd may name a recycled pid: checked after opening)
            _reap(pid)
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if _reap(pid) or not alive(pid, started):
                return True
            if left <= 0:
                return False
            if fd < 0 or not readable(fd, left):
                time.sleep(min(max(left, 0), 0.002))  # no pidfd (or a spurious wake-up)
            else:
                time.sleep(0.0002)  # ended: /proc shows it at once; do not spin on a stale pid
    finally:
        if fd >= 0:
            os.close(fd)


def _reap(pid: int) -> bool:
    if not pid:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid
