"""The conmon driver: one conmon per container holds its stdio, log and exit code.

conmon forks off and the podctl process that started it exits: no Python process stays per
running container. conmon runs `runtime create`, reports the container pid on the sync pipe,
writes the exit code to the exit dir, and runs the exit command (`podctl container cleanup`).

The exit command runs behind a /bin/sh guard (podctl.runtime.claim): it starts no podctl while
the podctl that stopped the container and cleans it up itself is alive.
"""

from __future__ import annotations

import os
from pathlib import Path

from podctl import fastjson as json
from podctl import run as gateway
from podctl.config import Config
from podctl.errors import CannotInvoke, CommandNotFound, PodctlError, RuntimeFailed
from podctl.runtime.paths import ContainerPaths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from dataclasses import dataclass
else:
    from podctl.records import dataclass


@dataclass(frozen=True)
class MonitorOptions:
    name: str
    tty: bool = False
    stdin: bool = False
    log_driver: str = "k8s-file"
    exit_command: tuple[str, ...] = ()
    sdnotify_socket: str | None = None  # relay the container's READY=1 to this socket
    log_level: str = "warning"


def conmon_path(cfg: Config) -> str:
    for p in cfg.helper_paths("conmon_path"):
        if os.access(p, os.X_OK):
            return p
    found = gateway.which("conmon")
    if not found:
        raise RuntimeFailed("conmon not found", hint="fix (as root): apt-get install conmon")
    return found


def argv(
    conmon: str, runtime: str, runtime_root: Path, paths: ContainerPaths, opts: MonitorOptions,
    runtime_args: Sequence[str] = (),
) -> list[str]:
    cid = paths.id
    out = [
        conmon, "--api-version", "1", "-c", cid, "-u", cid, "-r", runtime, "-b", str(paths.bundle),
        "-p", str(paths.pidfile), "-n", opts.name, "--exit-dir", str(paths.exits), "--full-attach",
        "--conmon-pidfile", str(paths.conmon_pidfile), "--log-level", opts.log_level,
        "--runtime-arg", "--root", "--runtime-arg", str(runtime_root),
    ]  # fmt: skip
    for a in runtime_args:
        out += ["--runtime-arg", a]
    if opts.log_driver == "journald":
        out += ["-l", "journald:"]
    elif opts.log_driver in ("none", "passthrough"):
        out += ["-l", "none:"] if opts.log_driver == "none" else ["-l", "passthrough:"]
    else:
        out += ["-l", f"k8s-file:{paths.log_path}"]
    if opts.tty:
        out.append("-t")
    if opts.stdin:
        out.append("-i")
    if opts.sdnotify_socket:
        out += ["--sdnotify-socket", opts.sdnotify_socket]
    if opts.exit_command:
        out += ["--exit-command", opts.exit_command[0]]
        for a in opts.exit_command[1:]:
            out += ["--exit-command-arg", a]
    return out


def runtime_message(text: str) -> str:
    """The error lines of runc's logfmt output (`level=error msg="..."`), else the text."""
    import re

    msgs = []
    for line in text.strip().splitlines():
        m = re.search(r'level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"', line)
        if m:
            msgs.append(m.group(1).replace('\\"', '"'))
    return "; ".join(msgs) if msgs else text.strip()


def classify_error(runtime: str, message: str) -> PodctlError:
    """runc's and crun's create failures that podman maps to 127 / 126.

    runc: `exec: "x": executable file not found in $PATH`, `... permission denied`; crun:
    ``executable file `x` not found in $PATH: No such file or directory``, `open executable:
    Permission denied` (not executable) or `open executable: Operation not permitted` (a
    directory)."""
    msg = f"{os.path.basename(runtime)}: {runtime_message(message)}"
    low = msg.lower()
    if "executable file not found" in low or "no such file or directory" in low or (
        "executable file `" in low and "not found" in low
    ):
        return CommandNotFound(f"{msg}: OCI runtime attempted to invoke a command that was not found")
    if "permission denied" in low or "open executable: operation not permitted" in low:
        return CannotInvoke(f"{msg}: OCI permission denied")
    return RuntimeFailed(msg)


