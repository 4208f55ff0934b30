"""Safe, streaming layer unpacking into a directory kernel overlay can use as a lowerdir.

Runs inside the user namespace (the caller joins it first) so tar owners land as the mapped
subordinate ids. Whiteouts (`.wh.NAME`) become 0:0 character devices and opaque markers
(`.wh..wh..opq`) become the `user.overlay.opaque=y` xattr, the `userxattr` overlay format.

Nothing may land outside the target: entries with `..` that climb out, absolute names, entries
below a symlink, and hardlinks that point out are rejected (the caller discards the whole
directory). Device nodes are skipped with a warning: a rootless user cannot create them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from podctl.errors import StoreError
from podctl.log import warn

CHUNK = 1 << 20
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "user.overlay.opaque"


class UnsafeLayer(StoreError):
    """A layer tries to write outside its directory or is otherwise malformed."""


class HashingReader:
    """A read-only stream that hashes (and counts) everything read through it."""

    def __init__(self, raw: IO[bytes] | Any, on_data: Callable[[bytes], None] | None = None) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.count = 0
        self.on_data = on_data

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n if n is not None and n >= 0 else CHUNK)
        if data:
            self.hash.update(data)
            self.count += len(data)
            if self.on_data:
                self.on_data(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


class GzipReader:
    """Streaming gzip decompression (multi-member) with bounded output per step.

    Each step inflates at most STEP bytes, so memory stays small whatever the compression ratio,
    and reads are served from an offset into the current chunk (no quadratic re-slicing).
    """

    STEP = 1 << 18

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""
        self.buf = b""
        self.pos = 0
        self.eof = False

    def _more(self) -> bytes:
        """The next piece of output, b"" at the end of the stream."""
        while True:
            if not self.pending:
                if self.d.eof and not self.d.unused_data:
                    chunk = self.raw.read(CHUNK)
                    if not chunk:
                        return b""
                    self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another gzip member
                    self.pending = chunk
                else:
                    self.pending = self.d.unused_data or self.raw.read(CHUNK)
                    if self.d.unused_data:
                        self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    if not self.pending:
                        raise StoreError("unexpected end of gzip stream (truncated layer)")
            try:
                out = self.d.decompress(self.pending, self.STEP)
            except zlib.error as e:
                raise StoreError(f"invalid gzip data in layer: {e}") from e
            self.pending = self.d.unconsumed_tail
            if out:
                return out

    def read(self, n: int = -1) -> bytes:
        n = n if n is not None and n >= 0 else CHUNK
        avail = len(self.buf) - self.pos
        if avail >= n:
            self.pos += n
            return self.buf[self.pos - n : self.pos]
        parts = [self.buf[self.pos :]] if avail else []
        got = avail
        self.buf, self.pos = b"", 0
        while got < n and not self.eof:
            out = self._more()
            if not out:
                self.eof = True
                break
            need = n - got
            if len(out) > need:
                parts.append(out[:need])
                self.buf, self.pos = out, need
                got = n
                break
            parts.append(out)
            got += len(out)
        return b"".join(parts)


def decompressor(media_type: str, raw: Any) -> Any:
    """A reader of the uncompressed tar for a layer of MEDIA_TYPE."""
    mt = media_type.lower()
    if mt.endswith("+zstd") or mt.endswith(".zstd"):
        try:
            import zstandard
        except ImportError as e:
            raise StoreError("zstd layers need the zstandard package (pip install zstandard)") from e
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if mt.endswith("gzip") or mt.endswith(".tar.gzip") or "gzip" in mt:
        return GzipReader(raw)
    return raw


@dataclass
class UnpackStats:
    size: int = 0  # bytes of the uncompressed tar (podman's layer size)
    file_bytes: int = 0  # bytes of file data written
    diff_id: str = ""


def _clean(name: str, what: str) -> str:
    """The entry's path relative to the layer root; UnsafeLayer if it would leave it."""
    if name.startswith("/"):
        raise UnsafeLayer(f"layer entry {name!r}: absolute {what}")
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise UnsafeLayer(f"layer entry {name!r}: {what} leaves the layer (..)")
            parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def _real_root() -> bool:
    from podctl.rootless.userns import is_host_root

    return is_host_root()


