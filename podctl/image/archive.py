"""save, load and import: docker-archive and oci-archive tarballs, and rootfs tarballs.

Loading verifies every blob against its digest and every layer against the config's diff_ids,
exactly as a pull does, and writes the image record last.
"""

from __future__ import annotations

import io
import json
import shlex
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from podctl.errors import InvalidSpec, StoreError
from podctl.image.ingest import commit_image, ingest_stream, layer_from_blob, media_type_of
from podctl.image.oci_layout import MEDIA_INDEX, MEDIA_MANIFEST
from podctl.image.reference import normalize_name, parse
from podctl.image.store import LayerInfo, Store, hexof
from podctl.image.unpack import CHUNK, decompressor

REF_NAME = "org.opencontainers.image.ref.name"
FORMATS = ("docker-archive", "oci-archive", "oci-dir")


# -- save ----------------------------------------------------------------------------------------


def save(store: Store, refs: Sequence[str], out: IO[bytes] | Path, fmt: str = "docker-archive") -> None:
    if fmt not in FORMATS:
        raise InvalidSpec(f"--format {fmt!r}: must be one of {', '.join(FORMATS)}")
    images = [(r, store.lookup(r)) for r in refs]
    if fmt == "oci-dir":
        assert isinstance(out, Path)
        _save_oci_dir(store, images, out)
        return
    assert not isinstance(out, Path)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        if fmt == "docker-archive":
            _save_docker(store, images, tf)
        else:
            _save_oci(store, images, tf)


