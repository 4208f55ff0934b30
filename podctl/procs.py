"""Processes by pid, for every layer: /proc/PID/stat's state and start time (a pid together
with its start time names one process, never a recycled pid), and waiting for an exit on a
pidfd. Deliberately light: `stop`, conmon's exit command and the network helpers use it."""

from __future__ import annotations

import os


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
