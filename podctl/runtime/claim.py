"""Who cleans up after a container: conmon's exit command, or the podctl that stopped it.

conmon runs its exit command (`podctl container cleanup ID`) whenever the container's process
ends. When a podctl process stops or kills the container and cleans it up itself (stop, rm -f,
pod stop/rm, kube down), a second podctl redoing that work costs a whole Python process (and
systemd waits for it: it runs in the unit's cgroup, and conmon waits for it).

So the exit command runs behind a /bin/sh guard. Before it signals, the stopper writes a claim
file in the container's bundle (runroot) holding its pid and start time. The guard exits at
once while that very process lives; with no claim, or the claim of a podctl that died (a crash,
`kill -9` of the stopper), it execs the cleanup as before. A new run of the container starts
without a claim (conmon.create removes a stale one).

Deliberately light (no dataclasses, no subprocess): `stop` imports it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from podctl.procs import start_time
from podctl.runtime.paths import ContainerPaths

SH = "/bin/sh"
# `sh -c GUARD CLAIM CMD...`: $0 is the claim file, "PID STARTTIME". It counts only while that
# very process lives (/proc/PID/stat field 22, counted after the comm, which may hold ") ").
GUARD = (
    'claimed() { read -r p t <"$1" && read -r s <"/proc/$p/stat" && set -- ${s##*)} && '
    '[ $# -ge 20 ] && shift 19 && [ "$1" = "$t" ]; } 2>/dev/null; '
    'claimed "$0" && exit 0; exec "$@"'
)
FILENAME = "cleanup-claim"


def claim_path(paths: ContainerPaths) -> Path:
    """Where a stopper claims the cleanup of the container's current run."""
    return paths.bundle / FILENAME


def guarded_command(claim_file: Path, cmd: Sequence[str]) -> tuple[str, ...]:
    """CMD as conmon's exit command behind the guard."""
    return (SH, "-c", GUARD, str(claim_file), *cmd)


def claim(paths: ContainerPaths) -> bool:
    """Claim the cleanup for this process (before signalling); False if there is no bundle."""
    pid = os.getpid()
    started = start_time(pid)
    if not started:
        return False
    try:
        with open(claim_path(paths), "w") as f:
            f.write(f"{pid} {started}\n")
    except OSError:
        return False
    return True


def owner(paths: ContainerPaths) -> int:
    """The pid in the claim, 0 without one."""
    try:
        with open(claim_path(paths)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def unclaim(paths: ContainerPaths) -> None:
    try:
        claim_path(paths).unlink()
    except FileNotFoundError:
        pass


def is_guarded(conmon_pid: int, paths: ContainerPaths) -> bool:
    """Whether the monitor CONMON_PID runs the guard (not so for a container an older podctl
    started: its exit command always starts `container cleanup`)."""
    try:
        with open(f"/proc/{conmon_pid}/cmdline", "rb") as f:
            return os.fsencode(claim_path(paths)) + b"\0" in f.read()
    except OSError:
        return False
