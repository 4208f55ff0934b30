"""Images the bench pulls: the test busybox, and a large multi-layer image it builds itself.

The large image is made with podctl's own OCI writer (`podctl.image.oci_layout`) from seeded
pseudo-random bytes (incompressible, so ~100 MB go over the wire) in several layers, and pushed
with podctl (load of an oci-archive, then push), or with skopeo when podctl cannot. The seed and sizes are in the tag, so a rerun finds it in
the registry and skips the build.
"""

from __future__ import annotations

import http.client
import io
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.proc import CommandFailed

BUSYBOX_REPO = "busybox:latest"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class BigImage:
    layers: int
    layer_mib: int
    seed: int = 8

    @property
    def total_mib(self) -> int:
        return self.layers * self.layer_mib

    def tag(self, extra: bool = False) -> str:
        return f"l{self.layers}x{self.layer_mib}m-s{self.seed}" + ("-plus" if extra else "")

    def ref(self, registry: str, extra: bool = False) -> str:
        return f"{registry}/bench/big:{self.tag(extra)}"


def registry_has(registry: str, repo: str, tag: str) -> bool:
    host, _, port = registry.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=10)
    try:
        conn.request("HEAD", f"/v2/{repo}/manifests/{tag}", headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json,"
                      "application/vnd.docker.distribution.manifest.v2+json"})  # fmt: skip
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def registry_up(registry: str) -> bool:
    host, _, port = registry.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=5)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status in (200, 401)
    except OSError:
        return False
    finally:
        conn.close()


def random_layer(rng: random.Random, index: int, mib: int) -> bytes:
    from podctl.image.oci_layout import Layer

    layer = Layer()
    layer.dir("data")
    # A few files per layer, like real layers; random bytes do not compress.
    per = max(1, mib // 4)
    left = mib
    n = 0
    while left > 0:
        size = min(per, left)
        layer.file(f"data/l{index}-f{n}.bin", rng.randbytes(size * 1024 * 1024))
        left -= size
        n += 1
    return layer.tar_bytes()


Pusher = Callable[[Path, str, str], str]


def build_and_push(
    spec: BigImage, registry: str, log: list[str], pusher: Pusher | None = None
) -> tuple[str, str]:
    """Ensure both tags exist in the registry: the base image and base + one new layer."""
    base, plus = spec.ref(registry), spec.ref(registry, extra=True)
    if registry_has(registry, "bench/big", spec.tag()) and registry_has(
        registry, "bench/big", spec.tag(extra=True)
    ):
        return base, plus
    from podctl.image.oci_layout import LayoutWriter, busybox_layer

    skopeo = shutil.which("skopeo")
    if not skopeo:
        raise RuntimeError("skopeo is not installed (apt-get install skopeo)")
    rng = random.Random(spec.seed)
    with tempfile.TemporaryDirectory(prefix="podctl-bench-img-") as tmp:
        writer = LayoutWriter(Path(tmp))
        layers = [busybox_layer()]
        layers += [random_layer(rng, i, spec.layer_mib) for i in range(spec.layers)]
        config = {"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": ["sh"], "WorkingDir": "/"}
        writer.image(layers, config, tag=spec.tag())
        extra = random_layer(rng, spec.layers, max(1, spec.layer_mib // 2))
        writer.image([*layers, extra], config, tag=spec.tag(extra=True))
        for tag, ref in ((spec.tag(), base), (spec.tag(extra=True), plus)):
            if pusher is not None:
                why = pusher(Path(tmp), tag, ref)
                if not why:
                    log.append(f"built {ref} and pushed it with podctl push")
                    continue
                log.append(f"podctl could not push {ref} ({why}): skopeo pushes it")
            argv = [skopeo, "copy", "--quiet", "--dest-tls-verify=false",
                    f"oci:{tmp}:{tag}", f"docker://{ref}"]  # fmt: skip
            p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise CommandFailed(argv, p.returncode, p.stdout, p.stderr)
            log.append(f"built {ref} and pushed it with skopeo")
    return base, plus


def oci_archive(layout: Path, tag: str, dest: Path) -> Path:
    """An oci-archive (a tar of the layout) holding only the manifest tagged `tag`."""
    import json
    import tarfile

    index = json.loads((layout / "index.json").read_text())
    index["manifests"] = [
        m for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]  # fmt: skip
    with tarfile.open(dest, "w") as tar:
        tar.add(layout / "oci-layout", "oci-layout")
        data = json.dumps(index).encode()
        ti = tarfile.TarInfo("index.json")
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
        tar.add(layout / "blobs", "blobs")
    return dest
