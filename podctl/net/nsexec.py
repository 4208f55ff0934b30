"""Run code inside the pod's user + network namespace, and create/remove bind-mounted netns files.

A network namespace created by podctl belongs to the user namespace of the pause process
(podctl/rootless/userns.py), and its bind mount lives in that process's mount namespace. Work
on it therefore happens in a forked child that joins the pause process's user and mount
namespaces (unless this process already has), then the network namespace, does its work and
exits: the caller's own namespaces never change, and it may have threads.
"""

from __future__ import annotations

import _socket  # not socket: its wrapper module (with selectors) costs ~1 ms to import
import fcntl
import os
import struct
from collections.abc import Callable
from pathlib import Path

from podctl.errors import RuntimeFailed
from podctl.rootless import kernel, userns

# Not typing's TYPE_CHECKING: typing costs start-up time on `pod rm` / `kube down`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any, TypeVar

    T = TypeVar("T")
else:
    from podctl.records import dataclass


def _ns_id(path: str) -> str:
    return os.readlink(path)


def needs_userns_join(userns_pid: int | None) -> bool:
    """True when USERNS_PID's user namespace is not already ours."""
    if not userns_pid:
        return False
    try:
        return _ns_id(f"/proc/{userns_pid}/ns/user") != _ns_id("/proc/self/ns/user")
    except OSError as e:
        raise RuntimeFailed(f"the user namespace holder (pid {userns_pid}) is gone: {e.strerror}") from e


def userns_fds(userns_pid: int | None) -> tuple[int, int] | None:
    """Open the user and mount namespaces of USERNS_PID (None when already in them)."""
    if not needs_userns_join(userns_pid):
        return None
    assert userns_pid is not None
    return userns.open_ns_fds(userns_pid)


def enter_userns(fds: tuple[int, int] | None) -> None:
    """In a single-threaded child: join the user namespace, then its mount namespace."""
    if fds is not None:
        userns.enter_ns_fds(fds)


@dataclass(frozen=True)
class Starting:
    """A helper spawned by spawn_helper but not yet known to be ready: its driver's finish()
    (or abort()) comes next."""

    pid: int
    ready_fd: int
    cmd: tuple[str, ...]
    log_path: Path


def spawn_helper(argv_for: Callable[[int], list[str]], *, userns_pid: int | None, log_path: Path,
                 pass_fds: tuple[int, ...] = (), env: dict[str, str] | None = None) -> Starting:  # fmt: skip
    """Start a network helper (slirp4netns, pasta, the port forwarder) in the pause process's
    user and mount namespaces, in its own session, logging to LOG_PATH, without waiting for it.

    ARGV_FOR(ready_w) gives its command line, READY_W being the write end of the pipe it reports
    readiness on; the caller owns the returned Starting's read end (ready_fd).
    """
    from podctl import run as gateway  # noqa: PLC0415

    fds = userns_fds(userns_pid)
    ready_r, ready_w = os.pipe()
    cmd = argv_for(ready_w)

    def enter() -> None:  # in the child, before exec
        enter_userns(fds)

    try:
        logfd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            pid = gateway.start(cmd, env=env, stdin_devnull=True, stdout=logfd, stderr=logfd, new_session=True,
                                pass_fds=(ready_w, *pass_fds), preexec=enter if fds else None)  # fmt: skip
        finally:
            os.close(logfd)
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
        if fds:
            os.close(fds[0])
            os.close(fds[1])
    return Starting(pid, ready_r, tuple(cmd), log_path)


def wait_ready(fd: int, timeout: float, name: str) -> None:
    """Until the helper spawned by spawn_helper writes "1" on its ready pipe (FD); RuntimeFailed
    naming NAME when it exits first or TIMEOUT seconds pass."""
    from podctl.procs import readable  # noqa: PLC0415

    if not readable(fd, timeout):
        raise RuntimeFailed(f"{name} did not get ready within {timeout:g}s")
    if os.read(fd, 1) != b"1":
        raise RuntimeFailed(f"{name} exited before it was ready")


