"""Run podctl for real as the unprivileged test user.

When the suite runs as root it drops to that user (setpriv) for every podctl call; when it runs
as an ordinary user with subordinate ids, it runs podctl directly. Each `Podctl` has its own
storage root and runtime dir, so tests never see each other's containers.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SETUP_CMD = f"sudo {REPO}/scripts/host-setup"
REGISTRY = os.environ.get("PODCTL_TEST_REGISTRY", "127.0.0.1:5000")
BUSYBOX = f"{REGISTRY}/busybox:latest"


def test_user_name() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name
    return os.environ.get("PODCTL_TEST_USER", "podtest")


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path

    @classmethod
    def lookup(cls, name: str) -> User:
        pw = pwd.getpwnam(name)
        return cls(name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))

    @property
    def runtime_dir(self) -> Path:
        return Path(f"/run/user/{self.uid}")

    @property
    def drop(self) -> bool:
        return os.geteuid() == 0 and self.uid != 0

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.runtime_dir}/bus",
            "LANG": "C.UTF-8",
        }
        if not self.drop:
            for k in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
                if os.environ.get(k):
                    env[k] = os.environ[k]
        env.update(extra or {})
        return env

    def argv(self, argv: Sequence[str]) -> list[str]:
        argv = [str(a) for a in argv]
        if self.drop:
            return [
                "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                "--", *argv,
            ]  # fmt: skip
        return argv

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        input: str | None = None,
        timeout: float = 120,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = self.argv(argv)
        proc = subprocess.run(
            full,
            env=self.env(env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or "/",
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def popen(self, argv: Sequence[str], env: Mapping[str, str] | None = None, **kw: Any) -> subprocess.Popen[Any]:
        return subprocess.Popen(self.argv(argv), env=self.env(env), cwd="/", **kw)

    def readable_copy(self, path: Path) -> Path:
        """A copy of a test helper script the user can read: CI's clone may sit in a tree the
        user cannot enter (e.g. under /root)."""
        dest_dir = self.mkdir(self.home / ".cache" / "podctl-tests" / "helpers", 0o755)
        dest = dest_dir / path.name
        shutil.copyfile(path, dest)
        dest.chmod(0o644)
        if self.drop:
            os.chown(dest, self.uid, self.gid)
        return dest

    def mkdir(self, path: Path, mode: int = 0o700) -> Path:
        """Create PATH and any missing parents, all owned by the user."""
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir(mode=mode)
            if self.drop:
                os.chown(d, self.uid, self.gid)
        return path


def podctl_bin() -> str:
    """The installed podctl the user runs: $PODCTL_BIN, else the one beside this Python."""
    if os.environ.get("PODCTL_BIN"):
        return os.environ["PODCTL_BIN"]
    cand = Path(sys.executable).parent / "podctl"
    if cand.exists():
        return str(cand)
    found = shutil.which("podctl")
    if found:
        return found
    raise AssertionError(f"podctl is not installed beside {sys.executable}: run {SETUP_CMD}")


@dataclass
class Podctl:
    """podctl as the test user, with a private --root and --runroot."""

    user: User
    root: Path
    runroot: Path
    bin: str = field(default_factory=podctl_bin)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, user: User, tag: str = "") -> Podctl:
        tag = (tag or "t") + "-" + uuid.uuid4().hex[:8]
        base = user.mkdir(user.home / ".cache" / "podctl-tests")
        root = user.mkdir(base / tag)
        # A short runtime path: unix socket paths (conmon's attach socket) must fit 108 bytes.
        runroot = user.mkdir(user.runtime_dir / f"pt-{tag[-8:]}")
        return cls(user, root, runroot)

    def argv(self, *args: str) -> list[str]:
        return [self.bin, "--root", str(self.root), "--runroot", str(self.runroot), *args]

    def run(
        self, *args: str, check: bool = False, input: str | None = None, timeout: float = 120,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return self.user.run(
            self.argv(*args), env={**self.env, **(env or {})}, check=check, input=input,
            timeout=timeout,
        )  # fmt: skip

    def ok(self, *args: str, **kw: Any) -> str:
        return self.run(*args, check=True, **kw).stdout

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, **kw))

    def cleanup(self) -> None:
        """Stop everything this instance started and remove its storage (owned by subuids)."""
        pid_file = self.runroot / "pause.pid"
        # Containers first (a failed test may leave some running), then the storage.
        self.run("pod", "rm", "-a", "-f", timeout=120)
        self.run("rm", "-a", "-f", "-t", "0", timeout=120)
        self.run("unshare", "rm", "-rf", str(self.root), timeout=60)
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.runroot, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def procs_mentioning(text: str, uid: int | None = None) -> list[str]:
    """Live processes (of UID, if given) whose command line mentions TEXT (zombies have an
    empty cmdline)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if uid is not None and d.stat().st_uid != uid:
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(f"{d.name}: {cmd}")
    return found


def helpers_of(p: Podctl) -> list[str]:
    """slirp4netns, port forwarders, pasta and conmon processes of this podctl instance."""
    return [c for c in procs_mentioning(str(p.runroot))
            if any(w in c for w in ("slirp4netns", "portfwd", "conmon", "pasta"))]  # fmt: skip
