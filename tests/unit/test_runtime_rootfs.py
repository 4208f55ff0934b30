"""The copy fallback applies layers like overlay does: whiteouts remove, opaque dirs hide."""

from __future__ import annotations

import os
from pathlib import Path

from podctl.runtime import rootfs
from podctl.runtime.paths import ContainerPaths


def test_copy_rootfs_honours_whiteouts_and_opaque_dirs(tmp_path: Path) -> None:
    l1, l2 = tmp_path / "l1", tmp_path / "l2"
    (l1 / "d").mkdir(parents=True)
    (l1 / "d" / "gone").write_text("1")
    (l1 / "keep").write_text("k")
    (l1 / "opq").mkdir()
    (l1 / "opq" / "old").write_text("o")
    (l1 / "link").symlink_to("keep")
    (l2 / "d").mkdir(parents=True)
    os.mknod(l2 / "d" / "gone", 0o20000, os.makedev(0, 0))  # overlay whiteout
    (l2 / "opq").mkdir()
    os.setxattr(l2 / "opq", "user.overlay.opaque", b"y")
    (l2 / "opq" / "new").write_text("n")
    (l2 / "keep").write_text("k2")
    paths = ContainerPaths(id="t", storage=tmp_path / "c", bundle=tmp_path / "b",
                           exits=tmp_path / "e", runc_root=tmp_path / "r")  # fmt: skip
    assert rootfs.mount(paths, [l1, l2], "copy", fallback=False) == rootfs.Driver.COPY
    got = sorted(str(p.relative_to(paths.merged)) for p in paths.merged.rglob("*"))
    assert got == ["d", "keep", "link", "opq", "opq/new"]
    assert (paths.merged / "keep").read_text() == "k2"
    assert os.readlink(paths.merged / "link") == "keep"
    rootfs.umount(paths, "copy")  # nothing mounted: a no-op
    assert not rootfs.is_mounted(paths.merged)
