"""Image verbs: pull, push, list, inspect, remove, tag, untag, exists, prune, save, load, import.

Each verb takes the Config and a frozen *Options, and returns plain data or a *Report; the CLI
only parses flags and prints. Verbs that write into the store join the user namespace first
(layer files belong to subordinate ids), before any thread is started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from podctl.config import Config
from podctl.errors import InvalidSpec, NotFound, PodctlError, StateError
from podctl.image.store import ImageInfo, Store, open_store


def _store(cfg: Config, *, join: bool) -> Store:
    if join:
        from podctl.rootless import userns

        userns.join(cfg)
    return open_store(cfg)


# -- pull ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullOptions:
    references: tuple[str, ...]
    tls_verify: bool | None = None
    creds: str | None = None
    authfile: str | None = None
    platform: str = ""
    os: str = ""
    arch: str = ""
    variant: str = ""
    quiet: bool = False
    all_tags: bool = False
    progress: Callable[[str], None] | None = None
    layer_progress: Callable[[str, int, int], None] | None = None


def pull(cfg: Config, opts: PullOptions) -> list[str]:
    """Pull each reference; return the image ids (podman prints them)."""
    from podctl.image import auth
    from podctl.image import pull as puller

    plat = puller.Platform.parse(opts.platform, os_name=opts.os, arch=opts.arch, variant=opts.variant)
    creds = auth.parse_creds(opts.creds) if opts.creds else None
    store = _store(cfg, join=True)
    popts = puller.PullOptions(
        tls_verify=opts.tls_verify, creds=creds, authfile=opts.authfile, platform=plat,
        quiet=opts.quiet, progress=opts.progress, layer_progress=opts.layer_progress,
    )  # fmt: skip
    refs = list(opts.references)
    if opts.all_tags:
        refs = [tagged for ref in refs for tagged in puller.all_tags(ref, popts)]
    return [puller.pull(store, ref, popts) for ref in refs]


# -- list / inspect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListOptions:
    all: bool = False
    filters: tuple[str, ...] = ()
    reference: str = ""


@dataclass(frozen=True)
class ImageSummary:
    info: ImageInfo
    config: dict[str, Any] = field(compare=False)
    containers: int = 0

    @property
    def created_unix(self) -> int:
        return parse_time(str(self.config.get("created") or self.info.created))

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    @property
    def dangling(self) -> bool:
        return not self.info.names


def parse_time(text: str) -> int:
    if not text:
        return 0
    t = text.strip().replace("Z", "+00:00")
    if "." in t:  # Go writes nanoseconds; Python takes at most microseconds
        head, _, rest = t.partition(".")
        frac = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(frac):]
        t = f"{head}.{frac[:6]}{tz}"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return 0
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def list_images(cfg: Config, opts: ListOptions) -> list[ImageSummary]:
    store = open_store(cfg)
    users = container_counts(cfg)
    out = [ImageSummary(info, store.config(info.id), users.get(info.id, 0)) for info in store.all()]
    preds = [_filter(store, f) for f in opts.filters]
    if opts.reference:
        preds.append(_filter(store, f"reference={opts.reference}"))
    return [s for s in out if all(p(s) for p in preds)]


def _filter(store: Store, text: str) -> Callable[[ImageSummary], bool]:
    import fnmatch

    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidSpec(f"--filter {text!r}: expected KEY=VALUE")
    if key == "reference":

        def by_ref(s: ImageSummary) -> bool:
            for name in s.info.names:
                repo = name.rpartition(":")[0] if ":" in name.rpartition("/")[2] else name
                pattern = value if ":" in value.rpartition("/")[2] else f"{value}:*"
                short = name.split("/", 1)[1] if "/" in name else name
                if any(fnmatch.fnmatchcase(n, pattern) for n in (name, short)) or any(
                    fnmatch.fnmatchcase(n, value) for n in (repo, repo.rpartition("/")[2])
                ):
                    return True
            return False

        return by_ref
    if key == "dangling":
        want = value.lower() in ("true", "1")
        return lambda s: s.dangling == want
    if key == "label":
        lk, lsep, lv = value.partition("=")
        return lambda s: lk in s.labels and (not lsep or s.labels[lk] == lv)
    if key == "id":
        return lambda s: s.info.id.startswith(value.removeprefix("sha256:"))
    if key in ("before", "since"):
        ref_time = store.info(store.lookup(value)).added
        if key == "before":
            return lambda s: s.info.added < ref_time
        return lambda s: s.info.added > ref_time
    if key == "digest":
        return lambda s: any(d.endswith("@" + value) for d in s.info.digests)
    raise InvalidSpec(f"--filter {text!r}: unsupported filter {key!r} "
                      "(reference, dangling, label, id, before, since, digest)")  # fmt: skip


def inspect(cfg: Config, refs: Sequence[str]) -> tuple[list[dict[str, Any]], list[PodctlError]]:
    """podman's `image inspect` JSON for each image; errors are returned per item."""
    store = open_store(cfg)
    out: list[dict[str, Any]] = []
    errors: list[PodctlError] = []
    for ref in refs:
        try:
            out.append(inspect_data(store, store.lookup(ref)))
        except PodctlError as e:
            errors.append(e)
    return out, errors


