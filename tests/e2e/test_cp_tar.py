"""`cp CTR:PATH -` and `cp - CTR:DIR`: tar archives on stdout and stdin, as podman's, for real
as the test user; an archive cannot write outside the directory it is unpacked in."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e


def _cp(podctl: Podctl, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(podctl.user.argv(podctl.argv("cp", *args)), env=podctl.user.env(podctl.env),
                          input=data if data is not None else b"", capture_output=True, timeout=60, cwd="/")  # fmt: skip


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, uid: int = 0,
            linkname: str = "") -> tarfile.TarInfo:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, uid, linkname
    return info


def test_tar_out_and_in(podctl: Podctl) -> None:
    podctl.ok("run", "-d", "--name", "cpt", BUSYBOX, "sleep", "600")
    podctl.ok("exec", "cpt", "sh", "-c", "mkdir -p /d/sub && echo one > /d/a && echo two > /d/sub/b "
              "&& ln -s a /d/link && chown 1000:1000 /d/sub/b")  # fmt: skip
    # Out: the directory with everything under it, the container's numeric owners, links kept.
    p = _cp(podctl, "cpt:/d", "-")
    assert p.returncode == 0, p.stderr
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
        got = {m.name: m for m in tar.getmembers()}
        assert set(got) == {"d", "d/a", "d/sub", "d/sub/b", "d/link"}
        assert got["d/link"].issym() and got["d/link"].linkname == "a"
        assert (got["d/sub/b"].uid, got["d/sub/b"].gid) == (1000, 1000)
        assert tar.extractfile("d/sub/b").read() == b"two\n"  # type: ignore[union-attr]
    # PATH/. gives the contents; a single file is one member.
    with tarfile.open(fileobj=io.BytesIO(_cp(podctl, "cpt:/d/.", "-").stdout)) as tar:
        assert sorted(tar.getnames()) == ["a", "link", "sub", "sub/b"]
    with tarfile.open(fileobj=io.BytesIO(_cp(podctl, "cpt:/d/a", "-").stdout)) as tar:
        assert tar.getnames() == ["a"]

    # In: files, directories, a symlink, owners and modes, into an existing directory.
    archive = _tar((_member("new", tarfile.DIRTYPE, 0o750), None),
                   (_member("new/f.sh", mode=0o755, uid=1000), b"#!/bin/sh\necho ran\n"),
                   (_member("new/l", tarfile.SYMTYPE, linkname="f.sh"), None))  # fmt: skip
    p = _cp(podctl, "-", "cpt:/tmp", data=archive)
    assert p.returncode == 0, p.stderr
    assert podctl.ok("exec", "cpt", "/tmp/new/l") == "ran\n"
    assert podctl.ok("exec", "cpt", "stat", "-c", "%a %u:%g", "/tmp/new", "/tmp/new/f.sh").split("\n")[:2] == [
        "750 0:0", "755 1000:1000"]  # fmt: skip


def test_tar_in_stays_inside_and_bad_input_is_named(podctl: Podctl) -> None:
    podctl.ok("run", "-d", "--name", "cpx", BUSYBOX, "sleep", "600")
    podctl.ok("exec", "cpx", "sh", "-c", "mkdir /dst && ln -s /etc /dst/esc")
    # A symlink in the container pointing away: the member lands in the rootfs, resolved as
    # the container would (/etc inside it), never on the host.
    p = _cp(podctl, "-", "cpx:/dst", data=_tar((_member("esc/planted"), b"x\n")))
    assert p.returncode == 0, p.stderr
    assert podctl.ok("exec", "cpx", "cat", "/etc/planted") == "x\n"
    # `..` is refused, naming the member; nothing of it is written.
    p = _cp(podctl, "-", "cpx:/dst", data=_tar((_member("../../outside"), b"x\n")))
    assert p.returncode != 0 and b"'../../outside'" in p.stderr and b"'..'" in p.stderr
    assert podctl.run("exec", "cpx", "test", "-e", "/outside").returncode == 1
    # Not a tar; a destination that is not a directory; a missing container.
    p = _cp(podctl, "-", "cpx:/dst", data=b"not a tar archive at all" * 100)
    assert p.returncode != 0 and b"not a tar archive" in p.stderr
    p = _cp(podctl, "-", "cpx:/etc/hostname", data=_tar((_member("f"), b"x")))
    assert p.returncode != 0 and b"must be an existing directory" in p.stderr
    p = _cp(podctl, "nosuch:/etc", "-")
    assert p.returncode != 0 and b"nosuch" in p.stderr
    podctl.ok("rm", "-f", "cpx")
