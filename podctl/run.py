"""The one gateway through which podctl starts external programs.

Every failure names the exact argv (shell-quoted) so a user can replay runc, conmon,
slirp4netns or newuidmap by hand.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from podctl.errors import RuntimeFailed
from podctl.log import log

DEVNULL = subprocess.DEVNULL

# Debian puts runc and a few helpers in sbin, which an ordinary user's PATH often lacks.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/libexec/podman", "/usr/lib/podman")


def which(name: str) -> str | None:
    """Find a program on PATH, then in the places distributions keep container helpers."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    found = shutil.which(name)
    if found:
        return found
    return shutil.which(name, path=os.pathsep.join(_EXTRA_PATH))


def _child_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    """Children never inherit systemd's NOTIFY_SOCKET: under a Type=notify unit it is podctl's
    to answer, and runc would try to proxy it itself (and fail or wait for READY=1)."""
    if env is None:
        if "NOTIFY_SOCKET" not in os.environ:
            return None
        env = os.environ
    return {k: v for k, v in env.items() if k != "NOTIFY_SOCKET"}


def describe(argv: Sequence[str]) -> str:
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
    argv = [str(a) for a in argv]
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
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.PIPE,
    **kwargs: Any,
) -> subprocess.Popen[Any]:
    """Start a program in the background; the caller owns the Popen."""
    argv = [str(a) for a in argv]
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
