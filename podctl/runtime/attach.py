"""Attach to conmon's attach socket: the container's output to our stdout/stderr, our stdin in.

conmon's protocol: a SOCK_SEQPACKET socket at BUNDLE/attach; each packet read starts with one
byte naming the stream (2 stdout, 3 stderr); what we write goes to the container's stdin, and
shutting down our write side closes it. Terminal resizes go to the BUNDLE/ctl fifo as
"1 ROWS COLS".
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

from podctl.errors import RuntimeFailed

STDOUT_PIPE = 2
STDERR_PIPE = 3
BUF = 8192 + 1


def connect(bundle: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    # The bundle path may exceed the 108 bytes of sun_path: go through /proc/self/fd.
    dfd = os.open(bundle, os.O_PATH | os.O_CLOEXEC)
    try:
        sock.connect(f"/proc/self/fd/{dfd}/attach")
    except OSError as e:
        sock.close()
        raise RuntimeFailed(f"cannot attach to the container ({bundle}/attach): {e}") from e
    finally:
        os.close(dfd)
    return sock


def _winsize(fd: int) -> tuple[int, int] | None:
    import fcntl
    import termios

    try:
        data = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols = struct.unpack("HHHH", data)[:2]
    return rows, cols


def resize(bundle: Path, rows: int, cols: int) -> None:
    try:
        fd = os.open(bundle / "ctl", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, f"1 {rows} {cols}\n".encode())
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    import termios
    import tty

    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def stream(sock: socket.socket, bundle: Path, *, stdin: bool, tty: bool) -> None:
    """Copy until conmon closes the socket (the container exited)."""
    in_fd = sys.stdin.fileno() if stdin else -1
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    term = tty and in_fd >= 0 and os.isatty(in_fd)
    old_handler = None
    if tty and os.isatty(sys.stdout.fileno()):
        size = _winsize(sys.stdout.fileno())
        if size:
            resize(bundle, *size)

        def on_winch(_sig: int, _frame: object) -> None:
            s = _winsize(sys.stdout.fileno())
            if s:
                resize(bundle, *s)

        old_handler = signal.signal(signal.SIGWINCH, on_winch)
    ctx = raw_terminal(in_fd) if term else contextlib.nullcontext()
    try:
        with ctx:
            _pump(sock, in_fd, out, err)
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGWINCH, old_handler)


def _pump(sock: socket.socket, in_fd: int, out: object, err: object) -> None:
    fds = [sock.fileno()] + ([in_fd] if in_fd >= 0 else [])
    while True:
        try:
            ready, _, _ = select.select(fds, [], [])
        except InterruptedError:
            continue
        if sock.fileno() in ready:
            try:
                data = sock.recv(BUF)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            target = err if data[0] == STDERR_PIPE else out
            target.write(data[1:])  # type: ignore[attr-defined]
            target.flush()  # type: ignore[attr-defined]
        if in_fd >= 0 and in_fd in ready:
            try:
                chunk = os.read(in_fd, 8192)
            except OSError:
                chunk = b""
            if not chunk:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
                fds.remove(in_fd)
                in_fd = -1
                continue
            try:
                sock.sendall(chunk)
            except OSError:
                fds.remove(in_fd)
                in_fd = -1