class _Exact:
    """Reads exactly the bytes asked for (tarfile needs it; some decompressors return fewer)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return bytes(self.raw.read())
        parts = []
        got = 0
        while got < n:
            chunk = self.raw.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)


def _names_for(store: Store, ref: str, image_id: str) -> list[str]:
    names = list(store.info(image_id).names)
    try:
        r = parse(ref)
    except InvalidSpec:
        return names[:1]
    for n in names:  # the name the user asked for first
        if n == r.tagged_name or n.endswith("/" + r.path + ":" + r.tag_or_latest):
            return [n]
    return names[:1]


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = 0
    tf.addfile(ti, io.BytesIO(data))


def _save_docker(store: Store, images: list[tuple[str, str]], tf: tarfile.TarFile) -> None:
    entries = []
    repositories: dict[str, dict[str, str]] = {}
    done: set[str] = set()
    for ref, image_id in images:
        info = store.info(image_id)
        config_raw = store.read_blob(f"sha256:{image_id}")
        if f"{image_id}.json" not in done:
            _add_bytes(tf, f"{image_id}.json", config_raw)
            done.add(f"{image_id}.json")
        layer_names = []
        for layer in info.layers:
            name = f"{hexof(layer.diff_id)}.tar"
            layer_names.append(name)
            if name in done:
                continue
            done.add(name)
            ti = tarfile.TarInfo(name)
            ti.size = layer.size
            ti.mode = 0o644
            with open(store.blob_path(layer.blob_digest), "rb") as f:
                tf.addfile(ti, _Exact(decompressor(layer.media_type, f)))
        tags = _names_for(store, ref, image_id)
        entries.append({"Config": f"{image_id}.json", "RepoTags": tags, "Layers": layer_names})
        for t in tags:
            repo, _, tag = t.rpartition(":")
            repositories.setdefault(repo, {})[tag] = image_id
    _add_bytes(tf, "manifest.json", json.dumps(entries).encode())
    _add_bytes(tf, "repositories", json.dumps(repositories).encode())


def _oci_blobs(store: Store, image_id: str) -> tuple[dict[str, Any], list[str]]:
    info = store.info(image_id)
    manifest_raw = store.read_blob(info.manifest_digest)
    manifest = json.loads(manifest_raw)
    digests = [info.manifest_digest, manifest["config"]["digest"]]
    digests += [d["digest"] for d in manifest["layers"]]
    desc = {"mediaType": info.manifest_type, "digest": info.manifest_digest, "size": len(manifest_raw)}
    return desc, digests


def _oci_index(store: Store, images: list[tuple[str, str]]) -> tuple[dict[str, Any], list[str]]:
    manifests = []
    blobs: list[str] = []
    for ref, image_id in images:
        desc, digests = _oci_blobs(store, image_id)
        names = _names_for(store, ref, image_id)
        if names:
            desc["annotations"] = {REF_NAME: names[0]}
        manifests.append(desc)
        blobs += [d for d in digests if d not in blobs]
    return {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}, blobs


def _save_oci(store: Store, images: list[tuple[str, str]], tf: tarfile.TarFile) -> None:
    index, blobs = _oci_index(store, images)
    _add_bytes(tf, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    _add_bytes(tf, "index.json", json.dumps(index).encode())
    for d in blobs:
        path = store.blob_path(d)
        ti = tarfile.TarInfo(f"blobs/sha256/{hexof(d)}")
        ti.size = path.stat().st_size
        ti.mode = 0o644
        with open(path, "rb") as f:
            tf.addfile(ti, f)


def _save_oci_dir(store: Store, images: list[tuple[str, str]], dest: Path) -> None:
    import shutil

    index, blobs = _oci_index(store, images)
    (dest / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (dest / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    for d in blobs:
        shutil.copyfile(store.blob_path(d), dest / "blobs" / "sha256" / hexof(d))
    (dest / "index.json").write_text(json.dumps(index))


# -- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    image_id: str
    names: tuple[str, ...]


def load(store: Store, source: Path) -> list[Loaded]:
    """Load every image of a docker-archive or oci-archive (optionally compressed) or OCI dir."""
    if source.is_dir():
        return _load_oci_dir(store, source)
    try:
        tf = tarfile.open(source, mode="r:*")
    except (tarfile.TarError, OSError) as e:
        raise InvalidSpec(f"{source}: not a docker-archive or oci-archive tarball: {e}") from e
    with tf:
        names = set(tf.getnames())
        norm = {n.removeprefix("./") for n in names}
        if "manifest.json" in norm:
            return _load_docker(store, tf)
        if "index.json" in norm and "oci-layout" in norm:
            return _load_oci(store, lambda p: _member(tf, p))
    raise InvalidSpec(f"{source}: neither a docker-archive (manifest.json) nor an oci-archive (index.json)")


def _member(tf: tarfile.TarFile, name: str) -> IO[bytes]:
    for cand in (name, f"./{name}"):
        try:
            ti = tf.getmember(cand)
        except KeyError:
            continue
        if ti.issym() or ti.islnk():
            ti = tf._find_link_target(ti)  # type: ignore[attr-defined]
        f = tf.extractfile(ti)
        if f is not None:
            return f
    raise StoreError(f"archive member {name!r} is missing")


def _load_docker(store: Store, tf: tarfile.TarFile) -> list[Loaded]:
    try:
        entries = json.loads(_member(tf, "manifest.json").read())
        assert isinstance(entries, list)
    except (ValueError, AssertionError) as e:
        raise StoreError("docker-archive: manifest.json is malformed") from e
    out = []
    for entry in entries:
        config_raw = _member(tf, entry["Config"]).read()
        config = json.loads(config_raw)
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(entry.get("Layers", [])):
            raise StoreError("docker-archive: the config's diff_ids do not match the layers")
        layers = []
        for member, diff_id in zip(entry["Layers"], diff_ids, strict=True):
            digest, size, head = ingest_stream(store, _member(tf, member))
            layers.append(layer_from_blob(store, digest, media_type_of(head), diff_id))
        names = [_docker_name(t) for t in entry.get("RepoTags") or []]
        image_id = commit_image(store, config_raw, layers, names)
        out.append(Loaded(image_id, tuple(names)))
    return out


def _docker_name(tag: str) -> str:
    ref = parse(tag)
    if not ref.qualified:
        ref = ref.with_domain("docker.io")
    return ref.tagged_name


def _load_oci_dir(store: Store, root: Path) -> list[Loaded]:
    if not (root / "index.json").is_file():
        raise InvalidSpec(f"{root}: not an OCI layout (no index.json)")

    def opener(p: str) -> IO[bytes]:
        try:
            return open(root / p, "rb")
        except OSError as e:
            raise StoreError(f"{root}: {p}: {e.strerror}") from e

    return _load_oci(store, opener)


def _load_oci(store: Store, opener: Any) -> list[Loaded]:
    from podctl.image.pull import Platform, choose_platform

    index = json.loads(opener("index.json").read())
    out = []
    for desc in index.get("manifests", []):
        manifest_raw = _blob(opener, desc["digest"])
        manifest = json.loads(manifest_raw)
        mtype = manifest.get("mediaType") or desc.get("mediaType") or MEDIA_MANIFEST
        if "manifests" in manifest:
            child = choose_platform(manifest, Platform.parse(), "oci-archive")
            manifest_raw = _blob(opener, child)
            manifest = json.loads(manifest_raw)
            mtype = manifest.get("mediaType") or MEDIA_MANIFEST
        config_raw = _blob(opener, manifest["config"]["digest"])
        diff_ids = json.loads(config_raw)["rootfs"]["diff_ids"]
        if len(diff_ids) != len(manifest["layers"]):
            raise StoreError("oci-archive: the config's diff_ids do not match the layers")
        layers: list[LayerInfo] = []
        for ldesc, diff_id in zip(manifest["layers"], diff_ids, strict=True):
            if store.has_layer(diff_id) and store.has_blob(ldesc["digest"]):
                info = store.layer_info(diff_id)
                assert info is not None
                layers.append(LayerInfo(diff_id, ldesc["digest"], ldesc["mediaType"], ldesc["size"], info.size))
                continue
            with opener(f"blobs/sha256/{hexof(ldesc['digest'])}") as f:
                digest, size, _ = ingest_stream(store, f, ldesc["digest"])
            layers.append(layer_from_blob(store, digest, ldesc["mediaType"], diff_id))
        name = (desc.get("annotations") or {}).get(REF_NAME, "")
        names = []
        if name and ("/" in name or ":" in name):
            try:
                names = [normalize_name(name)]
            except InvalidSpec:
                names = []
        image_id = commit_image(store, config_raw, layers, names, manifest_raw=manifest_raw,
                                manifest_type=mtype)  # fmt: skip
        out.append(Loaded(image_id, tuple(names)))
    return out


def _blob(opener: Any, digest: str) -> bytes:
    import hashlib

    data: bytes = opener(f"blobs/sha256/{hexof(digest)}").read()
    got = "sha256:" + hashlib.sha256(data).hexdigest()
    if got != digest:
        raise StoreError(f"archive blob {digest}: digest mismatch (got {got})")
    return data


# -- import --------------------------------------------------------------------------------------


CHANGE_KEYS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
               "WORKDIR", "ONBUILD")  # fmt: skip


def apply_changes(config: dict[str, Any], changes: Sequence[str]) -> None:
    """Dockerfile-style `--change` instructions, as `podman import --change` accepts them."""
    for change in changes:
        text = change.strip()
        key, value = _split_change(text)
        key = key.upper()
        if key not in CHANGE_KEYS:
            raise InvalidSpec(f"--change {change!r}: unsupported instruction {key!r} "
                              f"(one of {', '.join(CHANGE_KEYS)})")  # fmt: skip
        if key in ("CMD", "ENTRYPOINT"):
            config["Cmd" if key == "CMD" else "Entrypoint"] = _cmd_value(value, change)
        elif key == "ENV":
            for k, v in _kv_pairs(value, change):
                env = [e for e in config.get("Env", []) if e.split("=", 1)[0] != k]
                config["Env"] = [*env, f"{k}={v}"]
        elif key == "LABEL":
            labels = config.setdefault("Labels", {})
            for k, v in _kv_pairs(value, change):
                labels[k] = v
        elif key == "EXPOSE":
            ports = config.setdefault("ExposedPorts", {})
            for p in value.split():
                ports[p if "/" in p else f"{p}/tcp"] = {}
        elif key == "VOLUME":
            vols = config.setdefault("Volumes", {})
            for v in _list_value(value):
                vols[v] = {}
        elif key == "USER":
            config["User"] = value
        elif key == "WORKDIR":
            config["WorkingDir"] = value
        elif key == "STOPSIGNAL":
            config["StopSignal"] = value
        elif key == "ONBUILD":
            config.setdefault("OnBuild", []).append(value)


def _split_change(text: str) -> tuple[str, str]:
    for i, ch in enumerate(text):
        if ch in " =":
            return text[:i], text[i + 1 :].strip()
    raise InvalidSpec(f"--change {text!r}: expected INSTRUCTION VALUE")


def _cmd_value(value: str, change: str) -> list[str]:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError as e:
            raise InvalidSpec(f"--change {change!r}: invalid JSON array") from e
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise InvalidSpec(f"--change {change!r}: must be a JSON array of strings")
        return parsed
    return ["/bin/sh", "-c", value]


def _list_value(value: str) -> list[str]:
    if value.startswith("["):
        try:
            return [str(x) for x in json.loads(value)]
        except ValueError as e:
            raise InvalidSpec(f"--change VOLUME {value!r}: invalid JSON array") from e
    return value.split()


def _kv_pairs(value: str, change: str) -> list[tuple[str, str]]:
    words = shlex.split(value)
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise InvalidSpec(f"--change {change!r}: expected KEY=VALUE or KEY VALUE")
        return [(words[0], " ".join(words[1:]))]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise InvalidSpec(f"--change {change!r}: expected KEY=VALUE, got {w!r}")
        out.append((k, v))
    return out


@dataclass(frozen=True)
class ImportOptions:
    reference: str = ""
    changes: tuple[str, ...] = ()
    message: str = ""
    os: str = "linux"
    arch: str = ""
    variant: str = ""


def import_tarball(store: Store, src: IO[bytes], opts: ImportOptions) -> str:
    """A one-layer image from a (possibly compressed) rootfs tarball; return its id."""
    from podctl.image.pull import host_arch

    config_section: dict[str, Any] = {}
    apply_changes(config_section, opts.changes)
    names = [normalize_name(opts.reference)] if opts.reference else []
    digest, size, head = ingest_stream(store, src)
    if size == 0:
        raise InvalidSpec("import: the tarball is empty")
    media_type = media_type_of(head)
    layer = layer_from_blob(store, digest, media_type)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    config: dict[str, Any] = {
        "created": now,
        "architecture": opts.arch or host_arch(),
        "os": opts.os or "linux",
        "config": config_section,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": now, "created_by": "/bin/sh -c #(nop) ADD file in /",
                     **({"comment": opts.message} if opts.message else {})}],  # fmt: skip
    }
    if opts.variant:
        config["variant"] = opts.variant
    if opts.message:
        config["comment"] = opts.message
    return commit_image(store, config, [layer], names)


def copy_stream(src: IO[bytes], dest: IO[bytes]) -> None:
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        dest.write(chunk)


def spool(store: Store, src: IO[bytes]) -> Path:
    """Copy a non-seekable input (stdin) to a temp file in the store."""
    tmp = store.temp_path("load")
    with open(tmp, "wb") as f:
        copy_stream(src, f)
    return tmp


def is_stdin_path(path: str) -> bool:
    return path in ("", "-", "/dev/stdin")
