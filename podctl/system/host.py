"""Facts about the host that info and doctor both report."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from podctl import run as gateway


def os_release() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return "unknown"
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
    return m.group(1) if m else "unknown"


def cgroup_mode() -> str:
    """"v2" (unified), "hybrid" (v1 controllers plus an empty v2 tree) or "v1"."""
    fstypes: dict[str, str] = {}
    unified: set[str] = set()
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) > 4 and right:
                fstypes[fields[4]] = right.split()[0]
                if fields[4] == "/sys/fs/cgroup/unified":
                    unified.add(fstypes[fields[4]])
    except OSError:
        return "unknown"
    top = fstypes.get("/sys/fs/cgroup")
    if top == "cgroup2":
        return "v2"
    if "cgroup2" in unified:  # also when podctl covers it for crun (podctl.runtime.crun)
        return "hybrid"
    return "v1"


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "path": self.path or "", "version": self.version}


def tool(name: str, args: tuple[str, ...] = ("--version",), path: str | None = None) -> Tool:
    """Locate a helper program and read the first line of its version output."""
    found = path or gateway.which(name)
    if not found:
        return Tool(name, None, "")
    try:
        proc = gateway.run([found, *args], check=False, timeout=10)
    except Exception:  # a broken binary still reports its path
        return Tool(name, found, "")
    out = (proc.stdout or proc.stderr or "").strip().splitlines()
    return Tool(name, found, out[0].strip() if out else "")


def mem_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def kernel() -> str:
    return platform.release()


def arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def cpus() -> int:
    return os.cpu_count() or 1
