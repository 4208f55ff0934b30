"""The content-addressed image store.

Layout under `<root>/images/`:

- `blobs/sha256/<hex>`: manifests, configs and compressed layers, each named by its digest;
  written to `tmp/` first and renamed only once verified.
- `layers/<diff_id hex>/`: each layer unpacked once, in the overlay `userxattr` format, shared
  by every image that uses it (the directory is the overlay lowerdir).
- `images.db`: SQLite records of images, their names (tags), repo digests and layers.
- `store.lock`: pulls hold it shared, removals exclusive, so garbage collection never deletes
  a layer a concurrent pull is about to reference.

Files in `layers/` are owned by subordinate ids: anything that writes or deletes there runs
inside the user namespace (`userns.join(cfg)` first).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from podctl import fastjson as json
from podctl.errors import InvalidSpec, NotFound, StoreError
from podctl.image.api import ImageRecord, PullPolicy
from podctl.image.reference import Reference, is_image_id, parse
from podctl.state import db
from podctl.state.db import sqlite3

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any

    from podctl.config import Config
    from podctl.image.pull import PullOptions
else:
    from podctl.records import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_type TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT '',
    added REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS names_image ON names(image_id);
CREATE TABLE IF NOT EXISTS digests (
    repo TEXT NOT NULL,
    digest TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (repo, digest)
);
CREATE TABLE IF NOT EXISTS layers (
    diff_id TEXT PRIMARY KEY,
    blob_digest TEXT NOT NULL DEFAULT '',
    media_type TEXT NOT NULL DEFAULT '',
    compressed_size INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    diff_id TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, idx)
)
"""


