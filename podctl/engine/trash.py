"""The trash: removed containers' storage, renamed aside at once, unmounted and deleted later.

`lifecycle.remove_locked` renames a container's storage dir into ROOT/trash (its overlay mount
moves with it): unmounting (the kernel syncs the upper dir) and deleting take tens of ms, which
`rm`, `prune`, `stop` of a --rm container and conmon's exit command pay at their end, and
`run --rm` leaves to a detached process.
"""

from __future__ import annotations

import contextlib
import os

from podctl.config import Config

TRASH = "trash"


def empty_trash(cfg: Config) -> None:
    from podctl.runtime import rootfs
    from podctl.runtime.fsutil import rmtree

    trash = cfg.root / TRASH
    try:
        entries = list(trash.iterdir())
    except OSError:
        return
    for e in entries:
        with contextlib.suppress(Exception):
            rootfs.umount_path(e / "merged")
        rmtree(e)


def empty_trash_detached(cfg: Config) -> int:
    """empty_trash in a child in its own session: `run --rm` returns at once, and its mount and
    bytes are still gone a few ms later instead of waiting for the next rm or prune.

    Call it last, right before the process exits: the child is not waited for (a second fork
    to detach it cost `run --rm` ~1 ms more); once this process is gone, init or the
    caller's subreaper reaps it. Returns its pid, for a caller that lives on to reap.
    """
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # No other descriptor of the caller: a container lock's flock would stay held by this
        # copy of its file description, a caller's pipe would not see EOF.
        os.closerange(3, 1 << 20)
        with contextlib.suppress(BaseException):
            empty_trash(cfg)
    finally:
        os._exit(0)
