"""Registry faults: each ends with a clear error (or a successful retry) and a consistent store."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Podctl
from image_fakes import Fault, FaultProxy
from image_helpers import build, insecure, layer_with, push_layout, unique

from podctl.image.client import RegistryClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def image(registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A two-layer image in the real registry (repository path only, tag latest)."""
    layout = tmp_path_factory.mktemp("faults") / "layout"
    build(layout, [layer_with({"one/f": "1" * 5000}), layer_with({"two/f": os.urandom(200_000)})])
    ref = unique("faults")
    push_layout(layout, ref + ":latest")
    return ref.split("/", 1)[1]


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    p = FaultProxy().start()
    yield p
    p.stop()


def assert_store_clean(podctl: Podctl) -> None:
    assert podctl.json("images", "--format", "json") == []
    out = podctl.run("system", "check")
    assert out.returncode == 0 and "No errors found" in out.stdout, out.stdout + out.stderr
    store = podctl.root / "images"
    assert [p.name for p in (store / "layers").iterdir()] == []
    assert list((store / "tmp").iterdir()) == []


def pull(podctl: Podctl, proxy: FaultProxy, path: str) -> tuple[int, str]:
    insecure(podctl, proxy.address)
    p = podctl.run("pull", "-q", f"{proxy.address}/{path}")
    return p.returncode, p.stderr


BLOB = r"GET /v2/.*/blobs/sha256:"


def big_layer(podctl: Podctl, image: str, registry: str) -> str:
    man = json.loads(RegistryClient(registry, insecure=True).get_manifest(image, "latest")[0])
    return str(man["layers"][1]["digest"])


def test_wrong_digest(podctl: Podctl, proxy: FaultProxy, image: str, registry: str) -> None:
    proxy.faults.append(Fault(BLOB + big_layer(podctl, image, registry)[7:], "corrupt"))
    code, err = pull(podctl, proxy, image)
    assert code == 125 and "digest mismatch" in err, err
    assert_store_clean(podctl)


def test_truncated_blob(podctl: Podctl, proxy: FaultProxy, image: str, registry: str) -> None:
    proxy.faults.append(Fault(BLOB + big_layer(podctl, image, registry)[7:], "truncate"))
    code, err = pull(podctl, proxy, image)
    assert code == 125 and ("truncated" in err or "size mismatch" in err), err
    assert_store_clean(podctl)


def test_server_errors_then_success(podctl: Podctl, proxy: FaultProxy, image: str) -> None:
    proxy.faults += [Fault(r"GET /v2/.*/manifests/", "status", count=2, status=503),
                     Fault(BLOB, "status", count=2, status=500)]  # fmt: skip
    code, err = pull(podctl, proxy, image)
    assert code == 0, err
    assert all(f.hits == 2 for f in proxy.faults)
    assert podctl.run("system", "check").returncode == 0


def test_persistent_server_error(podctl: Podctl, proxy: FaultProxy, image: str) -> None:
    proxy.faults.append(Fault(r"GET /v2/.*/manifests/", "status", status=500))
    code, err = pull(podctl, proxy, image)
    assert code == 125 and "HTTP 500" in err, err
    assert_store_clean(podctl)


def test_connection_dropped_mid_blob(podctl: Podctl, proxy: FaultProxy, image: str, registry: str) -> None:
    proxy.faults.append(Fault(BLOB + big_layer(podctl, image, registry)[7:], "drop", count=1))
    code, err = pull(podctl, proxy, image)
    assert code == 0, err
    # The rest of the blob was asked for with a Range request, not fetched again whole.
    assert len(proxy.ranges) == 1 and proxy.ranges[0].startswith("bytes=") and proxy.ranges[0] != "bytes=0-"
    assert podctl.run("system", "check").returncode == 0


def test_connection_always_dropped(podctl: Podctl, proxy: FaultProxy, image: str, registry: str) -> None:
    proxy.faults.append(Fault(BLOB + big_layer(podctl, image, registry)[7:], "drop"))
    code, err = pull(podctl, proxy, image)
    assert code == 125 and "connection broken" in err, err
    assert_store_clean(podctl)


def test_malformed_manifest(podctl: Podctl, proxy: FaultProxy, image: str) -> None:
    proxy.faults.append(Fault(r"GET /v2/.*/manifests/", "body", body=b"{not json",
                              content_type="application/vnd.oci.image.manifest.v1+json"))  # fmt: skip
    code, err = pull(podctl, proxy, image)
    assert code == 125 and "malformed manifest" in err, err
    assert_store_clean(podctl)


def test_unknown_media_type(podctl: Podctl, proxy: FaultProxy, image: str) -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/x-unknown", "layers": []})
    proxy.faults.append(Fault(r"GET /v2/.*/manifests/", "body", body=body.encode(),
                              content_type="application/x-unknown"))  # fmt: skip
    code, err = pull(podctl, proxy, image)
    assert code == 125 and "unsupported manifest media type 'application/x-unknown'" in err, err
    assert_store_clean(podctl)


def test_index_without_platform(podctl: Podctl, registry: str, image: str) -> None:
    client = RegistryClient(registry, insecure=True)
    raw, mtype = client.get_manifest(image, "latest")
    import hashlib

    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": mtype, "digest": "sha256:" + hashlib.sha256(raw).hexdigest(),
                       "size": len(raw), "platform": {"os": "linux", "architecture": "s390x"}}],
    }  # fmt: skip
    client.put_manifest(image, "s390x-only", json.dumps(index).encode(), index["mediaType"])
    insecure(podctl)
    p = podctl.run("pull", "-q", f"{registry}/{image}:s390x-only")
    assert p.returncode == 125
    assert "no image found in manifest list for platform linux/amd64" in p.stderr, p.stderr
    assert_store_clean(podctl)
    # Asking for the platform the index has works.
    p = podctl.run("pull", "-q", "--platform", "linux/s390x", f"{registry}/{image}:s390x-only")
    assert p.returncode == 0, p.stderr


