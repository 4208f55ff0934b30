"""pull, images, inspect, rmi and the store API, for real against the loopback registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import BUSYBOX, REGISTRY, Podctl
from image_helpers import build, insecure, layer_with, push_layout, registries_conf, unique

from podctl.image import oci_layout

pytestmark = pytest.mark.e2e

STORE_API = """
import json, sys
from podctl.config import load
from podctl.image.api import PullPolicy
from podctl.image.store import open_store
cfg = load(root=sys.argv[1], runroot=sys.argv[2])
rec = open_store(cfg).ensure(sys.argv[3], PullPolicy(sys.argv[4]))
print(json.dumps({"id": rec.id, "names": list(rec.names), "digest": rec.digest,
                  "dirs": [str(d) for d in rec.layer_dirs], "config": rec.config, "size": rec.size}))
"""


def store_api(p: Podctl, ref: str, policy: str = "missing") -> dict:
    python = str(Path(p.bin).parent / "python")
    proc = p.user.run([python, "-c", STORE_API, str(p.root), str(p.runroot), ref, policy],
                      env=p.env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_pull_busybox_and_list(podctl: Podctl, registry: str) -> None:
    insecure(podctl)
    out = podctl.ok("pull", BUSYBOX)
    image_id = out.strip().splitlines()[-1]
    assert len(image_id) == 64
    rows = podctl.json("images", "--format", "json")
    assert [r["Id"] for r in rows] == [image_id]
    assert rows[0]["Names"] == [BUSYBOX]
    assert rows[0]["RepoDigests"][0].startswith(f"{REGISTRY}/busybox@sha256:")
    table = podctl.ok("images").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == [f"{REGISTRY}/busybox", "latest", image_id[:12]]
    assert podctl.ok("images", "-q").split() == [image_id[:12]]
    assert podctl.ok("images", "--noheading", "--format", "{{.Repository}}:{{.Tag}}").split() == [BUSYBOX]
    data = podctl.json("image", "inspect", "busybox")  # short name matches the stored name
    assert data[0]["Id"] == image_id and data[0]["Config"]["Cmd"] == ["sh"]
    assert podctl.run("image", "exists", BUSYBOX).returncode == 0
    assert podctl.run("image", "exists", f"{REGISTRY}/nope:latest").returncode == 1
    # A second pull fetches no blob again and gives the same id.
    assert podctl.ok("pull", "-q", BUSYBOX).strip() == image_id


def test_pull_without_tls_hint(podctl: Podctl, registry: str) -> None:
    registries_conf(podctl, "")  # no `insecure = true` for the plain-HTTP test registry
    p = podctl.run("pull", BUSYBOX)
    assert p.returncode == 125
    assert "--tls-verify=false" in p.stderr
    assert podctl.ok("pull", "-q", "--tls-verify=false", BUSYBOX).strip()


def test_store_api_ensure_and_overlay(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    """The contract the container runtime uses: ensure() pulls, layer_dirs mount as overlay."""
    ref = unique("layers") + ":v1"
    lower = oci_layout.Layer()
    lower.dir("a").file("a/x", "x").file("a/y", "y").dir("b").file("b/z", "z").file("del", "gone")
    lower.dir("owned", uid=1000, gid=1000).file("owned/f", "1000", uid=1000, gid=1000)
    lower.symlink("link", "/a/x")
    upper = oci_layout.Layer()
    upper.dir("a").opaque("a").file("a/new", "new").whiteout("del")
    manifest = build(tmp_path / "layout", [lower.tar_bytes(), upper.tar_bytes()],
                     {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"k": "v"}})  # fmt: skip
    push_layout(tmp_path / "layout", ref)
    insecure(podctl)
    rec = store_api(podctl, ref, "missing")
    assert rec["names"] == [ref] and rec["digest"] == manifest.digest
    assert rec["config"]["config"]["Labels"] == {"k": "v"}
    assert len(rec["dirs"]) == 2 and rec["size"] > 0
    again = store_api(podctl, ref, "never")
    assert again["id"] == rec["id"]
    l1, l2 = rec["dirs"]
    mnt = podctl.root / "mnt"
    mount = f"mkdir -p {mnt} && mount -t overlay overlay -o lowerdir={l2}:{l1},userxattr {mnt}"
    try:
        podctl.ok("unshare", "sh", "-c", mount)
        assert podctl.ok("unshare", "ls", "-A", str(mnt)).split() == ["a", "b", "link", "owned"]
        assert podctl.ok("unshare", "ls", "-A", f"{mnt}/a").split() == ["new"]  # opaque
        assert podctl.ok("unshare", "stat", "-c", "%u:%g", f"{mnt}/owned/f").strip() == "1000:1000"
        assert podctl.ok("unshare", "readlink", f"{mnt}/link").strip() == "/a/x"
    finally:
        podctl.run("unshare", "umount", str(mnt))
    # Outside the namespace the owner is the mapped subordinate id.
    assert (Path(l1) / "owned" / "f").stat().st_uid != podctl.user.uid
    assert podctl.ok("unshare", "stat", "-c", "%F %t:%T", f"{l2}/del").strip() == "character special file 0:0"
    python = str(Path(podctl.bin).parent / "python")
    code = f"import os; print(os.getxattr({l2 + '/a'!r}, 'user.overlay.opaque').decode())"
    assert podctl.ok("unshare", python, "-c", code).strip() == "y"


def test_shared_layers_fetched_once(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    base = layer_with({"base/file": "b" * 1000})
    a, b = unique("shared-a"), unique("shared-b")
    build(tmp_path / "la", [base, layer_with({"app/a": "a"})])
    push_layout(tmp_path / "la", a + ":latest")
    build(tmp_path / "lb", [base, layer_with({"app/b": "b"})])
    push_layout(tmp_path / "lb", b + ":latest")
    insecure(podctl, search=(registry,))
    podctl.ok("pull", "-q", a.split("/", 1)[1])  # a short name, through the search registries
    assert podctl.json("images", "--format", "json")[0]["Names"] == [a + ":latest"]
    layers = podctl.root / "images" / "layers"
    before = {p.name: p.stat().st_ino for p in layers.iterdir()}
    assert len(before) == 2
    podctl.ok("pull", "-q", b)
    after = {p.name: p.stat().st_ino for p in layers.iterdir()}
    assert len(after) == 3
    assert all(after[k] == v for k, v in before.items())  # the base layer was not unpacked again
    ia = podctl.json("image", "inspect", a)[0]
    ib = podctl.json("image", "inspect", b)[0]
    assert ia["RootFS"]["Layers"][0] == ib["RootFS"]["Layers"][0]
    # Removing one image keeps the shared layer for the other.
    assert "Deleted:" in podctl.ok("rmi", a)
    assert len(list(layers.iterdir())) == 2
    assert podctl.run("image", "exists", b).returncode == 0
    podctl.ok("rmi", b)
    assert list(layers.iterdir()) == []
    assert list((podctl.root / "images" / "blobs" / "sha256").iterdir()) == []


def test_tag_untag_rmi(podctl: Podctl, registry: str) -> None:
    insecure(podctl)
    image_id = podctl.ok("pull", "-q", BUSYBOX).strip()
    podctl.ok("tag", BUSYBOX, "mybox", "example.com/x/y:v2")
    names = podctl.json("image", "inspect", image_id)[0]["RepoTags"]
    assert set(names) == {BUSYBOX, "localhost/mybox:latest", "example.com/x/y:v2"}
    assert podctl.json("images", "--format", "json", "--filter", "reference=mybox")[0]["Id"] == image_id
    assert podctl.json("images", "--format", "json", "--filter", "reference=nomatch") == []
    # rmi of one name of several only untags it.
    assert podctl.ok("rmi", "mybox").strip() == "Untagged: localhost/mybox:latest"
    podctl.ok("untag", image_id, "example.com/x/y:v2")
    assert podctl.json("image", "inspect", image_id)[0]["RepoTags"] == [BUSYBOX]
    podctl.ok("untag", image_id)
    assert podctl.json("images", "--format", "json", "--filter", "dangling=true")[0]["Id"] == image_id
    assert podctl.ok("image", "prune", "-f").split() == [image_id]
    assert podctl.json("images", "--format", "json") == []
    p = podctl.run("rmi", "nosuchimage")
    assert p.returncode == 1 and "nosuchimage: image not known" in p.stderr
    assert podctl.run("rmi", "-i", "nosuchimage").returncode == 0


def test_rmi_refuses_image_in_use(podctl: Podctl, registry: str) -> None:
    insecure(podctl)
    image_id = podctl.ok("pull", "-q", BUSYBOX).strip()
    cid = podctl.ok("create", BUSYBOX, "true").strip()
    p = podctl.run("rmi", BUSYBOX)
    assert p.returncode == 2 and "in use by a container" in p.stderr, p.stderr
    assert podctl.run("image", "exists", image_id).returncode == 0
    assert podctl.json("system", "df", "--format", "json")[0]["Active"] == 1
    assert podctl.json("images", "--format", "json")[0]["Containers"] == 1
    out = podctl.ok("rmi", "-f", BUSYBOX)
    assert f"Deleted: {image_id}" in out
    assert cid not in podctl.ok("ps", "-a", "-q", "--no-trunc")
    assert podctl.json("images", "--format", "json") == []


def test_docker_schema2_and_zstd_layers(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    """Docker manifest list + schema 2 with a gzip layer, plus an OCI zstd layer."""
    import gzip
    import hashlib

    import zstandard

    w = oci_layout.LayoutWriter(tmp_path / "layout")
    t1 = layer_with({"docker/one": "1"})
    t2 = layer_with({"zstd/two": "2" * 10000})
    b1 = w.put(gzip.compress(t1), "application/vnd.docker.image.rootfs.diff.tar.gzip")
    b2 = w.put(zstandard.ZstdCompressor().compress(t2), "application/vnd.oci.image.layer.v1.tar+zstd")
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": [oci_layout.sha256(t1), oci_layout.sha256(t2)]}}  # fmt: skip
    cb = w.put(json.dumps(config).encode(), "application/vnd.docker.container.image.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": cb.descriptor(), "layers": [b1.descriptor(), b2.descriptor()]}  # fmt: skip
    mraw = json.dumps(manifest).encode()
    mb = w.put(mraw, manifest["mediaType"])
    ref = unique("docker") + ":latest"
    push_layout(tmp_path / "layout", ref, manifest=mb)
    # A Docker manifest list pointing at it (and at an arm64 twin that is not wanted).
    host, _, rest = ref.partition("/")
    repo = rest.rpartition(":")[0]
    listing = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
               "manifests": [
                   {**mb.descriptor(), "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                   {**mb.descriptor(), "platform": {"architecture": "amd64", "os": "linux"}}]}  # fmt: skip
    from podctl.image.client import RegistryClient

    lraw = json.dumps(listing).encode()
    RegistryClient(host, insecure=True).put_manifest(repo, "multi", lraw, listing["mediaType"])
    insecure(podctl)
    podctl.ok("pull", "-q", f"{host}/{repo}:multi")
    data = podctl.json("image", "inspect", f"{host}/{repo}:multi")[0]
    assert data["ManifestType"] == manifest["mediaType"]
    assert data["RootFS"]["Layers"] == config["rootfs"]["diff_ids"]  # type: ignore[index]
    digests = set(data["RepoDigests"])
    assert f"{host}/{repo}@sha256:{hashlib.sha256(lraw).hexdigest()}" in digests
    assert f"{host}/{repo}@{mb.digest}" in digests
    # Pull by digest finds the same image; the zstd layer unpacked correctly.
    assert podctl.ok("pull", "-q", f"{host}/{repo}@{mb.digest}").strip() == data["Id"]
    lower = data["GraphDriver"]["Data"]["LowerDir"].split(":")
    assert podctl.ok("unshare", "cat", f"{lower[0]}/zstd/two") == "2" * 10000


def test_short_name_ambiguous_without_tty(podctl: Podctl, registry: str) -> None:
    registries_conf(podctl, 'short-name-mode = "enforcing"\n'
                    f'unqualified-search-registries = ["{registry}", "quay.io"]\n')  # fmt: skip
    p = podctl.run("pull", "podctl-test/anything")
    assert p.returncode == 125
    assert "short-name resolution enforced but cannot prompt without a TTY" in p.stderr, p.stderr
    assert podctl.run("image", "exists", "podctl-test/anything").returncode == 1


def test_concurrent_pulls_of_one_image(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    import os
    import subprocess

    ref = unique("concurrent") + ":latest"
    build(tmp_path / "layout", [layer_with({f"l{i}/data": os.urandom(300_000)}) for i in range(3)])
    push_layout(tmp_path / "layout", ref)
    insecure(podctl)
    podctl.ok("unshare", "true")  # create the namespace first, as any earlier command would
    procs = [podctl.user.popen(podctl.argv("pull", "-q", ref), env=podctl.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]  # fmt: skip
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0].strip() for o in outs}) == 1
    assert len(podctl.json("images", "--format", "json")) == 1
    assert podctl.run("system", "check").stdout.strip() == "No errors found"