class Unpacker:
    def __init__(self, dest: Path, *, chown: bool = True, devices: bool | None = None) -> None:
        self.dest = dest
        self.root_fd = str(dest)
        self.chown = chown
        # Device nodes can only be made by real root; a rootless user skips them.
        self.devices = _real_root() if devices is None else devices
        self.known_dirs: set[str] = {""}
        self.dir_times: list[tuple[str, int]] = []
        self.stats = UnpackStats()
        self.skipped_devices = 0

    def _path(self, rel: str) -> str:
        return os.path.join(self.root_fd, rel) if rel else self.root_fd

    def _parent_ok(self, rel: str, name: str) -> None:
        """Make the parents of REL real directories; refuse to go through a symlink."""
        parent = rel.rpartition("/")[0]
        if parent in self.known_dirs:
            return
        cur = ""
        for comp in parent.split("/"):
            cur = f"{cur}/{comp}" if cur else comp
            if cur in self.known_dirs:
                continue
            p = self._path(cur)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                os.mkdir(p, 0o755)
                self.known_dirs.add(cur)
                continue
            if stat.S_ISLNK(st.st_mode):
                raise UnsafeLayer(f"layer entry {name!r} goes through the symlink {cur!r}")
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeLayer(f"layer entry {name!r}: {cur!r} is not a directory")
            self.known_dirs.add(cur)

    def _remove(self, rel: str) -> None:
        p = self._path(rel)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            import shutil

            shutil.rmtree(p)
            self.known_dirs = {d for d in self.known_dirs if d != rel and not d.startswith(rel + "/")}
        else:
            os.unlink(p)

    def _owner(self, p: str, ti: tarfile.TarInfo) -> None:
        if not self.chown:
            return
        try:
            os.lchown(p, ti.uid, ti.gid)
        except OSError as e:
            raise StoreError(
                f"layer entry {ti.name!r}: cannot set owner {ti.uid}:{ti.gid}: {e.strerror} "
                "(potentially insufficient UIDs or GIDs available in the user namespace)"
            ) from e

    def _xattrs(self, p: str, ti: tarfile.TarInfo) -> None:
        for key, value in (ti.pax_headers or {}).items():
            if not key.startswith("SCHILY.xattr."):
                continue
            attr = key[len("SCHILY.xattr.") :]
            if not attr.startswith(("user.", "security.capability")) or attr.startswith("user.overlay."):
                continue
            try:
                os.setxattr(p, attr, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError:
                pass

    def entry(self, tf: tarfile.TarFile, ti: tarfile.TarInfo) -> None:
        rel = _clean(ti.name, "path")
        if not rel:
            if ti.isdir():
                self._meta(self.root_fd, ti, is_dir=True, rel="")
            return
        self._parent_ok(rel, ti.name)
        parent, _, base = rel.rpartition("/")
        if base == OPAQUE:
            os.setxattr(self._path(parent), OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX):
            target = f"{parent}/{base[len(WHITEOUT_PREFIX):]}" if parent else base[len(WHITEOUT_PREFIX):]
            if not target or target.endswith("/..") or base[len(WHITEOUT_PREFIX):] in ("", ".", ".."):
                raise UnsafeLayer(f"layer entry {ti.name!r}: invalid whiteout")
            self._remove(target)
            os.mknod(self._path(target), stat.S_IFCHR | 0o000, os.makedev(0, 0))
            self._owner(self._path(target), ti)
            return
        p = self._path(rel)
        if ti.isdir():
            try:
                st = os.lstat(p)
                if not stat.S_ISDIR(st.st_mode):
                    self._remove(rel)
                    os.mkdir(p, 0o700)
            except FileNotFoundError:
                os.mkdir(p, 0o700)
            self.known_dirs.add(rel)
            self._meta(p, ti, is_dir=True, rel=rel)
            return
        self._remove(rel)
        if ti.isreg():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:
                src = tf.extractfile(ti)
                if src is not None:
                    remaining = ti.size
                    while remaining > 0:
                        chunk = src.read(min(CHUNK, remaining))
                        if not chunk:
                            raise StoreError(f"layer entry {ti.name!r}: unexpected end of data")
                        out.write(chunk)
                        remaining -= len(chunk)
            self.stats.file_bytes += ti.size
        elif ti.issym():
            os.symlink(ti.linkname, p)
        elif ti.islnk():
            target = _clean(ti.linkname, "hardlink target")
            if not target:
                raise UnsafeLayer(f"layer entry {ti.name!r}: hardlink to the layer root")
            self._parent_ok(target, ti.linkname)
            tp = self._path(target)
            try:
                tst = os.lstat(tp)
            except FileNotFoundError as e:
                raise UnsafeLayer(
                    f"layer entry {ti.name!r}: hardlink target {ti.linkname!r} is not in the layer"
                ) from e
            if stat.S_ISDIR(tst.st_mode):
                raise UnsafeLayer(f"layer entry {ti.name!r}: hardlink to a directory")
            os.link(tp, p, follow_symlinks=False)
            return  # the link shares the target's metadata
        elif ti.isfifo():
            os.mkfifo(p, 0o600)
        elif (ti.ischr() or ti.isblk()) and self.devices:
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            os.mknod(p, kind | 0o600, os.makedev(ti.devmajor, ti.devminor))
        elif ti.ischr() or ti.isblk():
            self.skipped_devices += 1
            warn("skipping device node %s in layer (not allowed in rootless mode)", rel)
            return
        else:
            warn("skipping layer entry %s of unknown type %r", rel, ti.type)
            return
        self._meta(p, ti, is_dir=False, rel=rel)

    def _meta(self, p: str, ti: tarfile.TarInfo, *, is_dir: bool, rel: str) -> None:
        self._owner(p, ti)
        self._xattrs(p, ti)
        if not ti.issym():
            os.chmod(p, ti.mode & 0o7777)
        if is_dir:
            self.dir_times.append((p, int(ti.mtime)))
        else:
            try:
                os.utime(p, (ti.mtime, ti.mtime), follow_symlinks=False)
            except OSError:
                pass

    def finish(self) -> None:
        for p, mtime in reversed(self.dir_times):
            try:
                os.utime(p, (mtime, mtime), follow_symlinks=False)
            except OSError:
                pass


def unpack_stream(tar_stream: Any, dest: Path, *, chown: bool = True,
                  devices: bool | None = None) -> UnpackStats:  # fmt: skip
    """Unpack the uncompressed tar read from TAR_STREAM into DEST (which must exist, empty).

    Returns the diff_id (sha256 of the whole uncompressed stream) and the bytes written.
    """
    hashing = HashingReader(tar_stream)
    unpacker = Unpacker(dest, chown=chown, devices=devices)
    try:
        with tarfile.open(fileobj=hashing, mode="r|", errorlevel=2, bufsize=CHUNK) as tf:  # type: ignore[call-overload]
            for ti in tf:
                unpacker.entry(tf, ti)
    except tarfile.TarError as e:
        raise StoreError(f"invalid layer tar: {e}") from e
    except EOFError as e:
        raise StoreError(f"layer tar ends unexpectedly: {e}") from e
    except OSError as e:
        raise StoreError(f"unpacking layer into {dest}: {e}") from e
    hashing.drain()
    unpacker.finish()
    unpacker.stats.diff_id = hashing.digest
    unpacker.stats.size = hashing.count
    return unpacker.stats
