"""Where each container's files live.

Persistent (under the storage root): the overlay upper/work dirs, the mount point and
`userdata` (hosts, resolv.conf, hostname, the k8s-file log). Volatile (under the runroot, a
tmpfs): the OCI bundle with config.json, conmon's pid files, attach socket and fifos, and the
exit file, all gone after a reboot as the processes they describe are.
"""

from __future__ import annotations

import os
from pathlib import Path

from podctl.config import Config
from podctl.errors import InvalidSpec

# podctl.records: dataclasses without the import and class-creation cost (mypy sees the real ones).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    from podctl.records import dataclass


@dataclass(frozen=True)
class ContainerPaths:
    id: str
    storage: Path
    bundle: Path
    exits: Path
    runc_root: Path

    @classmethod
    def of(cls, cfg: Config, cid: str) -> ContainerPaths:
        return cls(
            id=cid,
            storage=cfg.root / "containers" / cid,
            bundle=cfg.runroot / "containers" / cid,
            exits=cfg.runroot / "exits",
            runc_root=cfg.runroot / "runc",
        )

    @property
    def upper(self) -> Path:
        return self.storage / "upper"

    @property
    def work(self) -> Path:
        return self.storage / "work"

    @property
    def merged(self) -> Path:
        return self.storage / "merged"

    @property
    def userdata(self) -> Path:
        return self.storage / "userdata"

    @property
    def log_path(self) -> Path:
        return self.userdata / "ctr.log"

    @property
    def config_json(self) -> Path:
        return self.bundle / "config.json"

    @property
    def pidfile(self) -> Path:
        return self.bundle / "pidfile"

    @property
    def conmon_pidfile(self) -> Path:
        return self.bundle / "conmon.pid"

    @property
    def exit_file(self) -> Path:
        return self.exits / self.id

    def exit_code(self) -> int | None:
        """The exit code conmon wrote for the last run, if it has ended."""
        try:
            with open(self.exit_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    @property
    def attach_socket(self) -> Path:
        return self.bundle / "attach"

    @property
    def ctl(self) -> Path:
        return self.bundle / "ctl"


def secure_join(root: Path, path: str) -> Path:
    """ROOT/PATH with every symlink resolved as if ROOT were `/`: never escapes ROOT."""
    parts = [p for p in path.split("/") if p and p != "."]
    current = root
    depth: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if depth:
                depth.pop()
            current = root.joinpath(*depth)
            continue
        candidate = current / part
        try:
            target = os.readlink(candidate)
        except OSError:
            depth.append(part)
            current = candidate
            continue
        hops += 1
        if hops > 40:
            raise InvalidSpec(f"{path}: too many levels of symbolic links")
        if target.startswith("/"):
            depth = []
            current = root
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return current
