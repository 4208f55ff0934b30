"""The one gateway through which podctl starts external programs.

Every failure names the exact argv (shell-quoted) so a user can replay runc, conmon,
slirp4netns or newuidmap by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

from podctl.errors import RuntimeFailed
from podctl.log import DEBUG, log

# subprocess, shlex and shutil load on first use: `rm --ignore`, `ps` and the exit command
# often spawn nothing. Not typing.TYPE_CHECKING: importing typing costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import IO, Any

DEVNULL = -3  # subprocess.DEVNULL

# Debian puts runc and a few helpers in sbin, which an ordinary user's PATH often lacks.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/libexec/podman", "/usr/lib/podman")


def which(name: str) -> str | None:
    """Find a program on PATH, then in the places distributions keep container helpers."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return _search(name, os.environ.get("PATH", os.defpath)) or _search(name, os.pathsep.join(_EXTRA_PATH))


def _search(name: str, path: str) -> str | None:
    """shutil.which(NAME, path=PATH) without importing shutil (and with it bz2 and lzma)."""
    for d in path.split(os.pathsep):
        f = os.path.join(d, name)
        if os.access(f, os.X_OK) and not os.path.isdir(f):
            return f
    return None


def _child_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    """Children never inherit systemd's NOTIFY_SOCKET: under a Type=notify unit it is podctl's
    to answer, and runc would try to proxy it itself (and fail or wait for READY=1)."""
    if env is None:
        if "NOTIFY_SOCKET" not in os.environ:
            return None
        env = os.environ
    return {k: v for k, v in env.items() if k != "NOTIFY_SOCKET"}


def describe(argv: Sequence[str]) -> str:
    import shlex

    return shlex.join([str(a) for a in argv])


@contextmanager
def _starting(argv: Sequence[str]) -> Iterator[None]:
    """OSError from exec, as RuntimeFailed naming the program and the whole argv."""
    try:
        yield
    except FileNotFoundError as e:
        raise RuntimeFailed(f"{argv[0]}: command not found (running: {describe(argv)})") from e
    except PermissionError as e:
        raise RuntimeFailed(f"{argv[0]}: permission denied (running: {describe(argv)})") from e


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    input: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    text: bool = True,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """Run a program to completion; raise RuntimeFailed (with the argv) when it fails."""
    import subprocess

    argv = [str(a) for a in argv]
    if log.isEnabledFor(DEBUG):
        log.debug("run: %s", describe(argv))
    try:
        with _starting(argv):
            proc = subprocess.run(
                argv,
                input=input,
                capture_output=capture,
                env=_child_env(env),
                cwd=cwd,
                timeout=timeout,
                text=text,
                check=False,
                **kwargs,
            )
    except subprocess.TimeoutExpired as e:
        raise RuntimeFailed(f"timed out after {timeout}s: {describe(argv)}") from e
    if check and proc.returncode != 0:
        raise failure(argv, proc.returncode, proc.stderr if capture else None)
    return proc


def failure(argv: Sequence[str], code: int, stderr: str | bytes | None) -> RuntimeFailed:
    detail = ""
    if stderr:
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        lines = stderr.strip().splitlines()
        detail = ": " + " / ".join(lines[-5:])
    return RuntimeFailed(f"`{describe(argv)}` exited with status {code}{detail}")


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: int | IO[Any] | None = DEVNULL,
    stdout: int | IO[Any] | None = DEVNULL,
    stderr: int | IO[Any] | None = -1,  # subprocess.PIPE
    **kwargs: Any,
) -> subprocess.Popen[Any]:
    """Start a program in the background; the caller owns the Popen."""
    import subprocess

    argv = [str(a) for a in argv]
    if log.isEnabledFor(DEBUG):
        log.debug("spawn: %s", describe(argv))
    with _starting(argv):
        return subprocess.Popen(
            argv,
            env=_child_env(env),
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            **kwargs,
        )


