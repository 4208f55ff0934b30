"""Helpers for the image tests: registries.conf per test, building and pushing test images."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from harness import REGISTRY, Podctl

from podctl.image import oci_layout
from podctl.image.auth import Credentials
from podctl.image.client import RegistryClient


def registries_conf(p: Podctl, text: str) -> Path:
    """Give this podctl instance its own registries.conf ($CONTAINERS_REGISTRIES_CONF)."""
    path = p.root / f"registries-{uuid.uuid4().hex[:6]}.conf"
    path.write_text(text)
    os.chown(path, p.user.uid, p.user.gid)
    p.env["CONTAINERS_REGISTRIES_CONF"] = str(path)
    return path


def insecure(p: Podctl, *hosts: str, search: tuple[str, ...] = ()) -> Path:
    """Mark HOSTS (default: the test registry) as plain-HTTP registries."""
    hosts = hosts or (REGISTRY,)
    text = f"unqualified-search-registries = {json.dumps(list(search))}\n"
    for h in hosts:
        text += f'[[registry]]\nlocation = "{h}"\ninsecure = true\n'
    return registries_conf(p, text)


def unique(name: str, registry: str = REGISTRY) -> str:
    return f"{registry}/podctl-test/{name}-{uuid.uuid4().hex[:8]}"


def build(layout: Path, layers: list[bytes], config: dict[str, Any] | None = None, *,
          tag: str = "latest", compress: bool = True) -> oci_layout.Blob:  # fmt: skip
    cfg = config if config is not None else {"Env": [f"PATH={oci_layout.DEFAULT_PATH}"], "Cmd": ["sh"]}
    return oci_layout.LayoutWriter(layout).image(layers, cfg, tag=tag, compress=compress)


def push_layout(layout: Path, ref: str, *, manifest: oci_layout.Blob | None = None,
                creds: Credentials | None = None, tag: str | None = None) -> str:  # fmt: skip
    """Upload an OCI layout image to a registry with podctl's client (as root, in-process)."""
    host, _, rest = ref.partition("/")
    repo, _, ref_tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    if manifest is None:
        index = json.loads((layout / "index.json").read_text())
        desc = index["manifests"][-1]
        digest, mtype = desc["digest"], desc["mediaType"]
    else:
        digest, mtype = manifest.digest, manifest.media_type
    blobs = layout / "blobs" / "sha256"
    raw = (blobs / digest.split(":")[1]).read_bytes()
    man = json.loads(raw)
    client = RegistryClient(host, insecure=True, creds=creds)
    for d in [man["config"], *man["layers"]]:
        path = blobs / d["digest"].split(":")[1]
        if not client.blob_exists(repo, d["digest"]):
            client.push_blob(repo, d["digest"], path.stat().st_size, lambda path=path: path.open("rb"))
    client.put_manifest(repo, tag or ref_tag, raw, mtype)
    client.close()
    return digest


def layer_with(files: dict[str, str | bytes], mtime: int = 0) -> bytes:
    layer = oci_layout.Layer(mtime=mtime)
    dirs: set[str] = set()
    for name in files:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                layer.dir(d)
    for name, data in files.items():
        layer.file(name, data)
    return layer.tar_bytes()
