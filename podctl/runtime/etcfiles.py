"""The container's own /etc/passwd and /etc/group, and the /etc files podctl provides.

User and group names are resolved from the files inside the container's rootfs (never the
host's), as podman does.
"""

from __future__ import annotations

import os
from pathlib import Path

from podctl.errors import CannotInvoke, CommandNotFound
from podctl.runtime.paths import secure_join

# podctl.records: dataclasses without the import and class-creation cost (mypy sees the real ones).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from dataclasses import dataclass
    from typing import Any
else:
    from podctl.records import dataclass


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    name: str = ""


def _read_db(rootfs: Path, name: str) -> list[list[str]]:
    try:
        text = secure_join(rootfs, f"/etc/{name}").read_text(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(rootfs: Path, user: str) -> ExecUser:
    """`user[:group]` (names or numbers) against the rootfs's passwd and group files."""
    user = user or "0"
    uname, _, gname = user.partition(":")
    passwd = _read_db(rootfs, "passwd")
    entry = None
    for f in passwd:
        if len(f) >= 7 and (f[0] == uname or (uname.isdigit() and f[2] == uname)):
            entry = f
            break
    if entry is None:
        if not uname.isdigit():
            raise CannotInvoke(
                f"unable to find user {uname}: no matching entries in passwd file"
            )
        uid, gid, home, name = int(uname), 0, "/", ""
    else:
        uid, gid, home, name = int(entry[2]), int(entry[3]), entry[5] or "/", entry[0]
    groups = _read_db(rootfs, "group")
    if gname:
        if gname.isdigit():
            gid = int(gname)
        else:
            for g in groups:
                if len(g) >= 3 and g[0] == gname:
                    gid = int(g[2])
                    break
            else:
                raise CannotInvoke(f"unable to find group {gname}: no matching entries in group file")
    extra: list[int] = []
    if name:
        for g in groups:
            if len(g) >= 4 and name in g[3].split(",") and g[2].isdigit():
                gi = int(g[2])
                if gi != gid and gi not in extra:
                    extra.append(gi)
    return ExecUser(uid, gid, tuple(extra), home, name)


def write_hosts(path: Path, hostname: str, name: str, host_network: bool) -> None:
    lines = []
    if host_network:
        try:
            lines.append(Path("/etc/hosts").read_text().rstrip("\n"))
        except OSError:
            pass
    lines += [
        "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4",
        "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6",
    ]
    if not host_network:
        names = " ".join(dict.fromkeys([hostname, name]))
        lines.append(f"127.0.1.1\t{names}")
    _atomic(path, "\n".join(lines) + "\n")


def write_resolv_conf(path: Path, host_network: bool) -> None:
    """The host's resolv.conf; without the host's network, loopback resolvers are useless."""
    try:
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        text = ""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if (
            not host_network
            and parts[:1] == ["nameserver"]
            and len(parts) > 1
            and (parts[1].startswith("127.") or parts[1] == "::1")
        ):
            continue
        out.append(line)
    _atomic(path, "\n".join(out) + ("\n" if out else ""))


def write_hostname(path: Path, hostname: str) -> None:
    _atomic(path, hostname + "\n")


def write_containerenv(path: Path, cid: str, name: str, image: str, image_id: str) -> None:
    _atomic(
        path,
        f'engine="podctl"\nname="{name}"\nid="{cid}"\nimage="{image}"\nimageid="{image_id}"\n'
        "rootless=1\n",
    )


def ensure_passwd_entry(rootfs: Path, uid: int, gid: int, name: str, home: str) -> None:
    """--userns=keep-id: give the user's uid a passwd entry when the image lacks one."""
    passwd = secure_join(rootfs, "/etc/passwd")
    entries = _read_db(rootfs, "passwd")
    if any(len(f) > 2 and f[2] == str(uid) for f in entries):
        return
    try:
        with open(passwd, "a") as f:
            f.write(f"{name}:*:{uid}:{gid}:{name}:{home}:/bin/sh\n")
    except OSError:
        pass


def write_in_place(path: Path, text: str) -> None:
    """Rewrite PATH keeping its inode: running containers bind-mount it (a pod's /etc/hosts)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, text.encode())
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)


def _through_mounts(root: Path, path: str, mounts: Sequence[Mapping[str, Any]]) -> Path | None:
    """The host path of the container's PATH (absolute, normalised), through the deepest mount
    that covers it; None when that mount is not a bind mount (its content is the runtime's)."""
    best: Mapping[str, Any] | None = None
    for m in mounts:
        d = os.path.normpath(str(m.get("destination", "/")))
        if (path == d or path.startswith(d.rstrip("/") + "/")) and (
            best is None or len(d) >= len(os.path.normpath(str(best.get("destination", "/"))))
        ):
            best = m
    if best is None:
        return secure_join(root, path)
    if best.get("type") != "bind" and "bind" not in (best.get("options") or ()) and "rbind" not in (
        best.get("options") or ()
    ):
        return None
    d = os.path.normpath(str(best["destination"]))
    rest = path[len(d):].lstrip("/")
    source = Path(str(best.get("source", "")))
    return secure_join(source, rest) if rest else source


def find_executable(root: Path, name: str, path_env: str, cwd: str,
                    mounts: Sequence[Mapping[str, Any]] = ()) -> None:  # fmt: skip
    """podman's 127 / 126 for a command that is missing or not executable in the container.

    MOUNTS (the OCI config's) are looked through: a command from a bind mount or volume is
    found in its source; one under any other mount (tmpfs, proc, ...) is left to the runtime.
    """
    if "/" in name:
        candidates = [name if name.startswith("/") else os.path.join(cwd, name)]
    else:
        candidates = [os.path.join(d or "/", name) for d in path_env.split(":")]
    for c in candidates:
        p = _through_mounts(root, os.path.normpath("/" + c.lstrip("/")), mounts)
        if p is None:
            return
        if p.is_file():
            if os.access(p, os.X_OK):
                return
            raise CannotInvoke(f"{name}: permission denied: OCI permission denied")
    if "/" in name:
        raise CommandNotFound(f"{name}: no such file or directory: OCI runtime attempted to "
                              "invoke a command that was not found")  # fmt: skip
    raise CommandNotFound(f'executable file "{name}" not found in $PATH: No such file or '
                          "directory: OCI runtime attempted to invoke a command that was not found")  # fmt: skip