def start(
    argv: Sequence[str],
    *,
    stdin_devnull: bool = False,
    env: Mapping[str, str] | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    pass_fds: Sequence[int] = (),
    new_session: bool = False,
    preexec: Callable[[], None] | None = None,
) -> int:
    """Start ARGV; its pid. Wait with `wait(pid)` (or leave it to exit on its own).

    By default the child gets this process's stdin, stdout and stderr; STDIN_DEVNULL,
    STDOUT / STDERR (a descriptor, or DEVNULL) replace them. PASS_FDS stay open in the child;
    NEW_SESSION calls setsid(); PREEXEC runs in the child right before exec (joining a
    namespace). A plain fork + exec instead of subprocess.Popen, whose import (with selectors,
    threading, locale and signal) costs ~2 ms of every command that starts conmon or runc.
    The child starts as Popen's would: SIGPIPE and SIGXFSZ back to default, every other signal
    as exec leaves it, no inheritable descriptor other than 0-2 and PASS_FDS. (Not
    os.posix_spawn: glibc's leaves its internal signals 32 and 33 ignored in the child, and
    runc passes that on to the container.) An exec failure raises here, as from Popen.
    """
    # _signal, not signal: the wrapper module (~0.4 ms to import, its enums) is not needed here.
    import _signal

    argv = [str(a) for a in argv]
    if log.isEnabledFor(DEBUG):
        log.debug("start: %s", describe(argv))
    environ = _child_env(env) or os.environ
    keep = set(pass_fds)
    leaks = []
    for name in os.listdir("/proc/self/fd"):
        with suppress(OSError):  # the descriptor listdir used is closed by now
            if int(name) > 2 and int(name) not in keep and os.get_inheritable(int(name)):
                leaks.append(int(name))
    r, w = os.pipe()  # close-on-exec: EOF on R means the exec worked
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            for fd in leaks:
                os.close(fd)
            null = -1
            for target, given in ((0, DEVNULL if stdin_devnull else None), (1, stdout), (2, stderr)):
                if given is None:
                    continue
                if given == DEVNULL:
                    if null < 0:
                        null = os.open(os.devnull, os.O_RDWR)
                    given = null
                os.dup2(given, target)
            if null > 2:
                os.close(null)
            for fd in keep:
                os.set_inheritable(fd, True)
            if new_session:
                os.setsid()
            _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
            _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
            if preexec is not None:
                try:
                    preexec()
                except BaseException as e:  # noqa: BLE001 - reported to the parent
                    os.write(w, f"P{e}".encode(errors="replace")[:4000])
                    os._exit(127)
            os.execvpe(argv[0], argv, environ)
        except OSError as e:
            os.write(w, str(e.errno or 0).encode())
        finally:
            os._exit(127)
    os.close(w)
    try:
        err = b""
        while chunk := os.read(r, 4096):
            err += chunk
    finally:
        os.close(r)
    if err:
        os.waitpid(pid, 0)
        if err.startswith(b"P"):
            raise RuntimeFailed(f"cannot start {describe(argv)}: {err[1:].decode(errors='replace')}")
        code = int(err)
        with _starting(argv):
            raise (FileNotFoundError if code == 2 else PermissionError if code == 13 else OSError)(
                code, os.strerror(code), argv[0]
            )
    return pid


def run_light(argv: Sequence[str], *, check: bool = True) -> tuple[int, str]:
    """Run a short program (`runc start`) to completion without subprocess: (status, stderr).
    Its stdout goes to /dev/null. Raises RuntimeFailed naming the argv when CHECK and it fails."""
    r, w = os.pipe()
    try:
        pid = start(argv, stdin_devnull=True, stdout=DEVNULL, stderr=w)
    except BaseException:
        os.close(r)
        raise
    finally:
        with suppress(OSError):
            os.close(w)
    err = b""
    try:
        while chunk := os.read(r, 65536):
            err += chunk
    finally:
        os.close(r)
    code = wait(pid)
    text = err.decode(errors="replace")
    if check and code != 0:
        raise failure(argv, code, text)
    return code, text


def wait(pid: int) -> int:
    """The exit status of a child from `start`, as Popen.returncode gives it (-N: signal N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        except InterruptedError:
            continue
