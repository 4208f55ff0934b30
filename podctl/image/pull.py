"""Pulling an image from a registry into the store: resolve, verify, fetch in parallel, unpack.

Every blob is verified (size and sha256) and every layer's uncompressed digest is checked
against the config's `diff_ids` before anything is renamed into place; the image record is
written last, in one transaction. A pull that fails or is killed leaves only temp files, which
the next pull removes, and never a partial image.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import json
import os
import platform as pyplatform
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from podctl.errors import InvalidSpec, PodctlError, RegistryError, StoreError
from podctl.image import auth, registries
from podctl.image.client import (
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    RegistryClient,
)
from podctl.image.reference import Reference, parse
from podctl.image.store import LayerInfo, Store, hexof
from podctl.image.unpack import CHUNK, decompressor, unpack_stream
from podctl.log import log

MANIFEST_TYPES = (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)
INDEX_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST)
LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
)
CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json",
                "application/vnd.docker.container.image.v1+json")  # fmt: skip
MAX_CONFIG = 8 << 20
LAYER_ATTEMPTS = 4


class TransientRead(RegistryError):
    """The connection broke while a blob was streaming: the layer is fetched again."""


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    arch: str = ""
    variant: str = ""

    @classmethod
    def parse(cls, text: str = "", *, os_name: str = "", arch: str = "", variant: str = "") -> Platform:
        if text:
            parts = text.split("/")
            if len(parts) < 2 or len(parts) > 3 or not all(parts):
                raise InvalidSpec(f"--platform {text!r}: expected OS/ARCH[/VARIANT]")
            os_name, arch = parts[0], parts[1]
            variant = parts[2] if len(parts) == 3 else variant
        return cls(os_name or "linux", arch or host_arch(), variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


def host_arch() -> str:
    m = pyplatform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)  # fmt: skip


@dataclass(frozen=True)
class PullOptions:
    tls_verify: bool | None = None  # None: from registries.conf
    creds: auth.Credentials | None = None
    authfile: str | None = None
    platform: Platform = field(default_factory=Platform.parse)
    quiet: bool = False
    jobs: int = 3  # 6 in parallel peaked at 80-84 MiB (target 80); 3: 51-55 MiB, still 0.72x podman
    progress: Callable[[str], None] | None = None  # receives podman-style status lines
    # (short digest, bytes done, bytes total) while a layer streams; for progress bars on a TTY
    layer_progress: Callable[[str, int, int], None] | None = None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def client_for(ref: Reference, insecure: bool, opts: PullOptions) -> RegistryClient:
    creds = opts.creds or auth.lookup(ref.name, opts.authfile)
    return RegistryClient.for_registry(ref.domain, insecure=insecure, tls_verify=opts.tls_verify, creds=creds)


def pull(store: Store, text: str, opts: PullOptions) -> str:
    """Pull TEXT (any reference podman accepts) into STORE; return the image id."""
    ref = parse(text)
    conf = registries.load()
    cands = registries.candidates(conf, ref)
    errors: list[PodctlError] = []
    for cand in cands:
        try:
            sources = conf.pull_sources(cand.defaulted())
        except RegistryError as e:
            errors.append(e)
            continue
        for src, insecure in sources:
            _say(opts, f"Trying to pull {cand.defaulted()}...")
            try:
                return _pull_one(store, cand.defaulted(), src, client_for(src, insecure, opts), opts)
            except (RegistryError, StoreError) as e:
                log.debug("pull from %s failed: %s", src, e)
                errors.append(e)
    if len(errors) == 1:
        raise errors[0]
    raise RegistryError(
        f"{text}: unable to pull image: " + "; ".join(str(e) for e in errors),
        hint=next((e.hint for e in errors if e.hint), None),
    )


def all_tags(text: str, opts: PullOptions) -> list[str]:
    """`pull --all-tags`: the references of every tag of a (qualified or resolved) repository."""
    ref = parse(text)
    if ref.tag or ref.digest:
        raise InvalidSpec(f"{text}: --all-tags takes a repository without a tag or digest")
    conf = registries.load()
    cands = registries.candidates(conf, ref)
    errors: list[PodctlError] = []
    for cand in cands:
        for src, insecure in conf.pull_sources(cand.defaulted()):
            try:
                tags = client_for(src, insecure, opts).list_tags(src.path)
            except RegistryError as e:
                errors.append(e)
                continue
            return [f"{cand.name}:{t}" for t in sorted(tags)]
    raise errors[0] if errors else RegistryError(f"{text}: no tags found")


def _say(opts: PullOptions, line: str) -> None:
    if not opts.quiet and opts.progress is not None:
        opts.progress(line)


def fetch_manifest(client: RegistryClient, src: Reference, plat: Platform) -> tuple[bytes, str, list[str]]:
    """The image manifest for PLAT (following an index), its media type, and digests seen."""
    raw, ctype = client.get_manifest(src.path, src.manifest_ref)
    digests = []
    top = "sha256:" + sha256_hex(raw)
    if src.digest and src.digest != top:
        raise RegistryError(f"{src}: manifest digest mismatch: expected {src.digest}, got {top}")
    digests.append(top)
    mtype, data = _parse_manifest(raw, ctype, str(src))
    if mtype in INDEX_TYPES:
        child = choose_platform(data, plat, str(src))
        raw, ctype = client.get_manifest(src.path, child)
        got = "sha256:" + sha256_hex(raw)
        if got != child:
            raise RegistryError(f"{src}: manifest digest mismatch: expected {child}, got {got}")
        digests.append(got)
        mtype, data = _parse_manifest(raw, ctype, f"{src.name}@{child}")
        if mtype in INDEX_TYPES:
            raise RegistryError(f"{src}: an index inside an index is not supported")
    return raw, mtype, digests


def _parse_manifest(raw: bytes, ctype: str, what: str) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise RegistryError(f"{what}: malformed manifest: {e}") from e
    if not isinstance(data, dict):
        raise RegistryError(f"{what}: malformed manifest: not a JSON object")
    mtype = data.get("mediaType") or ctype
    if not mtype and "manifests" in data:
        mtype = MEDIA_OCI_INDEX
    elif not mtype and "layers" in data:
        mtype = MEDIA_OCI_MANIFEST
    if mtype not in MANIFEST_TYPES + INDEX_TYPES:
        raise RegistryError(f"{what}: unsupported manifest media type {mtype!r}")
    key = "manifests" if mtype in INDEX_TYPES else "layers"
    if not isinstance(data.get(key), list) or (key == "layers" and not isinstance(data.get("config"), dict)):
        raise RegistryError(f"{what}: malformed manifest: missing {key!r}")
    return mtype, data


def choose_platform(index: dict[str, Any], plat: Platform, what: str) -> str:
    best: tuple[int, str] | None = None
    seen = []
    for m in index.get("manifests", []):
        p = m.get("platform") or {}
        seen.append("/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x))
        if p.get("os") != plat.os or p.get("architecture") != plat.arch:
            continue
        score = 2 if plat.variant and p.get("variant") == plat.variant else 1
        if plat.variant and p.get("variant") and p.get("variant") != plat.variant:
            continue
        if best is None or score > best[0]:
            best = (score, str(m.get("digest")))
    if best is None:
        raise RegistryError(
            f"{what}: no image found in manifest list for platform {plat} "
            f"(available: {', '.join(s or '?' for s in seen) or 'none'})"
        )
    return best[1]


def _pull_one(store: Store, name: Reference, src: Reference, client: RegistryClient, opts: PullOptions) -> str:
    with store.lock():
        store.clean_tmp(min_age=3600)
        raw, mtype, digests = fetch_manifest(client, src, opts.platform)
        manifest = json.loads(raw)
        config_desc = manifest["config"]
        config_digest = str(config_desc.get("digest", ""))
        if config_desc.get("mediaType") and config_desc["mediaType"] not in CONFIG_TYPES:
            raise RegistryError(f"{src}: unsupported config media type {config_desc['mediaType']!r}")
        layers = manifest["layers"]
        for layer in layers:
            if layer.get("mediaType") not in LAYER_TYPES:
                raise RegistryError(f"{src}: unsupported layer media type {layer.get('mediaType')!r}")
            hexof(str(layer.get("digest", "")))
        hexof(config_digest)
        _say(opts, "Getting image source signatures")
        if store.has_blob(config_digest):
            config_raw = store.read_blob(config_digest)
        else:
            config_raw = _fetch_small(client, src, config_digest, int(config_desc.get("size", 0)))
        config = _check_config(config_raw, len(layers), str(src))
        diff_ids = config["rootfs"]["diff_ids"]
        try:
            infos = _fetch_layers(store, client, src, layers, diff_ids, opts)
        except BaseException:
            # Leave the store as it was: drop the layers and blobs this failed pull added.
            store.discard_unreferenced(diff_ids, [str(d.get("digest")) for d in layers])
            raise
        _say(opts, f"Copying config {hexof(config_digest)[:12]} done")
        _say(opts, "Writing manifest to image destination")
        store.put_blob(config_raw, config_digest)
        manifest_digest = store.put_blob(raw)
        repo_digests = [(name.name, d) for d in dict.fromkeys(digests + [manifest_digest])]
        names = [] if name.digest and not name.tag else [name.tagged_name]
        return store.add_image(
            config_digest=config_digest, manifest_digest=manifest_digest, manifest_type=mtype,
            layers=infos, names=names, digests=repo_digests, created=str(config.get("created", "")),
        )  # fmt: skip


def _fetch_small(client: RegistryClient, src: Reference, digest: str, size: int) -> bytes:
    if size > MAX_CONFIG:
        raise RegistryError(f"{src}: config blob too large ({size} bytes)")
    try:
        with client.open_blob(src.path, digest) as resp:
            data = resp.read(MAX_CONFIG + 1)
    except OSError as e:
        raise RegistryError(f"{src}: fetching config {digest}: {e}") from e
    got = "sha256:" + sha256_hex(data)
    if got != digest:
        raise RegistryError(f"{src}: config digest mismatch: expected {digest}, got {got}")
    return data


def _check_config(raw: bytes, nlayers: int, what: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
        diff_ids = config["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError) as e:
        raise RegistryError(f"{what}: malformed image config: {e}") from e
    if not isinstance(diff_ids, list) or len(diff_ids) != nlayers:
        raise RegistryError(
            f"{what}: image config lists {len(diff_ids) if isinstance(diff_ids, list) else 0} "
            f"diff_ids for {nlayers} layers"
        )
    for d in diff_ids:
        hexof(str(d))
    return dict(config)


def _fetch_layers(store: Store, client: RegistryClient, src: Reference, layers: list[dict[str, Any]],
                  diff_ids: list[str], opts: PullOptions) -> list[LayerInfo]:  # fmt: skip
    work = []
    infos: dict[int, LayerInfo] = {}
    for i, (desc, diff_id) in enumerate(zip(layers, diff_ids, strict=True)):
        existing = store.layer_info(diff_id) if store.has_layer(diff_id) else None
        if existing is not None:
            _say(opts, f"Copying blob {hexof(desc['digest'])[:12]} skipped: already exists")
            infos[i] = LayerInfo(diff_id, desc["digest"], desc["mediaType"], int(desc.get("size", 0)),
                                 existing.size)  # fmt: skip
        else:
            work.append(i)
    seen: dict[str, int] = {}
    unique = []
    for i in work:  # the same layer twice in one image is fetched once
        if diff_ids[i] in seen:
            continue
        seen[diff_ids[i]] = i
        unique.append(i)

    def one(i: int) -> LayerInfo:
        return fetch_layer(store, client, src, layers[i], diff_ids[i], opts)

    if unique:
        jobs = max(1, min(opts.jobs, len(unique)))
        if jobs == 1:
            results = [one(i) for i in unique]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(one, unique))
        for i, info in zip(unique, results, strict=True):
            infos[i] = info
    for i in work:
        if i not in infos:
            infos[i] = infos[seen[diff_ids[i]]]
    return [infos[i] for i in range(len(layers))]


class _Limited:
    """Reads the blob stream, teeing it to the temp blob file; errors on more or fewer bytes.

    When the connection breaks, the rest is asked for with a Range request (RESUME) and the
    stream goes on where it stopped, so the unpacker above never notices.
    """

    RESUMES = 3

    def __init__(self, raw: Any, size: int, sink: IO[bytes], what: str,
                 tick: Callable[[int], None] | None = None,
                 resume: Callable[[int], Any] | None = None) -> None:  # fmt: skip
        self.raw = raw
        self.size = size
        self.sink = sink
        self.what = what
        self.count = 0
        self.hash = hashlib.sha256()
        self.tick = tick
        self.resume = resume
        self.resumes_left = self.RESUMES

    def _read_raw(self, n: int) -> bytes:
        while True:
            error: BaseException | None = None
            try:
                data: bytes = self.raw.read(n)
                # http.client returns b"" when the peer closes before Content-Length is reached.
                if data or not getattr(self.raw, "length", None):
                    return data
            except (OSError, ValueError, http.client.HTTPException) as e:
                error = e
            detail = f": {error or type(error).__name__}" if error else ""
            if self.resume is None or self.resumes_left <= 0:
                raise TransientRead(f"{self.what}: connection broken after {self.count} bytes{detail}")
            self.resumes_left -= 1
            log.debug("%s: connection broken after %d bytes%s; resuming", self.what, self.count, detail)
            with contextlib.suppress(Exception):
                self.raw.close()
            try:
                self.raw = self.resume(self.count)
            except RegistryError as e:
                raise TransientRead(f"{self.what}: connection broken after {self.count} bytes: {e}") from e

    def read(self, n: int = -1) -> bytes:
        n = CHUNK if n is None or n < 0 else n
        data = self._read_raw(n)
        if data:
            self.count += len(data)
            if self.size >= 0 and self.count > self.size:
                raise RegistryError(f"{self.what}: blob is larger than the {self.size} bytes declared")
            self.hash.update(data)
            self.sink.write(data)
            if self.tick is not None:
                self.tick(self.count)
        elif self.size >= 0 and self.count < self.size:
            raise RegistryError(f"{self.what}: blob truncated: got {self.count} of {self.size} bytes")
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def fetch_layer(store: Store, client: RegistryClient, src: Reference, desc: dict[str, Any],
                diff_id: str, opts: PullOptions) -> LayerInfo:  # fmt: skip
    digest = str(desc["digest"])
    size = int(desc.get("size", -1))
    media_type = str(desc["mediaType"])
    short = hexof(digest)[:12]
    what = f"{src.name}: layer {digest}"
    for attempt in range(LAYER_ATTEMPTS):
        try:
            if store.has_blob(digest):
                with open(store.blob_path(digest), "rb") as f:
                    written = unpack_layer(store, f, media_type, diff_id, what)
            else:
                with client.open_blob(src.path, digest) as resp:
                    tick = None
                    if opts.layer_progress is not None and not opts.quiet:
                        tick = _ticker(opts.layer_progress, short, size)
                    resume = functools.partial(client.resume_blob, src.path, digest)
                    written = _download_and_unpack(store, resp, digest, size, media_type, diff_id,
                                                   what, tick, resume)  # fmt: skip
            _say(opts, f"Copying blob {short} done")
            return LayerInfo(diff_id, digest, media_type, size, written)
        except TransientRead as e:
            if attempt == LAYER_ATTEMPTS - 1:
                raise
            log.debug("%s; fetching again", e)
            client.close()
    raise AssertionError("unreachable")


def _ticker(report: Callable[[str, int, int], None], short: str, size: int) -> Callable[[int], None]:
    return lambda n: report(short, n, size)


def _download_and_unpack(store: Store, resp: Any, digest: str, size: int, media_type: str,
                         diff_id: str, what: str, tick: Callable[[int], None] | None = None,
                         resume: Callable[[int], Any] | None = None) -> int:  # fmt: skip
    tmp_blob = store.temp_path("blob")
    try:
        with open(tmp_blob, "wb", buffering=0) as sink:
            limited = _Limited(resp, size, sink, what, tick, resume)
            try:
                written = unpack_layer(store, limited, media_type, diff_id, what, after=limited.drain,
                                       verify=lambda: _verify_blob(limited, digest, size, what))  # fmt: skip
            except StoreError as e:
                # A corrupt blob usually fails to decompress first: report the root cause.
                try:
                    limited.drain()
                except PodctlError:
                    raise e from None
                _verify_blob(limited, digest, size, what)
                raise StoreError(f"{what}: {e}") from e
        if not store.has_blob(digest):
            store.commit_blob(tmp_blob, digest)
        return written
    finally:
        tmp_blob.unlink(missing_ok=True)


def _verify_blob(limited: _Limited, digest: str, size: int, what: str) -> None:
    got = "sha256:" + limited.hash.hexdigest()
    if got != digest:
        raise RegistryError(f"{what}: blob digest mismatch: got {got}")
    if size >= 0 and limited.count != size:
        raise RegistryError(f"{what}: blob size mismatch: declared {size}, got {limited.count}")


def unpack_layer(store: Store, stream: Any, media_type: str, diff_id: str, what: str, *,
                 after: Callable[[], None] | None = None,
                 verify: Callable[[], None] | None = None) -> int:  # fmt: skip
    """Unpack one layer to a temp dir, verify it, and rename it into place; return its size."""
    final = store.layer_dir(diff_id)
    tmpdir = store.layers / f".tmp-{hexof(diff_id)}.{os.getpid()}.{os.urandom(4).hex()}"
    tmpdir.mkdir(mode=0o755)
    try:
        tar = decompressor(media_type, stream)
        stats = unpack_stream(tar, tmpdir)
        if after is not None:
            after()
        if verify is not None:
            verify()
        if stats.diff_id != diff_id:
            raise StoreError(f"{what}: uncompressed digest {stats.diff_id} does not match diff_id {diff_id}")
        try:
            os.rename(tmpdir, final)
        except OSError as e:
            if not final.is_dir():  # another pull finished the same layer first: keep theirs
                raise StoreError(f"cannot move layer into {final}: {e.strerror}") from e
        return stats.size
    finally:
        if tmpdir.exists():
            import shutil

            shutil.rmtree(tmpdir, ignore_errors=True)


class TTYProgress:
    """podman-style progress on a terminal: status lines, and a live bar per streaming layer."""

    def __init__(self, stream: Any = None) -> None:
        import threading

        self.out = stream or sys.stderr
        self.lock = threading.Lock()
        self.active: dict[str, tuple[int, int]] = {}
        self.drawn = 0
        self.last = 0.0

    def line(self, text: str) -> None:
        with self.lock:
            short = text.split()[2] if text.startswith("Copying blob ") else ""
            self.active.pop(short, None)
            self._clear()
            self.out.write(text + "\n")
            self._draw()

    def layer(self, short: str, done: int, total: int) -> None:
        import time

        with self.lock:
            self.active[short] = (done, total)
            now = time.monotonic()
            if now - self.last < 0.1 and done < total:
                return
            self.last = now
            self._clear()
            self._draw()

    def _clear(self) -> None:
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}A\x1b[J")
            self.drawn = 0

    def _draw(self) -> None:
        for short, (done, total) in self.active.items():
            width = 30
            filled = int(width * done / total) if total > 0 else 0
            bar = "=" * max(filled - 1, 0) + (">" if 0 < filled < width else "=" * (filled > 0))
            self.out.write(f"Copying blob {short} [{bar.ljust(width, '-')}] "
                           f"{_mib(done)} / {_mib(total)}\n")  # fmt: skip
            self.drawn += 1
        self.out.flush()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f}MiB"


def progress_printer(stream: Any = None) -> Callable[[str], None]:
    out = stream or sys.stderr

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    return say