def create(
    conmon: str,
    runtime: str,
    runtime_root: Path,
    paths: ContainerPaths,
    opts: MonitorOptions,
    env: dict[str, str] | None = None,
    runtime_args: Sequence[str] = (),
) -> tuple[int, int]:
    """Start conmon, which runs `runtime create`; return (container pid, conmon pid)."""
    paths.exits.mkdir(parents=True, exist_ok=True, mode=0o700)
    runtime_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    from podctl.runtime.claim import claim_path

    for stale in (paths.exit_file, paths.pidfile, paths.conmon_pidfile, claim_path(paths)):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass
    cmd = argv(conmon, runtime, runtime_root, paths, opts, runtime_args)
    sync_r, sync_w = os.pipe()
    child_env = dict(os.environ if env is None else env)
    child_env["_OCI_SYNCPIPE"] = str(sync_w)
    # Not a pipe for stderr: the monitor keeps it open for as long as the container runs.
    # An anonymous memory file: no tempfile import (~3 ms), nothing left on disk.
    errfd = os.memfd_create("conmon-stderr", os.MFD_CLOEXEC)
    try:
        # conmon forks and its first process exits at once; the monitor lives on, reparented.
        pid = gateway.start(cmd, env=child_env, stdin_devnull=True, stdout=gateway.DEVNULL, stderr=errfd,
                            pass_fds=(sync_w,), new_session=True)  # fmt: skip
    except BaseException:
        os.close(sync_r)
        os.close(errfd)
        raise
    finally:
        os.close(sync_w)
    try:
        data = _read_sync(sync_r)
    finally:
        os.close(sync_r)
    gateway.wait(pid)
    try:
        os.lseek(errfd, 0, os.SEEK_SET)
        err = b""
        while chunk := os.read(errfd, 65536):
            err += chunk
    finally:
        os.close(errfd)
    if data is None:
        detail = err.decode(errors="replace").strip()
        raise RuntimeFailed(
            f"conmon failed to create the container{': ' + detail if detail else ''} "
            f"(running: {gateway.describe(cmd)})"
        )
    pid = int(str(data.get("data", -1)))
    if pid < 0:
        raise classify_error(runtime, str(data.get("message") or "the OCI runtime failed to create the container"))
    try:
        conmon_pid = int(paths.conmon_pidfile.read_text().strip())
    except (OSError, ValueError):
        conmon_pid = 0
    return pid, conmon_pid


def _read_sync(fd: int) -> dict[str, object] | None:
    buf = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        # api-version 1 sends one JSON object per message
        try:
            data = json.loads(buf.decode(errors="replace"))
            if isinstance(data, dict):
                return data
        except ValueError:
            continue
    if not buf:
        return None
    try:
        data = json.loads(buf.decode(errors="replace"))
        return data if isinstance(data, dict) else None
    except ValueError:
        return None


def read_exit_code(paths: ContainerPaths) -> int | None:
    return paths.exit_code()


def exit_command(cfg: Config, *args: str, claim_file: Path | None = None) -> tuple[str, ...]:
    """`podctl --root R --runroot RR container cleanup ARGS...`, by the running podctl's path.

    With CLAIM_FILE, behind the /bin/sh guard that skips it while a live podctl holds the
    claim (podctl.runtime.claim).
    """
    import sys

    exe = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(exe) == "podctl" and os.access(exe, os.X_OK):
        base: Sequence[str] = [exe]
    else:
        found = gateway.which("podctl")
        base = [found] if found else [sys.executable, "-m", "podctl"]
    extra = ["--runtime", cfg.runtime] if cfg.runtime else []
    cmd = (*base, "--root", str(cfg.root), "--runroot", str(cfg.runroot), *extra,
           "container", "cleanup", *args)  # fmt: skip
    if claim_file is None:
        return cmd
    from podctl.runtime import claim

    return claim.guarded_command(claim_file, cmd)
