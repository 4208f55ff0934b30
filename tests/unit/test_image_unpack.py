"""Layer unpacking: overlay whiteouts, opaque dirs, compression, and malicious layers rejected."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from podctl.errors import StoreError
from podctl.image.oci_layout import Layer
from podctl.image.unpack import UnsafeLayer, decompressor, unpack_stream


def unpack(tmp_path: Path, data: bytes, media_type: str = "application/vnd.oci.image.layer.v1.tar") -> Path:
    dest = tmp_path / "layer"
    dest.mkdir()
    stats = unpack_stream(decompressor(media_type, io.BytesIO(data)), dest, chown=False)
    return dest if stats.diff_id else dest


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    ti.mode = 0o644
    return ti


def test_files_links_modes_and_diff_id(tmp_path: Path) -> None:
    layer = Layer(mtime=1000)
    layer.dir("etc").file("etc/conf", "x=1", mode=0o600).file("bin/tool", "#!", mode=0o4755)
    layer.symlink("etc/link", "/etc/conf").hardlink("etc/hard", "etc/conf")
    data = layer.tar_bytes()
    dest = tmp_path / "l"
    dest.mkdir()
    stats = unpack_stream(io.BytesIO(data), dest, chown=False)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stats.size == len(data)
    assert (dest / "etc/conf").read_text() == "x=1"
    assert stat.S_IMODE((dest / "etc/conf").stat().st_mode) == 0o600
    assert stat.S_IMODE((dest / "bin/tool").stat().st_mode) == 0o4755
    assert os.readlink(dest / "etc/link") == "/etc/conf"
    assert (dest / "etc/hard").stat().st_ino == (dest / "etc/conf").stat().st_ino
    assert (dest / "etc").stat().st_mtime == 1000


def test_whiteout_and_opaque_userxattr_format(tmp_path: Path) -> None:
    layer = Layer().dir("a").opaque("a").file("a/new", "n").whiteout("gone").whiteout("a/old")
    dest = unpack(tmp_path, layer.tar_bytes())
    for name in ("gone", "a/old"):
        st = os.lstat(dest / name)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(dest / "a", "user.overlay.opaque") == b"y"
    assert not (dest / "a/.wh..wh..opq").exists() and not (dest / ".wh.gone").exists()


def test_gzip_and_zstd_layers(tmp_path: Path) -> None:
    import zstandard

    data = Layer().file("f", "hello" * 1000).tar_bytes()
    gz = gzip.compress(data)
    d1 = tmp_path / "gz"
    d1.mkdir()
    s1 = unpack_stream(decompressor("application/vnd.oci.image.layer.v1.tar+gzip", io.BytesIO(gz)), d1, chown=False)
    zs = zstandard.ZstdCompressor().compress(data)
    d2 = tmp_path / "zs"
    d2.mkdir()
    s2 = unpack_stream(decompressor("application/vnd.oci.image.layer.v1.tar+zstd", io.BytesIO(zs)), d2, chown=False)
    assert s1.diff_id == s2.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (d1 / "f").read_text() == (d2 / "f").read_text()
    d3 = tmp_path / "trunc"
    d3.mkdir()
    with pytest.raises(StoreError, match="truncated|unexpected end"):
        unpack_stream(decompressor("application/vnd.oci.image.layer.v1.tar+gzip", io.BytesIO(gz[:-20])), d3, chown=False)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([entry("../escape")], "leaves the layer"),
        ([entry("a/../../escape")], "leaves the layer"),
        ([entry("/etc/passwd")], "absolute"),
        ([entry("link", tarfile.SYMTYPE, "/tmp"), entry("link/escape")], "through the symlink"),
        ([entry("d", tarfile.DIRTYPE), entry("d/up", tarfile.SYMTYPE, "../.."), entry("d/up/x")],
         "through the symlink"),
        ([entry("hard", tarfile.LNKTYPE, "../../etc/passwd")], "leaves the layer"),
        ([entry("hard", tarfile.LNKTYPE, "/etc/passwd")], "absolute"),
        ([entry("link", tarfile.SYMTYPE, "/etc"), entry("hard", tarfile.LNKTYPE, "link/passwd")],
         "through the symlink"),
        ([entry("hard", tarfile.LNKTYPE, "not-there")], "not in the layer"),
    ],
)
def test_malicious_layers_rejected(tmp_path: Path, entries: list[tarfile.TarInfo], message: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    layer = Layer()
    for ti in entries:
        layer.raw(ti, b"pwned" if ti.type == tarfile.REGTYPE else None)
    dest = tmp_path / "base" / "layer"
    dest.mkdir(parents=True)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(UnsafeLayer, match=message):
        unpack_stream(io.BytesIO(layer.tar_bytes()), dest, chown=False)
    after = set(tmp_path.rglob("*"))
    assert {p for p in after - before if dest not in p.parents} == set()
    assert not any(p.name == "escape" for p in after)
    assert list(outside.iterdir()) == []


def test_file_replacing_symlink_does_not_follow(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("original")
    layer = Layer()
    layer.raw(entry("f", tarfile.SYMTYPE, str(target)))
    layer.raw(entry("f"), b"overwritten")
    dest = unpack(tmp_path, layer.tar_bytes())
    assert target.read_text() == "original"
    assert (dest / "f").read_text() == "overwritten" and not (dest / "f").is_symlink()


def test_device_nodes_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from podctl import log

    monkeypatch.setattr(log.log, "level", log.WARNING)  # an earlier in-process CLI test may change it
    ti = entry("dev/sda", tarfile.BLKTYPE)
    ti.devmajor, ti.devminor = 8, 0
    layer = Layer().dir("dev").raw(ti)
    dest = tmp_path / "rootless"
    dest.mkdir()
    unpack_stream(io.BytesIO(layer.tar_bytes()), dest, chown=False, devices=False)
    assert not (dest / "dev/sda").exists()
    assert "WARNING: skipping device node dev/sda" in capsys.readouterr().err
    # Real root (rootful) makes them.
    rootful = tmp_path / "rootful"
    rootful.mkdir()
    unpack_stream(io.BytesIO(layer.tar_bytes()), rootful, chown=False, devices=True)
    st = os.lstat(rootful / "dev/sda")
    assert stat.S_ISBLK(st.st_mode) and st.st_rdev == os.makedev(8, 0)


def test_gzip_reader_multi_member_and_small_reads() -> None:
    from podctl.image.unpack import GzipReader

    data = os.urandom(300_000) + b"x" * 2_000_000
    stream = gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    r = GzipReader(io.BytesIO(stream))
    out = bytearray()
    sizes = [1, 10240, 7, 1 << 20]
    i = 0
    while chunk := r.read(sizes[i % len(sizes)]):
        out += chunk
        i += 1
    assert bytes(out) == data
