"""Processes for the bench: run as the test user, time with wait4, find helpers, read RSS.

The bench makes itself a child subreaper, so every daemon a measured command leaves behind
(conmon, slirp4netns, rootlessport, pause processes) is re-parented to the bench: "the host
processes of this tool" are then exactly the bench's descendants, even while other test suites
run containers as the same user.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import select
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


class BenchError(Exception):
    """A command the bench needs failed; names the argv."""


class CommandFailed(BenchError):
    def __init__(self, argv: Sequence[str], code: int, out: str, err: str) -> None:
        self.argv = list(argv)
        self.code = code
        self.out = out
        self.err = err
        tail = (err.strip() or out.strip())[-600:]
        super().__init__(f"{shlex.join(self.argv)} exited {code}: {tail}")


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return False


@dataclass(frozen=True)
class User:
    """Who runs podctl and podman: the unprivileged test user, dropped to with setpriv."""

    name: str
    uid: int
    gid: int
    home: Path

    @classmethod
    def pick(cls, name: str | None = None) -> User:
        if os.geteuid() != 0:
            pw = pwd.getpwuid(os.getuid())
        else:
            pw = pwd.getpwnam(name or os.environ.get("PODCTL_TEST_USER", "podtest"))
        return cls(pw.pw_name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))

    @property
    def drop(self) -> bool:
        return os.geteuid() == 0 and self.uid != 0

    @property
    def runtime_dir(self) -> Path:
        if not self.drop and os.environ.get("XDG_RUNTIME_DIR"):
            return Path(os.environ["XDG_RUNTIME_DIR"])
        return Path(f"/run/user/{self.uid}")

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": PATH,
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.runtime_dir}/bus",
        }
        env.update(extra or {})
        return env

    def argv(self, argv: Sequence[str]) -> list[str]:
        argv = [str(a) for a in argv]
        if self.drop:
            return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                    "--", *argv]  # fmt: skip
        return argv

    def chown(self, path: Path) -> Path:
        if self.drop:
            os.chown(path, self.uid, self.gid)
        return path

    def mkdir(self, path: Path, mode: int = 0o700) -> Path:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
        return self.chown(path)

    def write(self, path: Path, text: str) -> Path:
        path.write_text(text)
        return self.chown(path)


@dataclass(frozen=True)
class Timed:
    """One whole-process run: wall seconds, peak RSS (MiB) of it and its waited-for children."""

    argv: list[str]
    code: int
    wall: float
    maxrss_mib: float
    out: str
    err: str

    def check(self) -> Timed:
        if self.code != 0:
            raise CommandFailed(self.argv, self.code, self.out, self.err)
        return self


def rss_wrapper() -> tuple[str, list[str]]:
    """How to read a command's peak RSS: through a small process that forks it.

    ru_maxrss of a child the bench spawns directly is useless: at exec the kernel folds the old
    mm's high-water mark (the bench's, shared through vfork) into the new process's maxrss. So a
    small static program forks the command and reports its rusage: GNU time, else busybox time.
    """
    gnu = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu:
        p = subprocess.run([gnu, "--version"], capture_output=True, text=True)
        if "GNU" in p.stdout + p.stderr:
            return "GNU time", [gnu, "-f", "%M", "-o"]
    bb = shutil.which("busybox")
    if bb:
        return "busybox time", [bb, "time", "-v"]
    return "none", []


_WRAPPER: tuple[str, list[str]] | None = None


def wrapper() -> tuple[str, list[str]]:
    global _WRAPPER
    if _WRAPPER is None:
        _WRAPPER = rss_wrapper()
    return _WRAPPER


MAXRSS_RE = re.compile(r"^\s*Maximum resident set size \(kbytes\): (\d+)\s*$", re.M)


def timed(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = 300,
    input: bytes | None = None,
    rss: bool = False,
) -> Timed:
    """Run argv, timing it from fork to reap; with rss, read its peak RSS via wrapper()."""
    import tempfile

    argv = list(argv)
    kind, prefix = wrapper() if rss else ("none", [])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="bench-rss-") as rf:  # fmt: skip
        full = argv
        if kind == "GNU time":
            full = [*prefix, rf.name, "--", *argv]
        elif kind == "busybox time":
            full = [*prefix, *argv]
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(full, env=dict(env), stdin=stdin, stdout=out, stderr=err, cwd="/")
        if input is not None and p.stdin is not None:
            p.stdin.write(input)
            p.stdin.close()
        # Block on a pidfd (no polling latency), then reap with wait4 for the child's rusage.
        pidfd = os.pidfd_open(p.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
        if not ready:
            p.kill()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o = out.read().decode(errors="replace")
        e = err.read().decode(errors="replace")
        maxrss = ru.ru_maxrss / 1024
        if kind == "GNU time":
            lines = Path(rf.name).read_text().split()
            maxrss = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else 0.0
        elif kind == "busybox time":
            m = MAXRSS_RE.search(e)
            # busybox takes ru_maxrss (KiB) for pages and multiplies by page size / 1024.
            scale = os.sysconf("SC_PAGE_SIZE") // 1024
            maxrss = int(m.group(1)) / scale / 1024 if m else 0.0
            cut = e.rfind("\tCommand being timed:")
            e = e[:cut] if cut >= 0 else e
            e = re.sub(r"Command (exited with non-zero status|terminated by signal) \d+\n\Z", "", e)
    return Timed(argv, p.returncode, wall, maxrss, o, e)


def reap_orphans() -> None:
    """Reap zombies re-parented to the bench (it is a subreaper); never touches live children."""
    me = os.getpid()
    for pid in children_of(me):
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _ppids() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rpartition(")")[2].split()
            out[int(entry)] = int(rest[1])
        except (OSError, IndexError, ValueError):
            continue
    return out


def children_of(pid: int) -> list[int]:
    return [p for p, pp in _ppids().items() if pp == pid]


def descendants(pid: int | None = None) -> set[int]:
    root = os.getpid() if pid is None else pid
    ppids = _ppids()
    kids: dict[int, list[int]] = {}
    for p, pp in ppids.items():
        kids.setdefault(pp, []).append(p)
    found: set[int] = set()
    todo = [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def rss_mib(pid: int) -> float:
    """VmRSS of a live process in MiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def pid_ns(pid: int | str = "self") -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def host_processes(pids: set[int]) -> dict[int, str]:
    """Those of pids that run in the bench's pid namespace (not inside a container): pid -> comm."""
    mine = pid_ns()
    return {p: comm(p) for p in pids if pid_ns(p) == mine and comm(p) != "?"}


def kill_tree(pids: set[int]) -> None:
    for p in pids:
        try:
            os.kill(p, 9)
        except OSError:
            pass
    time.sleep(0.05)
    reap_orphans()