def inspect_data(store: Store, image_id: str) -> dict[str, Any]:
    info = store.info(image_id)
    conf = store.config(image_id)
    cc = conf.get("config") or {}
    return {
        "Id": image_id,
        "Digest": info.manifest_digest,
        "RepoTags": list(info.names),
        "RepoDigests": list(info.digests),
        "Parent": "",
        "Comment": conf.get("comment", ""),
        "Created": conf.get("created", ""),
        "Config": cc,
        "Version": conf.get("docker_version", ""),
        "Author": conf.get("author", ""),
        "Architecture": conf.get("architecture", ""),
        "Os": conf.get("os", ""),
        "Size": info.size,
        "VirtualSize": info.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": ":".join(str(store.layer_dir(layer.diff_id)) for layer in reversed(info.layers)),
            },
        },
        "RootFS": {"Type": "layers", "Layers": [layer.diff_id for layer in info.layers]},
        "Labels": cc.get("Labels") or {},
        "Annotations": {},
        "ManifestType": info.manifest_type,
        "User": cc.get("User", ""),
        "History": conf.get("history", []),
        "NamesHistory": list(info.names),
    }


def history(cfg: Config, ref: str) -> list[dict[str, Any]]:
    """The image's history, newest first, with the size of the layer each step made."""
    store = open_store(cfg)
    image_id = store.lookup(ref)
    info = store.info(image_id)
    conf = store.config(image_id)
    sizes = [layer.size for layer in info.layers]
    entries = conf.get("history") or [{} for _ in sizes]
    out = []
    layer = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer") and layer < len(sizes):
            size = sizes[layer]
            layer += 1
        out.append({"id": "<missing>", "created": h.get("created", ""), "CreatedBy": h.get("created_by", ""),
                    "size": size, "comment": h.get("comment", ""), "tags": None})  # fmt: skip
    out.reverse()
    if out:
        out[0]["id"] = image_id
        out[0]["tags"] = list(info.names) or None
    return out


def exists(cfg: Config, ref: str) -> bool:
    return open_store(cfg).exists(ref)


# -- tag / untag ---------------------------------------------------------------------------------


def tag(cfg: Config, source: str, targets: Sequence[str]) -> None:
    from podctl.image.reference import normalize_name

    store = open_store(cfg)
    image_id = store.lookup(source)
    store.tag(image_id, [normalize_name(t) for t in targets])


def untag(cfg: Config, source: str, targets: Sequence[str]) -> list[str]:
    from podctl.image.reference import normalize_name, parse

    store = open_store(cfg)
    image_id = store.lookup(source)
    if not targets:
        return store.untag(image_id, None)
    names = []
    current = store.info(image_id).names
    for t in targets:
        ref = parse(t)
        if ref.qualified:
            names.append(normalize_name(t))
            continue
        # A short name matches any stored name that ends with it (localhost/ first).
        want = normalize_name(t)
        match = want if want in current else next(
            (n for n in current if n.endswith("/" + ref.path + ":" + ref.tag_or_latest)), want
        )
        names.append(match)
    return store.untag(image_id, names)


# -- remove / prune ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoveOptions:
    references: tuple[str, ...] = ()
    force: bool = False
    all: bool = False
    ignore: bool = False


@dataclass
class RemoveReport:
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[PodctlError] = field(default_factory=list)


def remove(cfg: Config, opts: RemoveOptions) -> RemoveReport:
    """podman rmi: untag a name given when the image has several; else delete the image."""
    from podctl.image.reference import parse

    store = _store(cfg, join=True)
    report = RemoveReport()
    refs = list(opts.references)
    if opts.all:
        refs = store.ids()
    for ref in refs:
        try:
            image_id = store.lookup(ref)
        except NotFound as e:
            if not opts.ignore:
                report.errors.append(e)
            continue
        try:
            info = store.info(image_id)
            by_name = not image_id.startswith(ref.removeprefix("sha256:")) and not opts.all
            if by_name and len(info.names) > 1 and not opts.force:
                name = _matching_name(ref, info.names, parse)
                store.untag(image_id, [name])
                report.untagged.append(name)
                continue
            users = containers_using(cfg, image_id)
            if users and not opts.force:
                raise StateError(
                    f"image used by {', '.join(u[:12] for u in users)}: image is in use by a container: "
                    "consider listing external containers and force-removing image",
                )
            if users:
                _remove_containers(cfg, users)
            report.untagged.extend(info.names)
            store.delete(image_id)
            report.deleted.append(image_id)
        except PodctlError as e:
            report.errors.append(e)
    return report