def hexof(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise StoreError(f"unsupported or malformed digest {digest!r}")
    return hexpart


@dataclass(frozen=True)
class LayerInfo:
    diff_id: str
    blob_digest: str
    media_type: str
    compressed_size: int
    size: int


@dataclass(frozen=True)
class ImageInfo:
    """An image as `images` and `image inspect` show it."""

    id: str
    names: tuple[str, ...]
    digests: tuple[str, ...]  # repo@sha256:...
    manifest_digest: str
    manifest_type: str
    created: str
    added: float
    size: int
    layers: tuple[LayerInfo, ...]


class Store:
    """The image store of one storage root; implements podctl.image.api.ImageStore."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.dir = cfg.root / "images"
        self.blobs = self.dir / "blobs" / "sha256"
        self.layers = self.dir / "layers"
        self.tmp = self.dir / "tmp"
        self._conn: sqlite3.Connection | None = None

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            for d in (self.blobs, self.layers, self.tmp):
                try:
                    d.mkdir(parents=True, exist_ok=True, mode=0o700)
                except OSError as e:
                    raise StoreError(f"cannot create {d}: {e.strerror}") from e
            self._conn = db.connect(self.dir / "images.db", SCHEMA)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def lock(self, exclusive: bool = False) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.dir / "store.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def blob_path(self, digest: str) -> Path:
        return self.blobs / hexof(digest)

    def layer_dir(self, diff_id: str) -> Path:
        return self.layers / hexof(diff_id)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except OSError as e:
            raise StoreError(f"blob {digest} is missing from the store: {e.strerror}") from e

    def temp_path(self, what: str) -> Path:
        self.conn  # noqa: B018 - creates the directories
        return self.tmp / f"{what}.{os.getpid()}.{os.urandom(4).hex()}"

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        """Store DATA, verified against DIGEST when given; return its digest."""
        import hashlib

        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest is not None and digest != actual:
            raise StoreError(f"digest mismatch: expected {digest}, got {actual}")
        path = self.blob_path(actual)
        if not path.exists():
            tmp = self.temp_path("blob")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return actual

    def commit_blob(self, tmp: Path, digest: str) -> None:
        os.replace(tmp, self.blob_path(digest))

    def has_layer(self, diff_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM layers WHERE diff_id=?", (diff_id,)).fetchone()
        return row is not None and self.layer_dir(diff_id).is_dir()

    def layer_info(self, diff_id: str) -> LayerInfo | None:
        row = self.conn.execute("SELECT * FROM layers WHERE diff_id=?", (diff_id,)).fetchone()
        return _layer(row) if row else None

    # -- records ---------------------------------------------------------------------------------

    def add_image(
        self,
        *,
        config_digest: str,
        manifest_digest: str,
        manifest_type: str,
        layers: Sequence[LayerInfo],
        names: Sequence[str] = (),
        digests: Sequence[tuple[str, str]] = (),
        created: str = "",
    ) -> str:
        """Record an image whose blobs and layer dirs are in place; move NAMES onto it."""
        image_id = hexof(config_digest)
        for layer in layers:
            if not self.layer_dir(layer.diff_id).is_dir():
                raise StoreError(f"layer {layer.diff_id} is not unpacked in the store")
        size = sum(layer.size for layer in layers)
        with db.transaction(self.conn) as c:
            for layer in layers:
                c.execute(
                    "INSERT OR IGNORE INTO layers VALUES (?,?,?,?,?)",
                    (layer.diff_id, layer.blob_digest, layer.media_type, layer.compressed_size,
                     layer.size),
                )  # fmt: skip
                if layer.blob_digest:
                    c.execute(
                        "UPDATE layers SET blob_digest=?, media_type=?, compressed_size=? "
                        "WHERE diff_id=? AND blob_digest=''",
                        (layer.blob_digest, layer.media_type, layer.compressed_size, layer.diff_id),
                    )
            exists = c.execute("SELECT 1 FROM images WHERE id=?", (image_id,)).fetchone()
            if exists:
                c.execute(
                    "UPDATE images SET manifest_digest=?, manifest_type=? WHERE id=?",
                    (manifest_digest, manifest_type, image_id),
                )
            else:
                c.execute(
                    "INSERT INTO images VALUES (?,?,?,?,?,?)",
                    (image_id, manifest_digest, manifest_type, created, time.time(), size),
                )
                c.executemany(
                    "INSERT INTO image_layers VALUES (?,?,?)",
                    [(image_id, i, layer.diff_id) for i, layer in enumerate(layers)],
                )
            for name in names:
                c.execute("INSERT OR REPLACE INTO names VALUES (?,?)", (name, image_id))
            for repo, digest in digests:
                c.execute("INSERT OR REPLACE INTO digests VALUES (?,?,?)", (repo, digest, image_id))
        return image_id

    def ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM images ORDER BY added DESC")]

    def info(self, image_id: str) -> ImageInfo:
        c = self.conn
        row = c.execute("SELECT * FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            raise NotFound(f"{image_id}: image not known")
        names = tuple(
            r[0] for r in c.execute("SELECT name FROM names WHERE image_id=? ORDER BY rowid", (image_id,))
        )
        digests = tuple(
            f"{r[0]}@{r[1]}"
            for r in c.execute("SELECT repo, digest FROM digests WHERE image_id=? ORDER BY repo", (image_id,))
        )
        layers = tuple(
            _layer(r)
            for r in c.execute(
                "SELECT l.* FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id "
                "WHERE il.image_id=? ORDER BY il.idx",
                (image_id,),
            )
        )
        return ImageInfo(
            id=image_id, names=names, digests=digests, manifest_digest=row["manifest_digest"],
            manifest_type=row["manifest_type"], created=row["created"], added=row["added"],
            size=row["size"], layers=layers,
        )  # fmt: skip

    def all(self) -> list[ImageInfo]:
        return [self.info(i) for i in self.ids()]

    def config(self, image_id: str) -> dict[str, Any]:
        data = self.read_blob(f"sha256:{image_id}")
        try:
            cfg = json.loads(data)
        except ValueError as e:
            raise StoreError(f"image {image_id[:12]}: config blob is not valid JSON") from e
        if not isinstance(cfg, dict):
            raise StoreError(f"image {image_id[:12]}: config blob is not a JSON object")
        return cfg

    def manifest(self, image_id: str) -> tuple[dict[str, Any], bytes]:
        info = self.info(image_id)
        raw = self.read_blob(info.manifest_digest)
        return json.loads(raw), raw

    def record(self, image_id: str) -> ImageRecord:
        info = self.info(image_id)
        return ImageRecord(
            id=image_id,
            names=info.names,
            digest=info.manifest_digest,
            config=self.config(image_id),
            layer_dirs=tuple(self.layer_dir(layer.diff_id) for layer in info.layers),
            size=info.size,
        )

    # -- lookup ----------------------------------------------------------------------------------

    def lookup(self, text: str) -> str:
        """The id of the local image TEXT names (name, short name, digest, id or id prefix)."""
        c = self.conn
        if is_image_id(text):
            hexid = text.removeprefix("sha256:")
            if c.execute("SELECT 1 FROM images WHERE id=?", (hexid,)).fetchone():
                return hexid
            raise NotFound(f"{text}: image not known")
        try:
            ref = parse(text)
        except InvalidSpec:
            ref = None
        if ref is not None:
            found = self._by_name(ref)
            if found:
                return found
        hexpart = text.removeprefix("sha256:")
        if 3 <= len(hexpart) < 64 and all(ch in "0123456789abcdef" for ch in hexpart):
            rows = c.execute(
                "SELECT id FROM images WHERE id >= ? AND id < ?", (hexpart, hexpart + "g")
            ).fetchall()
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                raise InvalidSpec(f"{text}: image id prefix is ambiguous ({len(rows)} images)")
        raise NotFound(f"{text}: image not known")

    def _by_name(self, ref: Reference) -> str | None:
        c = self.conn
        if ref.digest:
            names = [ref.name] if ref.qualified else self._short_names(ref.path)
            for name in names:
                row = c.execute(
                    "SELECT image_id FROM digests WHERE repo=? AND digest=?", (name, ref.digest)
                ).fetchone()
                if row:
                    return str(row[0])
            if not ref.qualified:
                row = c.execute(
                    "SELECT image_id FROM digests WHERE digest=? AND (repo=? OR repo LIKE ?)",
                    (ref.digest, ref.path, "%/" + _like(ref.path)),
                ).fetchone()
                if row:
                    return str(row[0])
            return None
        tag = ref.tag_or_latest
        names = [ref.name] if ref.qualified else self._short_names(ref.path)
        for name in names:
            row = c.execute("SELECT image_id FROM names WHERE name=?", (f"{name}:{tag}",)).fetchone()
            if row:
                return str(row[0])
        if not ref.qualified:
            # podman also matches a short name against the last components of stored names.
            row = c.execute(
                "SELECT n.image_id FROM names n JOIN images i ON i.id = n.image_id "
                "WHERE n.name LIKE ? ESCAPE '\\' ORDER BY i.added DESC",
                ("%/" + _like(f"{ref.path}:{tag}"),),
            ).fetchone()
            if row:
                return str(row[0])
        return None

    def _short_names(self, path: str) -> list[str]:
        from podctl.image import registries

        out = [f"localhost/{path}"]
        try:
            conf = registries.load()
        except StoreError:
            return out
        except Exception:  # noqa: BLE001 - a broken registries.conf must not break lookups
            return out
        alias = conf.aliases.get(path)
        if alias:
            out.insert(0, parse(alias).name)
        for reg in conf.search:
            out.append(Reference("", path).with_domain(reg).name)
        return out

    def resolve(self, ref: str) -> ImageRecord:
        return self.record(self.lookup(ref))

    def exists(self, ref: str) -> bool:
        try:
            self.lookup(ref)
        except NotFound:
            return False
        return True

    def ensure(
        self,
        ref: str,
        policy: PullPolicy = PullPolicy.MISSING,
        options: PullOptions | None = None,
    ) -> ImageRecord:
        """The image, pulled first when POLICY asks for it (joins the user namespace)."""
        policy = PullPolicy(policy)
        if policy in (PullPolicy.MISSING, PullPolicy.NEVER):
            try:
                return self.resolve(ref)
            except NotFound:
                if policy == PullPolicy.NEVER:
                    raise
        from podctl.errors import RegistryError
        from podctl.image.pull import PullOptions, pull
        from podctl.rootless import userns

        userns.join(self.cfg)
        try:
            image_id = pull(self, ref, options or PullOptions(quiet=True))
        except RegistryError:
            if policy == PullPolicy.NEWER and self.exists(ref):
                return self.resolve(ref)
            raise
        return self.record(image_id)

    # -- names -----------------------------------------------------------------------------------

    def tag(self, image_id: str, names: Sequence[str]) -> None:
        with db.transaction(self.conn) as c:
            for name in names:
                c.execute("INSERT OR REPLACE INTO names VALUES (?,?)", (name, image_id))

    def untag(self, image_id: str, names: Sequence[str] | None = None) -> list[str]:
        """Remove NAMES (all names when None) from the image; return the names removed."""
        with db.transaction(self.conn) as c:
            current = [
                r[0] for r in c.execute("SELECT name FROM names WHERE image_id=?", (image_id,))
            ]
            todo = current if names is None else list(names)
            for name in todo:
                if name not in current:
                    raise NotFound(f"{name}: tag not known for image {image_id[:12]}")
                c.execute("DELETE FROM names WHERE name=?", (name,))
        return todo

    # -- removal and garbage collection ------------------------------------------------------------

    def delete(self, image_id: str) -> None:
        """Remove the image record, then every blob and layer no image references any more."""
        with self.lock(exclusive=True):
            with db.transaction(self.conn) as c:
                c.execute("DELETE FROM images WHERE id=?", (image_id,))
            self.gc()

    def referenced(self) -> tuple[set[str], set[str]]:
        """(blob digests, diff_ids) that some image needs."""
        c = self.conn
        blobs: set[str] = set()
        diffs: set[str] = set()
        for row in c.execute("SELECT id, manifest_digest FROM images"):
            blobs.add(f"sha256:{row[0]}")
            blobs.add(row[1])
        for row in c.execute(
            "SELECT DISTINCT l.diff_id, l.blob_digest FROM image_layers il "
            "JOIN layers l ON l.diff_id = il.diff_id"
        ):
            diffs.add(row[0])
            if row[1]:
                blobs.add(row[1])
        return blobs, diffs

    def gc(self) -> tuple[int, int]:
        """Delete unreferenced layers and blobs and stale temp files (caller holds the lock)."""
        blobs, diffs = self.referenced()
        with db.transaction(self.conn) as c:
            c.execute(
                "DELETE FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers)"
            )
        removed_layers = removed_blobs = 0
        keep_layers = {hexof(d) for d in diffs}
        for entry in os.scandir(self.layers):
            if entry.name not in keep_layers:
                _rmtree(Path(entry.path))
                removed_layers += 1
        keep_blobs = {hexof(d) for d in blobs}
        for entry in os.scandir(self.blobs):
            if entry.name not in keep_blobs:
                os.unlink(entry.path)
                removed_blobs += 1
        self.clean_tmp()
        return removed_layers, removed_blobs

    def discard_unreferenced(self, diff_ids: Sequence[str], blobs: Sequence[str]) -> None:
        """Remove these layers and blobs unless an image record references them."""
        ref_blobs, ref_diffs = self.referenced()
        known = {r[0] for r in self.conn.execute("SELECT diff_id FROM layers")}
        for d in diff_ids:
            if d not in ref_diffs and d not in known:
                _rmtree(self.layer_dir(d))
        for b in blobs:
            if b not in ref_blobs:
                self.blob_path(b).unlink(missing_ok=True)

    def clean_tmp(self, min_age: float = 0.0) -> int:
        """Remove leftovers of killed pulls (temp blobs, half-unpacked layers)."""
        self.conn  # noqa: B018 - creates the directories
        removed = 0
        now = time.time()
        for d in (self.tmp, self.layers):
            for entry in os.scandir(d):
                if d == self.layers and not entry.name.startswith(".tmp-"):
                    continue
                if not _owner_dead(entry.name) and now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                    continue
                _rmtree(Path(entry.path))
                removed += 1
        return removed


def _owner_dead(name: str) -> bool:
    """Temp names carry the pid that made them: a dead pid means a killed pull."""
    for part in name.split("."):
        if part.isdigit():
            pid = int(part)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            return False
    return True


def _rmtree(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise StoreError(
            f"cannot remove {path}: {e.strerror} (files owned by subordinate ids are removed "
            "from inside the user namespace)"
        ) from e


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _layer(row: sqlite3.Row) -> LayerInfo:
    return LayerInfo(row["diff_id"], row["blob_digest"], row["media_type"], row["compressed_size"],
                     row["size"])  # fmt: skip


def open_store(cfg: Config) -> Store:
    return Store(cfg)
