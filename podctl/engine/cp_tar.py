"""`cp CTR:PATH -` and `cp - CTR:DIR`: a tar stream on stdout or stdin, as podman's.

Writing: PATH (a file, a directory with everything under it, or the contents of a directory
for PATH/.) as the container sees it, with its numeric owners. Reading: every member lands
under DIR, resolved inside the container's rootfs (symlinks in it cannot lead outside); a
member that is absolute loses its leading `/`, one with a `..` component is refused, and
devices are skipped (a rootless user cannot create them), as tar does for an unprivileged user.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from podctl.errors import InvalidSpec, NotFound
from podctl.log import warn

# (container path) -> host path of it, symlinks resolved inside the container
Resolve = Callable[[str], Path]


def write(source: Path, name: str, contents_only: bool, out: IO[bytes]) -> None:
    """Tar SOURCE (host path of the container's NAME) to OUT."""

    def plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uname = info.gname = ""  # the host's names for the container's ids would mislead
        return info

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if contents_only and source.is_dir() and not source.is_symlink():
            for child in sorted(os.listdir(source)):
                tar.add(source / child, arcname=child, filter=plain)
        else:
            tar.add(source, arcname=os.path.basename(name.rstrip("/")) or "/", filter=plain)


def extract(stream: IO[bytes], dest: str, ctr: str, resolve: Resolve) -> int:
    """Unpack the tar on STREAM under the container's directory DEST; the member count."""
    base = resolve(dest)
    if not base.is_dir():
        raise NotFound(f'"{dest}" could not be found on container {ctr}: it must be an existing '
                       "directory when copying from stdin")  # fmt: skip
    count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                _extract_one(tar, member, dest, resolve)
                count += 1
    except tarfile.ReadError as e:
        raise InvalidSpec(f"cp -: stdin is not a tar archive: {e}") from e
    return count


def _inside(dest: str, name: str) -> str:
    parts = [p for p in name.split("/") if p and p != "."]
    if ".." in parts:
        raise InvalidSpec(f"cp -: archive member {name!r} has a '..' component: refused")
    return "/".join([dest.rstrip("/"), *parts]) if parts else dest


def _extract_one(tar: tarfile.TarFile, m: tarfile.TarInfo, dest: str, resolve: Resolve) -> None:
    path = _inside(dest, m.name)
    parent, leaf = os.path.split(path.rstrip("/"))
    target = resolve(path) if not leaf else resolve(parent or "/") / leaf
    if m.isdir():
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        target.mkdir(exist_ok=True)
        os.chmod(target, m.mode & 0o7777)
        _owner(target, m)
        return
    if target.is_dir() and not target.is_symlink():
        raise InvalidSpec(f"cp -: archive member {m.name!r} would replace the directory {path}")
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    if m.isreg():
        src = tar.extractfile(m)
        assert src is not None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            while chunk := src.read(1 << 20):
                f.write(chunk)
            os.fchmod(f.fileno(), m.mode & 0o7777)
        os.utime(target, (m.mtime, m.mtime), follow_symlinks=False)
    elif m.issym():
        os.symlink(m.linkname, target)
    elif m.islnk():
        os.link(resolve(_inside(dest, m.linkname)), target, follow_symlinks=False)
    elif m.isfifo():
        os.mkfifo(target, m.mode & 0o7777)
    else:
        warn(f"cp -: skipping {m.name}: device files cannot be created without privileges")
        return
    _owner(target, m)


def _owner(target: Path, m: tarfile.TarInfo) -> None:
    with contextlib.suppress(OSError):  # an id outside the user namespace's range
        os.lchown(target, m.uid, m.gid)