def test_sigkill_mid_pull_then_pull_again(podctl: Podctl, proxy: FaultProxy, image: str,
                                          registry: str) -> None:  # fmt: skip
    proxy.faults.append(Fault(BLOB + big_layer(podctl, image, registry)[7:], "stall", count=1))
    insecure(podctl, proxy.address)
    proc = podctl.user.popen(podctl.argv("pull", "-q", f"{proxy.address}/{image}"), env=podctl.env)
    try:
        assert proxy.streaming.wait(20), "the pull never reached the stalled blob"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(20)
    assert proc.returncode == -signal.SIGKILL
    assert podctl.json("images", "--format", "json") == []
    # The next pull cleans the leftovers of the killed one and succeeds.
    p = podctl.run("pull", "-q", f"{proxy.address}/{image}")
    assert p.returncode == 0, p.stderr
    out = podctl.run("system", "check")
    assert out.returncode == 0 and "No errors found" in out.stdout, out.stdout


def test_store_check_detects_and_repairs(podctl: Podctl, registry: str, image: str) -> None:
    insecure(podctl)
    image_id = podctl.ok("pull", "-q", f"{registry}/{image}").strip()
    blob = podctl.root / "images" / "blobs" / "sha256" / image_id
    blob.write_bytes(b"damaged")
    out = podctl.run("system", "check")
    assert out.returncode == 1 and "is corrupt" in out.stdout
    out = podctl.run("system", "check", "--repair")
    assert out.returncode == 0 and f"removed damaged image {image_id[:12]}" in out.stdout
    assert_store_clean(podctl)


def test_blocked_registry(podctl: Podctl, registry: str, image: str, tmp_path: Path) -> None:
    from image_helpers import registries_conf

    registries_conf(podctl, f'[[registry]]\nlocation = "{registry}"\nblocked = true\n')
    p = podctl.run("pull", "-q", f"{registry}/{image}")
    assert p.returncode == 125 and "blocked in registries.conf" in p.stderr


def test_malicious_layer_rejected(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    """A symlink then a file through it, and a hardlink out: nothing lands outside the store."""
    import tarfile

    from podctl.image.oci_layout import Layer

    target = podctl.root / "victim-dir"
    podctl.user.mkdir(target, 0o777)
    for name, evil in {
        "symlink": [("link", tarfile.SYMTYPE, str(target)), ("link/pwned", tarfile.REGTYPE, "")],
        "dotdot": [("../../../../victim-dir/pwned", tarfile.REGTYPE, "")],
        "hardlink": [("hard", tarfile.LNKTYPE, "../../../../../etc/passwd")],
    }.items():
        layer = Layer()
        for path, kind, link in evil:
            ti = tarfile.TarInfo(path)
            ti.type, ti.linkname, ti.mode = kind, link, 0o644
            layer.raw(ti, b"pwned" if kind == tarfile.REGTYPE else None)
        ref = unique(f"evil-{name}") + ":latest"
        build(tmp_path / name, [layer_with({"ok/file": "fine"}), layer.tar_bytes()])
        push_layout(tmp_path / name, ref)
        insecure(podctl)
        p = podctl.run("pull", "-q", ref)
        assert p.returncode == 125, p.stdout
        assert "through the symlink" in p.stderr or "leaves the layer" in p.stderr, p.stderr
        assert list(target.iterdir()) == []
        assert_store_clean(podctl)


def test_mirror_used_first_then_primary(podctl: Podctl, proxy: FaultProxy, registry: str, image: str) -> None:
    from image_helpers import registries_conf

    conf = (f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n'
            f'[[registry.mirror]]\nlocation = "{proxy.address}"\ninsecure = true\n')  # fmt: skip
    registries_conf(podctl, conf)
    podctl.ok("pull", "-q", f"{registry}/{image}")
    assert any("/blobs/" in r for r in proxy.log), proxy.log  # the layers came from the mirror
    assert podctl.json("images", "--format", "json")[0]["Names"] == [f"{registry}/{image}:latest"]
    # A failing mirror falls back to the primary location.
    podctl.ok("rmi", "-a")
    proxy.log.clear()
    proxy.faults.append(Fault(r"/v2/.+", "status", status=404))
    podctl.ok("pull", "-q", f"{registry}/{image}")
    assert any("/manifests/" in r for r in proxy.log)
    assert podctl.run("system", "check").returncode == 0


def test_wrong_diff_id(podctl: Podctl, registry: str, tmp_path: Path) -> None:
    """A config whose diff_ids do not match the layers' uncompressed content is refused."""
    from podctl.image import oci_layout

    w = oci_layout.LayoutWriter(tmp_path / "layout")
    tar = layer_with({"f": "content"})
    import gzip

    blob = w.put(gzip.compress(tar), oci_layout.MEDIA_LAYER_GZIP)
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}  # fmt: skip
    cb = w.put(json.dumps(config).encode(), oci_layout.MEDIA_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": oci_layout.MEDIA_MANIFEST,
                "config": cb.descriptor(), "layers": [blob.descriptor()]}  # fmt: skip
    mb = w.put(json.dumps(manifest).encode(), oci_layout.MEDIA_MANIFEST)
    ref = unique("diffid") + ":latest"
    push_layout(tmp_path / "layout", ref, manifest=mb)
    insecure(podctl)
    p = podctl.run("pull", "-q", ref)
    assert p.returncode == 125 and "does not match diff_id" in p.stderr, p.stderr
    assert_store_clean(podctl)
