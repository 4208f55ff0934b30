"""Container root filesystems: kernel overlay, else fuse-overlayfs, else a private copy.

All of it runs inside the user's namespace (userns.join): the overlay is mounted in the pause
process's mount namespace, so it stays mounted between podctl commands and every process of
the user (runc, conmon, `podctl cp`) sees it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from podctl.errors import RuntimeFailed, StoreError
from podctl.log import log
from podctl.runtime.paths import ContainerPaths


class Driver(StrEnum):
    OVERLAY = "overlay"
    FUSE = "fuse-overlayfs"
    COPY = "copy"


def prepare_dirs(paths: ContainerPaths) -> None:
    for d in (paths.upper, paths.work, paths.merged, paths.userdata):
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The container's root user must be able to traverse to its rootfs.
    paths.upper.chmod(0o755)
    paths.merged.chmod(0o755)


def is_mounted(path: Path) -> bool:
    target = str(path).encode()
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split(b" ", 6)
                if len(fields) > 4 and _unescape(fields[4]) == target:
                    return True
    except OSError:
        return False
    return False


def _unescape(b: bytes) -> bytes:
    if b"\\" not in b:
        return b
    return b.decode("unicode_escape").encode("latin-1")


def _overlay_options(layers: Sequence[Path], paths: ContainerPaths, extra: str) -> str:
    for p in (*layers, paths.upper, paths.work):
        if ":" in str(p) or "," in str(p):
            raise StoreError(f"{p}: overlay paths must not contain ':' or ','")
    lower = ":".join(str(p) for p in reversed(layers))  # overlay wants the top layer first
    return f"lowerdir={lower},upperdir={paths.upper},workdir={paths.work}{extra}"


def mount(paths: ContainerPaths, layers: Sequence[Path], preferred: str = "", *, fallback: bool = True) -> Driver:
    """Mount the rootfs at paths.merged; return the driver that worked.

    PREFERRED (the driver this container used before) is tried first; without FALLBACK it is
    the only one tried.
    """
    if not layers:
        raise StoreError("the image has no layers to mount")
    prepare_dirs(paths)
    if is_mounted(paths.merged):
        return Driver(preferred) if preferred in Driver.__members__.values() else Driver.OVERLAY
    order = [Driver.OVERLAY, Driver.FUSE, Driver.COPY]
    if preferred in (Driver.FUSE, Driver.COPY):
        order.remove(Driver(preferred))
        order.insert(0, Driver(preferred))
    if not fallback and preferred:
        order = [Driver(preferred)]
    errors: list[str] = []
    for drv in order:
        try:
            if drv == Driver.OVERLAY:
                from podctl.rootless import kernel  # ctypes: not for `pod create`'s prepare_dirs

                opts = _overlay_options(layers, paths, ",userxattr")
                kernel.mount("overlay", str(paths.merged), "overlay", 0, opts)
            elif drv == Driver.FUSE:
                from podctl import run as gateway

                fuse = gateway.which("fuse-overlayfs")
                if not fuse:
                    raise RuntimeFailed("fuse-overlayfs is not installed")
                opts = _overlay_options(layers, paths, "")
                gateway.run([fuse, "-o", opts, str(paths.merged)])
            else:
                _copy_rootfs(layers, paths.merged)
            if errors:
                log.info("rootfs: using %s (%s)", drv, "; ".join(errors))
            return drv
        except (OSError, RuntimeFailed) as e:
            errors.append(f"{drv}: {e}")
    raise StoreError("cannot mount the container rootfs: " + "; ".join(errors))


def umount(paths: ContainerPaths, driver: str = "") -> None:
    if driver != Driver.COPY:
        umount_path(paths.merged)


def umount_path(path: Path) -> None:
    if not is_mounted(path):
        return
    from podctl.rootless import kernel

    try:
        kernel.umount(str(path), kernel.MNT_DETACH)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise StoreError(f"cannot unmount {path}: {e}") from e


def remove(paths: ContainerPaths, driver: str = "") -> None:
    import shutil

    umount(paths, driver)
    for d in (paths.storage, paths.bundle):
        shutil.rmtree(d, ignore_errors=True)
    try:
        paths.exit_file.unlink()
    except FileNotFoundError:
        pass


def _copy_rootfs(layers: Sequence[Path], dest: Path) -> None:
    """The last fallback: apply the layers one over the other into DEST (whiteouts honoured)."""
    import shutil

    if any(dest.iterdir()):
        return
    for layer in layers:
        for dirpath, dirnames, filenames in os.walk(layer):
            rel = Path(dirpath).relative_to(layer)
            target_dir = dest / rel
            if _is_opaque(Path(dirpath)) and rel != Path("."):
                shutil.rmtree(target_dir, ignore_errors=True)
            target_dir.mkdir(exist_ok=True)
            shutil.copystat(dirpath, target_dir, follow_symlinks=False)
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                src = Path(dirpath) / name
                dst = target_dir / name
                st = src.lstat()
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # overlay whiteout
                    if dst.is_dir() and not dst.is_symlink():
                        shutil.rmtree(dst, ignore_errors=True)
                    else:
                        dst.unlink(missing_ok=True)
                    continue
                if dst.is_dir() and not dst.is_symlink():
                    shutil.rmtree(dst)
                elif dst.exists() or dst.is_symlink():
                    dst.unlink()
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                else:
                    shutil.copy2(src, dst, follow_symlinks=False)
                os.lchown(dst, st.st_uid, st.st_gid)


def _is_opaque(path: Path) -> bool:
    for attr in ("user.overlay.opaque", "trusted.overlay.opaque"):
        try:
            if os.getxattr(path, attr) == b"y":
                return True
        except OSError:
            continue
    return False
