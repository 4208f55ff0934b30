"""What every scenario shares: the context, outcomes, alternation and process accounting."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.proc import CommandFailed, User, comm, descendants, host_processes, rss_mib
from bench.report import ScenarioResult
from bench.stats import PODCTL, PODMAN
from bench.tools import NO_SUCH, Tool

# Host processes that carry a container's or a pod's network (podman: slirp4netns and
# rootlessport; pasta (passt.avx2); podctl: pasta, or slirp4netns, and any `python -m podctl.net.*`
# helper).
NET_HELPERS = ("slirp4netns", "rootlessport", "rootlessport-ch", "pasta", "passt")

# PID 1 of a container ignores SIGTERM unless it handles it: this one stops at once, so that
# `rm -f`, `pod rm -f` and `kube down` measure the tools, not a 10 s stop timeout.
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]


class Unavailable(Exception):
    """podctl lacks a command this scenario needs (yet)."""


class Skipped(Exception):
    """The machine lacks a prerequisite (podman, a systemd user manager, the registry)."""


class ToolFailed(Exception):
    """A measured command failed; which tool decides failed (podctl) or error (podman)."""

    def __init__(self, tool: str, cause: Exception) -> None:
        self.tool = tool
        super().__init__(f"{tool}: {cause}")


@dataclass
class Ctx:
    user: User
    top: Path
    tools: dict[str, Tool]
    runs: int
    warmup: bool
    smoke: bool
    registry: str
    busybox: str
    registry_ok: bool
    log: Callable[[str], None] = print
    cache: dict[str, object] = field(default_factory=dict)
    # --reference: measure podman even where podctl lacks the command (podctl left out).
    reference: bool = False
    missing: str = ""

    @property
    def podctl(self) -> Tool:
        return self.tools[PODCTL]

    @property
    def podman(self) -> Tool | None:
        return self.tools.get(PODMAN)

    def order(self) -> list[Tool]:
        """A B: podctl first, then podman (when installed)."""
        names = (PODMAN,) if self.missing else (PODCTL, PODMAN)
        return [self.tools[n] for n in names if n in self.tools]

    def require(self, *commands: str) -> None:
        """Raise Unavailable unless podctl has every command (each "pod create"-style string)."""
        missing = [c for c in commands if not self.podctl.has(*c.split())]
        if missing:
            msg = "podctl " + ", ".join(missing) + ": not available yet"
            if not (self.reference and self.podman):
                raise Unavailable(msg)
            self.missing = f"{self.missing}; {msg}" if self.missing else msg

    def require_flag(self, command: str, flag: str) -> None:
        """Raise Unavailable unless `podctl COMMAND --help` lists flag."""
        if self.podctl.has(*command.split()) and not self.podctl.help_mentions(
            command.split(), flag
        ):
            msg = f"podctl {command} {flag}: not available yet"
            if not (self.reference and self.podman):
                raise Unavailable(msg)
            self.missing = f"{self.missing}; {msg}" if self.missing else msg

    def need_registry(self) -> None:
        if not self.registry_ok:
            raise Skipped(f"no registry with busybox on {self.registry}: run scripts/host-setup")

    def alternate(self, step: Callable[[Tool, bool], None], runs: int | None = None) -> None:
        """Warm-up (unrecorded) once per tool, then A B A B ... runs times; step(tool, record)."""
        n = self.runs if runs is None else runs
        if self.warmup:
            for tool in self.order():
                guarded(tool, step, False)
        for _ in range(n):
            for tool in self.order():
                guarded(tool, step, True)

    def each(self, fn: Callable[[Tool], None]) -> None:
        for tool in self.order():
            guarded(tool, lambda t, _r: fn(t), False)


def guarded(tool: Tool, step: Callable[[Tool, bool], None], record: bool) -> None:
    try:
        step(tool, record)
    except CommandFailed as e:
        if tool.name == PODCTL and NO_SUCH.search(e.err + e.out):
            what = NO_SUCH.search(e.err + e.out)
            raise Unavailable(f"podctl: {what.group(0) if what else ''}: not available yet: "
                              f"{e}") from e  # fmt: skip
        raise ToolFailed(tool.name, e) from e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pause_pids(tool: Tool) -> set[int]:
    out: set[int] = set()
    for f in (tool.runroot / "pause.pid", tool.runroot / "tmp" / "pause.pid"):
        try:
            out.add(int(f.read_text().strip()))
        except (OSError, ValueError):
            pass
    return out


def proc_name(pid: int) -> str:
    """comm; the executable's name for re-exec'ed helpers (rootlessport's child is "exe");
    the module for `python -m MODULE` helpers (podctl.net.portfwd)."""
    c = comm(pid)
    try:
        if c == "exe":
            return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        if c.startswith("python"):
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            if "-m" in argv[:-1]:
                return argv[argv.index("-m") + 1]
            named = re.search(r"\bpodctl\.net\.\w+", " ".join(argv))  # a `-c` program of podctl's
            if named:
                return named.group(0)
            if len(argv) > 1 and argv[1]:
                return os.path.basename(argv[1])
    except OSError:
        pass
    return c


def is_net_helper(name: str) -> bool:
    # Debian's pasta re-executes itself as passt.avx2 where the CPU has AVX2: that is its name.
    return name in NET_HELPERS or name.removesuffix(".avx2") in NET_HELPERS or name.startswith("podctl.net.")


@dataclass(frozen=True)
class Helpers:
    """Host processes (outside containers) a tool left running since a snapshot: name, RSS."""

    procs: dict[int, tuple[str, float]]

    @classmethod
    def since(cls, before: set[int], tool: Tool) -> Helpers:
        new = descendants() - before - pause_pids(tool)
        # Outside containers: in the bench's PID namespace, and network helpers wherever they
        # are (pasta sandboxes itself in a PID namespace of its own).
        outside = set(host_processes(new)) | {p for p in new if is_net_helper(comm(p))}
        procs = {p: (proc_name(p), rss_mib(p)) for p in outside}
        return cls({p: v for p, v in procs.items() if v[0] != "catatonit" and v[1] > 0})

    def rss(self, net: bool = False) -> float:
        """Total RSS in MiB; with net only that of network helpers."""
        return sum(r for c, r in self.procs.values() if not net or is_net_helper(c))

    def count(self, net: bool = False) -> int:
        return sum(1 for c, _ in self.procs.values() if not net or is_net_helper(c))

    def describe(self) -> str:
        by: dict[str, list[float]] = {}
        for c, r in self.procs.values():
            by.setdefault(c, []).append(r)
        if not by:
            return "none"
        return ", ".join(f"{c} x{len(v)} {sum(v):.1f} MiB" for c, v in sorted(by.items()))


def disk_usage(path: Path) -> int:
    """Bytes allocated under path, hard links once, never crossing into mounts."""
    try:
        dev = path.stat().st_dev
    except OSError:
        return 0
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        keep = []
        for d in dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, d))
            except OSError:
                continue
            if st.st_dev == dev:
                keep.append(d)
                total += st.st_blocks * 512
        dirnames[:] = keep
        for f in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1:
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_blocks * 512
    return total


def new_result(name: str, title: str) -> ScenarioResult:
    return ScenarioResult(name, title)


__all__ = ["Ctx", "Helpers", "NET_HELPERS", "SLEEPER", "is_net_helper", "Skipped", "ToolFailed", "Unavailable", "comm",
           "disk_usage", "free_port", "pause_pids"]  # fmt: skip
