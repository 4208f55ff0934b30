"""The user's long-lived user + mount namespace, held open by a catatonit pause process.

podctl joins it (setns) for storage and runtime work, as podman does, so files owned by
subordinate ids and overlay mounts are visible to every podctl process of the user. When the
pause process is gone (after a reboot), it is created again.
"""

from __future__ import annotations

import fcntl
import os
import pwd
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from podctl.config import Config, ensure_private_dir
from podctl.errors import CommandNotFound, PodctlError, RuntimeFailed
from podctl.rootless import kernel

# The process-spawning gateway (subprocess) and json load only when a pause process has to be
# created or a child has to answer: joining needs neither. Not typing.TYPE_CHECKING: importing
# typing costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podctl.rootless import subid

PAUSE_PID = "pause.pid"
_ENV_INSIDE = "_PODCTL_USERNS_PID"


def user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def is_host_root() -> bool:
    return os.geteuid() == 0 and not in_child_userns()


def in_child_userns() -> bool:
    """True inside a user namespace other than the initial one."""
    try:
        text = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return False
    return text[:3] != ["0", "0", "4294967295"]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pause_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):  # killed, not yet reaped
            return False
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        theirs = os.readlink(f"/proc/{pid}/ns/user")
        ours = os.readlink("/proc/self/ns/user")
        st = os.stat(f"/proc/{pid}")
    except OSError:
        return False
    return comm == "catatonit" and theirs != ours and st.st_uid == os.getuid()


def pause_pid(cfg: Config) -> int | None:
    try:
        pid = int((cfg.runroot / PAUSE_PID).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pause_alive(pid) else None


def ensure_pause(cfg: Config) -> int:
    """Return the pid of the pause process holding the namespaces, creating it if needed."""
    runroot = ensure_private_dir(cfg.runroot)
    pid = pause_pid(cfg)
    if pid:
        return pid
    with _locked(runroot / "pause.lock"):
        pid = pause_pid(cfg)
        if pid:
            return pid
        pid = _create_pause()
        tmp = runroot / f".{PAUSE_PID}.{os.getpid()}"
        tmp.write_text(f"{pid}\n")
        tmp.replace(runroot / PAUSE_PID)
        return pid


def id_ranges() -> tuple[list[subid.IdRange], list[subid.IdRange]]:
    from podctl.rootless import subid

    uids = subid.ranges(subid.SUBUID)
    gids = subid.ranges(subid.SUBGID)
    name = user_name()
    if not uids:
        raise PodctlError(
            f"no subordinate uid range for user {name} in {subid.SUBUID}",
            hint=f"fix: sudo usermod --add-subuids 100000-165535 {name}",
        )
    if not gids:
        raise PodctlError(
            f"no subordinate gid range for user {name} in {subid.SUBGID}",
            hint=f"fix: sudo usermod --add-subgids 100000-165535 {name}",
        )
    return uids, gids


def _create_pause() -> int:
    from podctl import run as gateway
    from podctl.rootless import subid

    uids, gids = id_ranges()
    catatonit = gateway.which("catatonit")
    if not catatonit:
        raise PodctlError("catatonit not found", hint="fix: sudo apt-get install catatonit")
    newuidmap = gateway.which("newuidmap") or "newuidmap"
    newgidmap = gateway.which("newgidmap") or "newgidmap"
    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: becomes the pause process
        try:
            os.close(to_parent_r)
            os.close(to_child_w)
            os.setsid()
            kernel.unshare(kernel.CLONE_NEWUSER | kernel.CLONE_NEWNS)
            os.write(to_parent_w, b"1")
            if os.read(to_child_r, 1) != b"1":
                os._exit(1)
            # Host mounts keep propagating in; ours never propagate out.
            kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_SLAVE)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.chdir("/")
            os.execv(catatonit, [catatonit, "-P"])
        except BaseException:
            os._exit(127)
    os.close(to_parent_w)
    os.close(to_child_r)
    try:
        if os.read(to_parent_r, 1) != b"1":
            os.waitpid(pid, 0)
            raise RuntimeFailed("cannot create a user namespace (unshare(CLONE_NEWUSER) failed)")
        gateway.run([newuidmap, str(pid), *subid.mapping_args(os.getuid(), uids)])
        gateway.run([newgidmap, str(pid), *subid.mapping_args(os.getgid(), gids)])
        os.write(to_child_w, b"1")
    except BaseException:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
        raise
    finally:
        os.close(to_parent_r)
        os.close(to_child_w)
    return pid