def log_tail(path: Path) -> str:
    """The last lines of a helper's log, for an error message (slirp4netns's "experimental"
    notices left out)."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(ln for ln in lines[-4:] if "experimental" not in ln)


def enter_netns(netns_path: str) -> None:
    fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        kernel.setns(fd, kernel.CLONE_NEWNET)
    finally:
        os.close(fd)


def in_namespaces(
    fn: Callable[[], T], *, userns_pid: int | None, netns_path: str | None, what: str = "network setup"
) -> T:
    """Run FN in a forked child inside USERNS_PID's user+mount ns and NETNS_PATH; return its result.

    FN's result must pickle. An exception in FN is raised here as RuntimeFailed naming WHAT.
    """
    import pickle

    kernel.libc()  # load before fork
    fds = userns_fds(userns_pid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            enter_userns(fds)
            if netns_path:
                enter_netns(netns_path)
            payload: tuple[bool, Any] = (True, fn())
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            payload = (False, f"{type(e).__name__}: {e}")
            code = 1
        try:
            with os.fdopen(w, "wb") as f:
                f.write(pickle.dumps(payload))
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    os.close(w)
    if fds:
        os.close(fds[0])
        os.close(fds[1])
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    value: Any
    try:
        ok, value = pickle.loads(data) if data else (False, f"child exited with status {status}")
    except Exception as e:  # noqa: BLE001
        raise RuntimeFailed(f"{what}: bad answer from the namespace child: {e}") from e
    if not ok:
        where = f" in {netns_path}" if netns_path else ""
        raise RuntimeFailed(f"{what}{where} failed: {value}")
    result: T = value
    return result


# SIOCGIFFLAGS / SIOCSIFFLAGS: bringing `lo` up needs no netlink library (pyroute2 costs ~95 ms
# to import, paid on every container start).
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def link_up_ioctl(name: str = "lo") -> None:
    """Set interface NAME up in the current network namespace."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH14x", name.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        if not flags & _IFF_UP:
            fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", name.encode(), flags | _IFF_UP))
    finally:
        s.close()


def _create(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)
    try:
        kernel.unshare(kernel.CLONE_NEWNET)
        # thread-self: create_netns may run this in a thread (/proc/self is the main thread).
        kernel.mount("/proc/thread-self/ns/net", path, None, kernel.MS_BIND)
    except BaseException:
        os.unlink(path)
        raise
    link_up_ioctl("lo")


def create_netns(path: str | os.PathLike[str], *, userns_pid: int | None) -> str:
    """Create a network namespace (lo up) bind-mounted on PATH inside USERNS_PID's namespaces.

    PATH's directory is created if needed. Fails if PATH exists. Returns PATH as a string.
    """
    target = str(path)
    if not needs_userns_join(userns_pid):
        # Already in the namespaces: a thread does it (the network namespace is per thread,
        # the mount namespace shared), not a fork of this whole process (~3-6 ms).
        _in_thread(lambda: _create(target), f"creating network namespace {target}")
        return target
    in_namespaces(lambda: _create(target), userns_pid=userns_pid, netns_path=None,
                  what=f"creating network namespace {target}")  # fmt: skip
    return target


def _in_thread(fn: Callable[[], object], what: str) -> None:
    """Run FN in a short-lived thread (whose namespace changes die with it)."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - raised in the caller
            errors.append(e)

    t = threading.Thread(target=run, name="netns")
    t.start()
    t.join()
    if errors:
        raise RuntimeFailed(f"{what} failed: {type(errors[0]).__name__}: {errors[0]}") from errors[0]


def _remove(path: str) -> bool:
    try:
        kernel.umount(path, kernel.MNT_DETACH)
    except OSError:
        pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def remove_netns(path: str | os.PathLike[str], *, userns_pid: int | None) -> bool:
    """Unmount and remove a netns file made by create_netns; False when it did not exist."""
    target = str(path)
    if not userns_pid and not Path(target).exists():
        return False
    if not needs_userns_join(userns_pid):  # (nothing here changes this process's namespaces)
        try:
            return _remove(target)
        except OSError as e:
            raise RuntimeFailed(f"removing network namespace {target} failed: {e}") from e
    return in_namespaces(lambda: _remove(target), userns_pid=userns_pid, netns_path=None,
                         what=f"removing network namespace {target}")  # fmt: skip


def netns_of(pid: int) -> str:
    """The netns path of a running process (e.g. a container's init)."""
    return f"/proc/{pid}/ns/net"
