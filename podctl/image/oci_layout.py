"""A small OCI image writer: layer tars, config and manifest with correct digests.

Used to build the test images (a static busybox) and by `podctl import`. Output is an OCI
image layout directory (`oci-layout`, `index.json`, `blobs/sha256/...`), which skopeo and
podctl can push.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = 0


@dataclass
class Layer:
    """One layer under construction: entries are added in order, then it is sealed to bytes."""

    mtime: int = EPOCH
    _buf: io.BytesIO = field(default_factory=io.BytesIO)
    _tar: tarfile.TarFile | None = None

    def _t(self) -> tarfile.TarFile:
        if self._tar is None:
            self._tar = tarfile.open(fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT)
        return self._tar

    def _info(self, name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name.lstrip("/"))
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.mtime = self.mtime
        return ti

    def dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Layer:
        self._t().addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid))
        return self

    def file(
        self, name: str, data: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0
    ) -> Layer:
        raw = data.encode() if isinstance(data, str) else data
        ti = self._info(name, tarfile.REGTYPE, mode, uid, gid)
        ti.size = len(raw)
        self._t().addfile(ti, io.BytesIO(raw))
        return self

    def symlink(self, name: str, target: str) -> Layer:
        ti = self._info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self._t().addfile(ti)
        return self

    def hardlink(self, name: str, target: str) -> Layer:
        ti = self._info(name, tarfile.LNKTYPE, 0o644)
        ti.linkname = target.lstrip("/")
        self._t().addfile(ti)
        return self

    def whiteout(self, name: str) -> Layer:
        d, _, base = name.rstrip("/").rpartition("/")
        return self.file(f"{d}/.wh.{base}" if d else f".wh.{base}", b"")

    def opaque(self, directory: str) -> Layer:
        return self.file(f"{directory.rstrip('/')}/.wh..wh..opq", b"")

    def raw(self, ti: tarfile.TarInfo, data: bytes | None = None) -> Layer:
        """Add an arbitrary entry as is (tests use this to build malicious layers)."""
        if data is not None:
            ti.size = len(data)
        self._t().addfile(ti, io.BytesIO(data) if data is not None else None)
        return self

    def tar_bytes(self) -> bytes:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
        return self._buf.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    digest: str
    size: int

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


class LayoutWriter:
    """Writes blobs into an OCI image layout directory and records tagged manifests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.index_path = root / "index.json"
        if not self.index_path.exists():
            self._write_index({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": []})

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2))
        os.replace(tmp, self.index_path)

    def put(self, data: bytes, media_type: str) -> Blob:
        digest = sha256(data)
        path = self.root / "blobs" / "sha256" / digest.split(":", 1)[1]
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return Blob(media_type, digest, len(data))

    def image(
        self,
        layers: list[bytes],
        config: dict[str, Any],
        *,
        tag: str | None = None,
        compress: bool = True,
        arch: str = "amd64",
        os_name: str = "linux",
        created: str = "1970-01-01T00:00:00Z",
    ) -> Blob:
        """Write an image from uncompressed layer tars; return the manifest blob."""
        layer_blobs: list[Blob] = []
        diff_ids: list[str] = []
        for tar in layers:
            diff_ids.append(sha256(tar))
            if compress:
                gz = gzip.compress(tar, compresslevel=6, mtime=0)
                layer_blobs.append(self.put(gz, MEDIA_LAYER_GZIP))
            else:
                layer_blobs.append(self.put(tar, MEDIA_LAYER_TAR))
        image_config = {
            "created": created,
            "architecture": arch,
            "os": os_name,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": created, "created_by": "podctl oci_layout"} for _ in layers],
        }
        cfg_blob = self.put(json.dumps(image_config, sort_keys=True).encode(), MEDIA_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": cfg_blob.descriptor(),
            "layers": [b.descriptor() for b in layer_blobs],
        }
        man_blob = self.put(json.dumps(manifest, sort_keys=True).encode(), MEDIA_MANIFEST)
        index = json.loads(self.index_path.read_text())
        entries = [
            m
            for m in index["manifests"]
            if not tag or m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
        ]
        desc = man_blob.descriptor(platform={"architecture": arch, "os": os_name})
        if tag:
            desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(desc)
        index["manifests"] = entries
        self._write_index(index)
        return man_blob


def busybox_applets(busybox: str = "/bin/busybox") -> list[str]:
    from podctl import run as gateway

    out = gateway.run([busybox, "--list-full"])
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def busybox_layer(busybox: str = "/bin/busybox", extra_files: dict[str, str] | None = None) -> bytes:
    """A rootfs with a static busybox, every applet linked, and minimal /etc files."""
    data = Path(busybox).read_bytes()
    layer = Layer()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "var", "var/www"):
        layer.dir(d)
    layer.dir("tmp", 0o1777)
    layer.dir("home/user", 0o755, uid=1000, gid=1000)
    layer.file("bin/busybox", data, 0o755)
    for applet in busybox_applets(busybox):
        applet = applet.lstrip("/")
        if applet == "bin/busybox":
            continue
        depth = applet.count("/")
        # Relative to the link's own directory: bin/x -> busybox, usr/sbin/x -> ../../bin/busybox.
        layer.symlink(applet, "busybox" if applet.startswith("bin/") and depth == 1
                      else "../" * depth + "bin/busybox")
    layer.file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\n"
        "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
        "user:x:1000:1000:user:/home/user:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    layer.file(
        "etc/group",
        "root:x:0:\ndaemon:x:1:\nuser:x:1000:\nnogroup:x:65534:\n",
    )
    layer.file("var/www/index.html", "hello from podctl busybox\n")
    for name, content in (extra_files or {}).items():
        layer.file(name, content)
    return layer.tar_bytes()


def write_busybox_image(dest: Path, tag: str = "latest", busybox: str = "/bin/busybox") -> Blob:
    writer = LayoutWriter(dest)
    return writer.image(
        [busybox_layer(busybox)],
        {"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": ["sh"], "WorkingDir": "/"},
        tag=tag,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m podctl.image.oci_layout busybox DIR [TAG]`: write the test image layout."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "busybox":
        sys.exit("usage: python -m podctl.image.oci_layout busybox DIR [TAG]")
    blob = write_busybox_image(Path(args[1]), args[2] if len(args) > 2 else "latest")
    print(blob.digest)


if __name__ == "__main__":
    main()
