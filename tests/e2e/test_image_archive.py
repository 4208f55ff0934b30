"""save, load, import, push and system df, for real as the test user."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl
from image_helpers import insecure, unique

from podctl.image.client import RegistryClient

pytestmark = pytest.mark.e2e


def owned(podctl: Podctl, path: Path) -> Path:
    os.chown(path, podctl.user.uid, podctl.user.gid)
    return path


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_roundtrip(podctl: Podctl, registry: str, fmt: str) -> None:
    insecure(podctl)
    image_id = podctl.ok("pull", "-q", BUSYBOX).strip()
    podctl.ok("tag", BUSYBOX, "localhost/second:v2")
    out = podctl.root / "save.tar"
    podctl.ok("save", "--format", fmt, "-o", str(out), BUSYBOX)
    with tarfile.open(out) as tf:
        names = tf.getnames()
    if fmt == "docker-archive":
        assert "manifest.json" in names and f"{image_id}.json" in names
        with tarfile.open(out) as tf:
            manifest = json.loads(tf.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert manifest[0]["RepoTags"] == [BUSYBOX]
    else:
        assert "index.json" in names and "oci-layout" in names
    podctl.ok("rmi", "-f", image_id)
    assert podctl.json("images", "--format", "json") == []
    assert podctl.ok("load", "-i", str(out)).strip() == f"Loaded image: {BUSYBOX}"
    data = podctl.json("image", "inspect", BUSYBOX)[0]
    assert data["Id"] == image_id
    assert podctl.run("system", "check").stdout.strip() == "No errors found"
    # Loading from stdin, gzip-compressed, gives the same image again.
    gz = podctl.root / "save.tar.gz"
    gz.write_bytes(gzip.compress(out.read_bytes(), compresslevel=1))
    owned(podctl, gz)
    p = podctl.user.run(["sh", "-c", f"{' '.join(podctl.argv('load'))} < {gz}"], env=podctl.env)
    assert p.returncode == 0 and BUSYBOX in p.stdout, p.stderr


def test_save_stdout_and_load_rejects_garbage(podctl: Podctl, registry: str) -> None:
    insecure(podctl)
    podctl.ok("pull", "-q", BUSYBOX)
    out = podctl.root / "out.tar"
    p = podctl.user.run(["sh", "-c", f"{' '.join(podctl.argv('save', BUSYBOX))} > {out}"], env=podctl.env)
    assert p.returncode == 0, p.stderr
    with tarfile.open(out) as tf:
        assert "manifest.json" in tf.getnames()
    bad = podctl.root / "bad.tar"
    bad.write_bytes(b"this is not a tarball")
    owned(podctl, bad)
    p = podctl.run("load", "-i", str(bad))
    assert p.returncode == 125 and "not a docker-archive or oci-archive" in p.stderr
    p = podctl.run("load", "-i", str(podctl.root / "missing.tar"))
    assert p.returncode == 125 and "no such file" in p.stderr


def test_import_with_changes(podctl: Podctl) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in {"etc/hello": b"hi\n", "bin/tool": b"#!/bin/sh\n"}.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    src = podctl.root / "rootfs.tar.gz"
    src.write_bytes(gzip.compress(buf.getvalue()))
    owned(podctl, src)
    out = podctl.ok(
        "import", "-c", 'CMD ["/bin/tool", "x"]', "-c", "ENV A=1", "-c", "ENTRYPOINT /bin/sh",
        "-c", "LABEL team=core", "-c", "EXPOSE 8080", "-c", "USER 1000", "-c", "WORKDIR /etc",
        "-m", "imported", str(src), "imported:v1",
    )  # fmt: skip
    image_id = out.strip().removeprefix("sha256:")
    data = podctl.json("image", "inspect", "imported:v1")[0]
    assert data["Id"] == image_id and data["RepoTags"] == ["localhost/imported:v1"]
    cfg = data["Config"]
    assert cfg["Cmd"] == ["/bin/tool", "x"] and cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh"]
    assert cfg["Env"] == ["A=1"] and cfg["Labels"] == {"team": "core"}
    assert cfg["ExposedPorts"] == {"8080/tcp": {}} and cfg["User"] == "1000" and cfg["WorkingDir"] == "/etc"
    assert data["Comment"] == "imported"
    p = podctl.run("import", "-c", "FROM x", str(src))
    assert p.returncode == 125 and "unsupported instruction 'FROM'" in p.stderr
    assert len(podctl.json("images", "--format", "json")) == 1


def test_push_skips_present_blobs_and_df(podctl: Podctl, registry: str) -> None:
    insecure(podctl)
    podctl.ok("pull", "-q", BUSYBOX)
    dest = unique("pushed") + ":v1"
    digest_file = podctl.root / "digest"
    podctl.ok("push", "--digestfile", str(digest_file), BUSYBOX, dest)
    host, _, rest = dest.partition("/")
    repo, _, tag = rest.rpartition(":")
    raw, _ = RegistryClient(host, insecure=True).get_manifest(repo, tag)
    import hashlib

    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest_file.read_text()
    p = podctl.run("push", BUSYBOX, "notqualified")
    assert p.returncode == 125 and "fully qualified" in p.stderr
    df = podctl.json("system", "df", "--format", "json")[0]
    assert df["Type"] == "Images" and df["Total"] == 1 and df["Size"] > 1_000_000
    assert podctl.ok("system", "df").splitlines()[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]


def test_history_and_all_tags(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    from image_helpers import build, layer_with, push_layout

    repo = unique("tags")
    build(tmp_path / "layout", [layer_with({"a": "1"}), layer_with({"b": "2" * 30000})])
    for tag in ("v1", "v2", "latest"):
        push_layout(tmp_path / "layout", f"{repo}:{tag}")
    insecure(podctl)
    ids = podctl.ok("pull", "-q", "--all-tags", repo).split()
    assert len(ids) == 3 and len(set(ids)) == 1
    names = podctl.json("image", "inspect", ids[0])[0]["RepoTags"]
    assert sorted(names) == sorted(f"{repo}:{t}" for t in ("v1", "v2", "latest"))
    hist = podctl.json("image", "history", "--format", "json", f"{repo}:v1")
    assert [h["id"] for h in hist] == [ids[0], "<missing>"]
    assert hist[0]["size"] > hist[1]["size"] > 0 and hist[0]["CreatedBy"] == "podctl oci_layout"
    rows = podctl.ok("image", "history", f"{repo}:v1").splitlines()
    assert rows[0].split() == ["ID", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert rows[1].startswith(ids[0][:12])
    p = podctl.run("pull", "--all-tags", f"{repo}:v1")
    assert p.returncode == 125 and "without a tag" in p.stderr
