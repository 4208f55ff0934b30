"""sd_notify(3) for podctl processes that systemd runs (Type=notify units).

`notify()` sends a datagram to $NOTIFY_SOCKET; with `barrier` it then waits until systemd has
processed it (the BARRIER=1 protocol, sd_notify_barrier(3)), which matters when the sender is
about to exit: systemd drops messages from processes it can no longer attribute to a unit.

`report_failure()` is what the CLI calls when a command fails under a generated unit: the
error becomes the unit's StatusText, which `generate systemd --install --start` (and
`systemctl status`) show even on hosts without a journal.
"""

from __future__ import annotations

import _socket  # not socket: its wrapper module (with selectors) costs ~1 ms of each member's start
import array
import os
import select

from podctl.log import log


def _address(path: str) -> str:
    return "\0" + path[1:] if path.startswith("@") else path


def notify(
    message: str, *, barrier: bool = False, timeout: float = 2.0, sock_path: str | None = None
) -> bool:
    """Send MESSAGE (e.g. "READY=1", "STATUS=...") to systemd; False when there is no socket."""
    path = sock_path or os.environ.get("NOTIFY_SOCKET")
    if not path or not (path.startswith("/") or path.startswith("@")):
        return False
    try:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
        try:
            s.connect(_address(path))
            s.sendall(message.encode())
            if barrier:
                r, w = os.pipe2(os.O_CLOEXEC)
                try:
                    s.sendmsg(
                        [b"BARRIER=1"],
                        [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", [w]).tobytes())],
                    )
                    os.close(w)
                    w = -1
                    # systemd closes its copy of the write end once it has processed both.
                    select.select([r], [], [], timeout)
                finally:
                    os.close(r)
                    if w >= 0:
                        os.close(w)
        finally:
            s.close()
    except OSError as e:
        log.debug("sd_notify to %s failed: %s", path, e)
        return False
    return True


def report_failure(message: str) -> None:
    """Under a podctl-generated unit, make the error the unit's StatusText."""
    unit = os.environ.get("PODCTL_SYSTEMD_UNIT") or os.environ.get("PODMAN_SYSTEMD_UNIT")
    if not unit or not os.environ.get("NOTIFY_SOCKET"):
        return
    text = " ".join(message.split())[:1000]
    notify(f"STATUS=Error: {text}", barrier=True)