def open_ns_fds(pid: int) -> tuple[int, int]:
    """Open PID's user and mount namespaces (before a fork, so errors surface in the parent)."""
    try:
        ufd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise RuntimeFailed(f"cannot open the user namespace of pid {pid}: {e.strerror}") from e
    try:
        mfd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        os.close(ufd)
        raise RuntimeFailed(f"cannot open the mount namespace of pid {pid}: {e.strerror}") from e
    return ufd, mfd


def enter_ns_fds(fds: tuple[int, int]) -> None:
    """In a single-threaded process: join the user namespace, then its mount namespace; the
    fds are closed either way."""
    try:
        kernel.setns(fds[0], kernel.CLONE_NEWUSER)
        kernel.setns(fds[1], kernel.CLONE_NEWNS)
    finally:
        os.close(fds[0])
        os.close(fds[1])


def join(cfg: Config) -> None:
    """Move this (single-threaded) process into the pause process's user and mount namespace.

    After this the process is root inside the namespace with the subordinate ids mapped.
    A no-op when already inside, or when running as real root (no user namespace needed).
    """
    if os.environ.get(_ENV_INSIDE) or os.geteuid() == 0 or in_child_userns():  # host root needs no userns
        return
    ensure_private_dir(cfg.root)
    pid = ensure_pause(cfg)
    fds = open_ns_fds(pid)
    try:
        enter_ns_fds(fds)
    except OSError as e:
        raise RuntimeFailed(f"cannot join the user namespace of pause process {pid}: {e}") from e
    os.environ[_ENV_INSIDE] = str(pid)


def exec_inside(cfg: Config, command: list[str]) -> int:
    """`podctl unshare`: run COMMAND (default $SHELL) inside the namespace; never returns on success."""
    join(cfg)
    argv = command or [os.environ.get("SHELL") or "/bin/sh"]
    env = dict(os.environ)
    env["PODCTL_UNSHARE"] = "1"
    env["CONTAINERS_GRAPHROOT"] = str(cfg.root)
    env["CONTAINERS_RUNROOT"] = str(cfg.runroot)
    # Python ignores SIGPIPE; the command must start with the default (pasta refuses otherwise).
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError as e:
        raise CommandNotFound(f"{argv[0]}: executable file not found in $PATH") from e
    except PermissionError as e:
        from podctl.errors import CannotInvoke

        raise CannotInvoke(f"{argv[0]}: permission denied") from e
    return 0


def uid_map(pid: int | str = "self") -> list[tuple[int, int, int]]:
    out = []
    for line in Path(f"/proc/{pid}/uid_map").read_text().splitlines():
        a, b, c = line.split()
        out.append((int(a), int(b), int(c)))
    return out


def call_inside(cfg: Config, fn: Callable[[], Any]) -> Any:
    """Run FN inside the namespace and return its (JSON-serialisable) result.

    Joining is for good, so FN runs in a forked child and the caller stays where it is.
    An exception in the child comes back as RuntimeFailed with its message.
    """
    import json

    if os.geteuid() == 0 or in_child_userns():
        return fn()
    ensure_pause(cfg)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            try:
                join(cfg)
                payload: dict[str, Any] = {"ok": fn()}
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                payload = {"error": f"{e}"}
            os.write(w, json.dumps(payload, default=str).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    try:
        result = json.loads(data)
    except ValueError:
        raise RuntimeFailed("a child process in the user namespace died without an answer") from None
    if "error" in result:
        raise RuntimeFailed(result["error"])
    return result["ok"]
