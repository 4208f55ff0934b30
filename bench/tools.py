"""podctl and podman as the test user, each with private storage and configuration.

Both get runc by default (`--podctl-runtime default` lets podctl pick its own: crun where it
runs, as podman would pick it where podman's crun can run), the same cgroup manager (cgroupfs: no systemd as PID 1 here),
the same storage driver (kernel overlay, which podman 4.3.1 rootless mounts natively in its
user namespace with `userxattr` on this kernel) and the same registry (127.0.0.1:5000, plain
HTTP). Nothing outside the bench's temp dirs is read or written: podman gets its own
CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF and tmp_dir (so even its
pause process is private to the bench).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.proc import Timed, User, descendants, kill_tree, reap_orphans, timed
from bench.stats import PODCTL, PODMAN

RUNTIME = "runc"
STORAGE_DRIVER = "overlay"
# podctl lacks a command, or a flag a scenario needs: not there yet (unavailable, not failed).
NO_SUCH = re.compile(r"No such command[^\n]*|No such option[^\n]*|unknown command[^\n]*", re.I)


def registries_conf(registry: str) -> str:
    return (
        "unqualified-search-registries = []\n\n"
        f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n'
    )


@dataclass
class Tool:
    """One side of the comparison: a binary plus global flags and env for private storage."""

    name: str
    binary: str
    user: User
    base: Path  # private dir (storage root lives inside)
    runroot: Path
    registry: str
    env_extra: dict[str, str] = field(default_factory=dict)
    runtime: str | None = RUNTIME  # None: the tool's own automatic choice
    _has: dict[str, bool] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.base / "root"

    def globals(self) -> list[str]:
        rt = ["--runtime", self.runtime] if self.runtime else []
        return ["--root", str(self.root), "--runroot", str(self.runroot), *rt]

    def env(self) -> dict[str, str]:
        return self.user.env(self.env_extra)

    def argv(self, *args: str, bare: bool = False) -> list[str]:
        return self.user.argv([self.binary, *([] if bare else self.globals()), *args])

    def time(self, *args: str, bare: bool = False, timeout: float = 300,
             input: bytes | None = None, rss: bool = False) -> Timed:  # fmt: skip
        t = timed(self.argv(*args, bare=bare), self.env(), timeout=timeout, input=input, rss=rss)
        reap_orphans()
        return t

    def ok(self, *args: str, timeout: float = 300, input: bytes | None = None) -> str:
        return self.time(*args, timeout=timeout, input=input).check().out

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True,
                           timeout=timeout, cwd="/", stdin=subprocess.DEVNULL)  # fmt: skip
        reap_orphans()
        return p

    def has(self, *command: str) -> bool:
        """Whether `TOOL COMMAND... --help` works (podctl grows commands during development)."""
        key = " ".join(command)
        if key not in self._has:
            p = subprocess.run(self.argv(*command, "--help", bare=True), env=self.env(),
                               capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)  # fmt: skip
            self._has[key] = p.returncode == 0 and not NO_SUCH.search(p.stderr)
        return self._has[key]

    def help_mentions(self, command: Sequence[str], flag: str) -> bool:
        p = subprocess.run(self.argv(*command, "--help", bare=True), env=self.env(),
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)  # fmt: skip
        return flag in p.stdout

    def version(self) -> str:
        p = subprocess.run(self.argv("--version", bare=True), env=self.env(), capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
        m = re.search(r"version\s+(\S+)", p.stdout)
        return m.group(1) if m else (p.stdout.strip() or "?")

    def pull_args(self) -> list[str]:
        """podman reads the bench's registries.conf; podctl gets --tls-verify=false if it has it."""
        if self.name == PODCTL and self.help_mentions(["pull"], "--tls-verify"):
            return ["--tls-verify=false"]
        return []

    def cleanup(self) -> None:
        """Remove everything: containers, pause process, storage (subuid-owned: via unshare)."""
        if self.root.exists():
            if self.name == PODMAN:
                self.run("rm", "-a", "-f", "-t", "0", timeout=120)
                self.run("pod", "rm", "-a", "-f", timeout=120)
            elif self.has("rm"):
                self.run("rm", "-a", "-f", timeout=120)
            self.run("unshare", "rm", "-rf", str(self.root), timeout=300)
        pause = [self.runroot / "pause.pid", self.runroot / "tmp" / "pause.pid"]
        for f in pause:
            try:
                os.kill(int(f.read_text().strip()), 9)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.runroot, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)


def find_podctl(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("PODCTL_BIN"):
        return os.environ["PODCTL_BIN"]
    cand = Path(sys.executable).parent / "podctl"
    if cand.exists():
        return str(cand)
    return shutil.which("podctl")


def find_podman(explicit: str | None) -> str | None:
    return explicit or shutil.which("podman")


def make_tool(name: str, binary: str, user: User, top: Path, tag: str, registry: str,
              runtime: str | None = RUNTIME, network: str | None = None) -> Tool:  # fmt: skip
    """A tool with private dirs: top/NAME holds storage and config; a short runroot in /run/user."""
    base = user.mkdir(top / name)
    user.mkdir(base / "root")
    # Short: conmon's attach socket path must fit in 108 bytes.
    runroot = user.mkdir(user.runtime_dir / f"pb{tag}{name[-2:]}")
    conf = [
        "[containers]",
        'log_driver = "k8s-file"',
        "",
        "[engine]",
        *([f'runtime = "{runtime}"'] if runtime else []),
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        *(
            ["", "[network]", f'default_rootless_network_cmd = "{network}"']
            if network
            else []
        ),
    ]
    if name == PODMAN:
        conf += [f'tmp_dir = "{runroot}/tmp"', f'volume_path = "{base}/root/volumes"']
    user.write(base / "containers.conf", "\n".join(conf) + "\n")
    user.write(
        base / "storage.conf",
        f'[storage]\ndriver = "{STORAGE_DRIVER}"\ngraphroot = "{base}/root"\n'
        f'runroot = "{runroot}"\n',
    )
    user.write(base / "registries.conf", registries_conf(registry))
    env = {
        "CONTAINERS_CONF": str(base / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(base / "registries.conf"),
        "TMPDIR": str(user.mkdir(base / "tmp")),
    }
    return Tool(name, binary, user, base, runroot, registry, env, runtime)


def stop_leftovers(before: set[int]) -> None:
    """Kill descendants of the bench that appeared since `before` (after a failed scenario)."""
    kill_tree(descendants() - before)
