"""Putting local content into the store: blobs from files, layers from blobs, whole images.

Used by `load` and `import` (pull has its own single-pass download + unpack path). Every blob is
hashed while it is copied to a temp name and renamed only when complete; layers are unpacked
to a temp dir and renamed once their uncompressed digest is known.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import IO, Any

from podctl.errors import StoreError
from podctl.image.oci_layout import MEDIA_CONFIG, MEDIA_MANIFEST
from podctl.image.store import LayerInfo, Store, hexof
from podctl.image.unpack import CHUNK

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TAR_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def ingest_stream(store: Store, src: IO[bytes], expected: str | None = None) -> tuple[str, int, bytes]:
    """Copy SRC into the blob store; return (digest, size, first bytes)."""
    tmp = store.temp_path("blob")
    h = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(tmp, "wb") as out:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        digest = "sha256:" + h.hexdigest()
        if expected and expected != digest:
            raise StoreError(f"blob digest mismatch: expected {expected}, got {digest}")
        if not store.has_blob(digest):
            store.commit_blob(tmp, digest)
        return digest, size, head
    finally:
        tmp.unlink(missing_ok=True)


def media_type_of(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        return MEDIA_TAR_GZIP
    if head.startswith(ZSTD_MAGIC):
        return MEDIA_TAR_ZSTD
    return MEDIA_TAR


def layer_from_blob(store: Store, digest: str, media_type: str, expected_diff_id: str | None = None) -> LayerInfo:
    """Unpack the stored blob DIGEST (once), checking its diff_id when one is expected."""
    from podctl.image.pull import unpack_layer
    from podctl.image.unpack import HashingReader, decompressor

    size = store.blob_path(digest).stat().st_size
    diff_id = expected_diff_id
    if diff_id is None:
        with open(store.blob_path(digest), "rb") as f:
            hr = HashingReader(decompressor(media_type, f))
            hr.drain()
            diff_id = hr.digest
    existing = store.layer_info(diff_id) if store.has_layer(diff_id) else None
    if existing is not None:
        return LayerInfo(diff_id, digest, media_type, size, existing.size)
    with open(store.blob_path(digest), "rb") as f:
        unpacked = unpack_layer(store, f, media_type, diff_id, f"layer {digest}")
    return LayerInfo(diff_id, digest, media_type, size, unpacked)


def commit_image(
    store: Store,
    config: dict[str, Any] | bytes,
    layers: Sequence[LayerInfo],
    names: Sequence[str] = (),
    *,
    manifest_raw: bytes | None = None,
    manifest_type: str = MEDIA_MANIFEST,
) -> str:
    """Store the config (and a manifest, built when not given) and record the image."""
    raw_config = config if isinstance(config, bytes) else json.dumps(config, sort_keys=True).encode()
    config_digest = store.put_blob(raw_config)
    if manifest_raw is None:
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(raw_config)},
            "layers": [
                {"mediaType": layer.media_type, "digest": layer.blob_digest, "size": layer.compressed_size}
                for layer in layers
            ],
        }
        manifest_raw = json.dumps(manifest, sort_keys=True).encode()
        manifest_type = MEDIA_MANIFEST
    manifest_digest = store.put_blob(manifest_raw)
    try:
        created = str(json.loads(raw_config).get("created", ""))
    except (ValueError, AttributeError):
        created = ""
    return store.add_image(
        config_digest=config_digest, manifest_digest=manifest_digest, manifest_type=manifest_type,
        layers=layers, names=names, created=created,
    )  # fmt: skip


def blob_reader(store: Store, digest: str) -> IO[bytes]:
    hexof(digest)
    try:
        return open(store.blob_path(digest), "rb")
    except OSError as e:
        raise StoreError(f"blob {digest} is missing from the store: {e.strerror}") from e


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
