"""Pushing an image from the store to a registry: blobs (skipping those present), then the manifest."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from podctl.errors import InvalidSpec, RegistryError, StoreError
from podctl.image import auth, registries
from podctl.image.client import RegistryClient
from podctl.image.ingest import blob_reader
from podctl.image.reference import parse
from podctl.image.store import Store, hexof


@dataclass(frozen=True)
class PushOptions:
    tls_verify: bool | None = None
    creds: auth.Credentials | None = None
    authfile: str | None = None
    quiet: bool = False
    jobs: int = 4
    progress: Callable[[str], None] | None = None


def push(store: Store, source: str, destination: str | None, opts: PushOptions) -> str:
    """Push the local image SOURCE to DESTINATION (default: SOURCE's name); return the digest."""
    image_id = store.lookup(source)
    dest_text = destination or source
    dest_text = dest_text.removeprefix("docker://")
    ref = parse(dest_text)
    if not ref.qualified:
        info = store.info(image_id)
        match = next((n for n in info.names if n.endswith("/" + ref.path + ":" + ref.tag_or_latest)), None)
        if destination is None and match:
            ref = parse(match)
        else:
            raise InvalidSpec(
                f"{dest_text!r}: the destination must be a fully qualified name (registry/repo:tag)"
            )
    if ref.digest:
        raise InvalidSpec(f"{dest_text!r}: cannot push to a digest")
    conf = registries.load()
    entry = conf.find(ref.name)
    if entry is not None and entry.blocked:
        raise RegistryError(f"registry {ref.domain} is blocked in registries.conf")
    client = RegistryClient.for_registry(
        ref.domain, insecure=bool(entry and entry.insecure), tls_verify=opts.tls_verify,
        creds=opts.creds or auth.lookup(ref.name, opts.authfile),
    )  # fmt: skip
    manifest, raw = store.manifest(image_id)
    info = store.info(image_id)
    descs = [manifest["config"], *manifest["layers"]]
    for d in descs:
        if not store.has_blob(d["digest"]):
            raise StoreError(f"image {image_id[:12]}: blob {d['digest']} is missing from the store")

    def say(line: str) -> None:
        if not opts.quiet and opts.progress:
            opts.progress(line)

    say("Getting image source signatures")

    def one(d: dict[str, str]) -> None:
        digest = d["digest"]
        kind = "config" if d is manifest["config"] else "blob"
        if client.blob_exists(ref.path, digest):
            say(f"Copying {kind} {hexof(digest)[:12]} skipped: already exists")
            return
        size = store.blob_path(digest).stat().st_size
        client.push_blob(ref.path, digest, size, lambda: blob_reader(store, digest))
        say(f"Copying {kind} {hexof(digest)[:12]} done")

    client.ping()
    with ThreadPoolExecutor(max_workers=max(1, min(opts.jobs, len(descs)))) as pool:
        list(pool.map(one, descs[1:]))
    one(descs[0])
    say("Writing manifest to image destination")
    client.put_manifest(ref.path, ref.tag_or_latest, raw, info.manifest_type)
    client.close()
    return info.manifest_digest
