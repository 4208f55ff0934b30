"""Subordinate id ranges from /etc/subuid and /etc/subgid."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")


@dataclass(frozen=True)
class IdRange:
    start: int
    count: int


def user_names(uid: int) -> set[str]:
    names = {str(uid)}
    try:
        names.add(pwd.getpwuid(uid).pw_name)
    except KeyError:
        pass
    return names


def ranges(path: Path, uid: int | None = None) -> list[IdRange]:
    """The ranges in PATH that belong to UID (by name or number); [] when none or unreadable."""
    uid = os.getuid() if uid is None else uid
    names = user_names(uid)
    out: list[IdRange] = []
    try:
        text = path.read_text()
    except OSError:
        return []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or parts[0] not in names:
            continue
        try:
            out.append(IdRange(int(parts[1]), int(parts[2])))
        except ValueError:
            continue
    return out


def mapping_args(host_id: int, rngs: list[IdRange]) -> list[str]:
    """newuidmap/newgidmap triples: the user as 0, then the subordinate ranges from 1 on."""
    args = ["0", str(host_id), "1"]
    inner = 1
    for r in rngs:
        args += [str(inner), str(r.start), str(r.count)]
        inner += r.count
    return args


def total(rngs: list[IdRange]) -> int:
    return sum(r.count for r in rngs)