def containers_using(cfg: Config, image_id: str) -> list[str]:
    """The ids of the containers created from IMAGE_ID (rmi refuses to remove it)."""
    if not cfg.state_db.exists():
        return []
    from podctl.state.containers import StateDB

    db = StateDB(cfg.state_db)
    try:
        return [rec.id for rec in db.containers() if rec.image_id == image_id]
    finally:
        db.close()


def container_counts(cfg: Config) -> dict[str, int]:
    """How many containers use each image id."""
    if not cfg.state_db.exists():
        return {}
    from podctl.state.containers import StateDB

    db = StateDB(cfg.state_db)
    try:
        counts: dict[str, int] = {}
        for rec in db.containers():
            if rec.image_id:
                counts[rec.image_id] = counts.get(rec.image_id, 0) + 1
        return counts
    finally:
        db.close()


def _remove_containers(cfg: Config, ids: Sequence[str]) -> None:
    """`rmi -f` removes the containers using the image first, as podman does."""
    from podctl.engine import containers as engine_containers

    for item in engine_containers.rm(cfg, list(ids), force=True):
        if item.error is not None:
            raise item.error


def _matching_name(ref: str, names: Sequence[str], parse: Any) -> str:
    r = parse(ref)
    want = f"{r.name}:{r.tag_or_latest}"
    if want in names:
        return want
    for n in names:
        if n.endswith("/" + f"{r.path}:{r.tag_or_latest}"):
            return n
    return names[0]


@dataclass(frozen=True)
class PruneOptions:
    all: bool = False
    filters: tuple[str, ...] = ()


def prune(cfg: Config, opts: PruneOptions) -> RemoveReport:
    """Remove dangling images (all unused ones with --all)."""
    store = _store(cfg, join=True)
    report = RemoveReport()
    preds = [_filter(store, f) for f in opts.filters]
    for info in store.all():
        summary = ImageSummary(info, store.config(info.id))
        if not all(p(summary) for p in preds):
            continue
        if info.names and not opts.all:
            continue
        if containers_using(cfg, info.id):
            continue
        store.delete(info.id)
        report.deleted.append(info.id)
    with store.lock(exclusive=True):
        store.gc()
    return report


# -- system df / check ---------------------------------------------------------------------------


def disk_usage(cfg: Config) -> dict[str, Any]:
    """The images part of `system df`: layers are shared, so each one counts once."""
    store = open_store(cfg)
    infos = store.all()
    users = container_counts(cfg)
    sizes: dict[str, int] = {}
    used: set[str] = set()
    for i in infos:
        for layer in i.layers:
            sizes[layer.diff_id] = layer.size
            if users.get(i.id):
                used.add(layer.diff_id)
    total = sum(sizes.values())
    reclaimable = sum(size for diff_id, size in sizes.items() if diff_id not in used)
    return {"Type": "Images", "Total": len(infos), "Active": sum(1 for i in infos if users.get(i.id)),
            "Size": total, "Reclaimable": reclaimable}  # fmt: skip



# -- push ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushOptions:
    source: str
    destination: str | None = None
    tls_verify: bool | None = None
    creds: str | None = None
    authfile: str | None = None
    quiet: bool = False
    digestfile: str | None = None
    progress: Callable[[str], None] | None = None


def push(cfg: Config, opts: PushOptions) -> str:
    from podctl.image import auth
    from podctl.image import push as pusher

    store = open_store(cfg)
    creds = auth.parse_creds(opts.creds) if opts.creds else None
    digest = pusher.push(store, opts.source, opts.destination, pusher.PushOptions(
        tls_verify=opts.tls_verify, creds=creds, authfile=opts.authfile, quiet=opts.quiet,
        progress=opts.progress,
    ))  # fmt: skip
    if opts.digestfile:
        from pathlib import Path

        Path(opts.digestfile).write_text(digest)
    return digest


# -- save / load / import ------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveOptions:
    references: tuple[str, ...]
    output: str = ""  # "" = stdout
    format: str = "docker-archive"


def save(cfg: Config, opts: SaveOptions, stdout: Any = None) -> None:
    import os
    from pathlib import Path

    from podctl.image import archive

    store = open_store(cfg)
    if opts.format == "oci-dir":
        if not opts.output:
            raise InvalidSpec("--format oci-dir needs --output DIR")
        archive.save(store, opts.references, Path(opts.output), opts.format)
        return
    if not opts.output:
        archive.save(store, opts.references, stdout, opts.format)
        return
    dest = Path(opts.output)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            archive.save(store, opts.references, f, opts.format)
        os.replace(tmp, dest)
    except OSError as e:
        raise PodctlError(f"{dest}: cannot write: {e.strerror}") from e
    finally:
        tmp.unlink(missing_ok=True)


def load(cfg: Config, source: str, stdin: Any = None) -> list[Any]:
    from pathlib import Path

    from podctl.image import archive

    store = _store(cfg, join=True)
    with store.lock():
        if archive.is_stdin_path(source):
            tmp = archive.spool(store, stdin)
            try:
                return archive.load(store, tmp)
            finally:
                tmp.unlink(missing_ok=True)
        path = Path(source)
        if not path.exists():
            raise NotFound(f"{source}: no such file or directory")
        return archive.load(store, path)


def import_image(cfg: Config, source: str, opts: Any, stdin: Any = None) -> str:
    from podctl.image import archive

    store = _store(cfg, join=True)
    with store.lock():
        if archive.is_stdin_path(source):
            return archive.import_tarball(store, stdin, opts)
        if source.startswith(("http://", "https://")):
            import urllib.request

            try:
                with urllib.request.urlopen(source, timeout=60) as resp:  # noqa: S310
                    return archive.import_tarball(store, resp, opts)
            except OSError as e:
                raise PodctlError(f"{source}: cannot download: {e}") from e
        try:
            f = open(source, "rb")  # noqa: SIM115
        except OSError as e:
            raise NotFound(f"{source}: {e.strerror}") from e
        with f:
            return archive.import_tarball(store, f, opts)


# -- login / logout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOptions:
    registry: str
    username: str
    password: str
    authfile: str | None = None
    tls_verify: bool | None = None


def login(cfg: Config, opts: LoginOptions) -> str:
    """Check the credentials against the registry, then store them (podman's auth.json)."""
    from podctl.image import auth, registries
    from podctl.image.client import RegistryClient

    key = opts.registry.removeprefix("https://").removeprefix("http://").rstrip("/")
    host = key.split("/", 1)[0]
    conf = registries.load()
    creds = auth.Credentials(opts.username, opts.password)
    client = RegistryClient.for_registry(host, insecure=conf.insecure(host), tls_verify=opts.tls_verify,
                                         creds=creds)  # fmt: skip
    client.login_check()
    client.close()
    auth.store(key, creds, opts.authfile)
    return key


def logout(cfg: Config, registry: str, *, all_: bool = False, authfile: str | None = None) -> bool:
    from podctl.image import auth

    if all_:
        auth.remove_all(authfile)
        return True
    return auth.remove(registry, authfile)


# -- system check --------------------------------------------------------------------------------


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def check(cfg: Config, *, repair: bool = False, quick: bool = False) -> CheckReport:
    """Verify the store: records point at present, intact blobs and unpacked layers."""
    import hashlib
    import os

    store = _store(cfg, join=True)
    report = CheckReport()
    with store.lock(exclusive=True):
        damaged: set[str] = set()
        for info in store.all():
            needed = [(info.manifest_digest, "manifest"), (f"sha256:{info.id}", "config")]
            needed += [(layer.blob_digest, "layer blob") for layer in info.layers if layer.blob_digest]
            for digest, what in needed:
                path = store.blob_path(digest)
                if not path.is_file():
                    report.errors.append(f"image {info.id[:12]}: {what} {digest} is missing")
                    damaged.add(info.id)
                    continue
                if not quick:
                    h = hashlib.sha256()
                    with open(path, "rb") as f:
                        while chunk := f.read(1 << 20):
                            h.update(chunk)
                    if "sha256:" + h.hexdigest() != digest:
                        report.errors.append(f"image {info.id[:12]}: {what} {digest} is corrupt")
                        damaged.add(info.id)
            for layer in info.layers:
                if not store.layer_dir(layer.diff_id).is_dir():
                    report.errors.append(f"image {info.id[:12]}: layer {layer.diff_id} is not unpacked")
                    damaged.add(info.id)
        _, diffs = store.referenced()
        keep = {d.split(":", 1)[1] for d in diffs}
        for entry in os.scandir(store.layers):
            if entry.name.startswith(".tmp-"):
                report.errors.append(f"leftover temporary layer {entry.name}")
            elif entry.name not in keep:
                report.errors.append(f"layer {entry.name} is not used by any image")
        for entry in os.scandir(store.tmp):
            report.errors.append(f"leftover temporary file {entry.name}")
        if repair:
            for image_id in damaged:
                from podctl.state import db

                with db.transaction(store.conn) as c:
                    c.execute("DELETE FROM images WHERE id=?", (image_id,))
                report.repaired.append(f"removed damaged image {image_id[:12]}")
            removed = store.gc()
            if any(removed):
                report.repaired.append(f"removed {removed[0]} unused layers and {removed[1]} unused blobs")
    return report
