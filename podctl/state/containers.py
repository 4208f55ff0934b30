"""Container and volume records in SQLite (`cfg.root / "state.db"`).

Every write is one short BEGIN IMMEDIATE transaction (podctl.state.db), so many podctl
processes (systemd starting units in parallel) queue for the lock instead of failing.
A record is inserted before any storage is made for it, so a podctl killed half-way leaves
something `ps -a` shows and `rm` cleans.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from podctl import fastjson as json
from podctl.config import Config
from podctl.errors import AlreadyExists, Ambiguous, NotFound, StoreError
from podctl.records import field_names
from podctl.state import db
from podctl.state.db import sqlite3

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace
    from typing import Any
else:
    from podctl.records import dataclass, field, replace

SCHEMA_VERSION = 2  # 2: pods

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL DEFAULT '',
    image_name TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    conmon_pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL DEFAULT 0,
    finished_at REAL NOT NULL DEFAULT 0,
    restart_count INTEGER NOT NULL DEFAULT 0,
    stopped_by_user INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    rootfs_driver TEXT NOT NULL DEFAULT '',
    pod TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL DEFAULT 'local',
    mountpoint TEXT NOT NULL,
    created REAL NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    anonymous INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    spec TEXT NOT NULL,
    infra_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'created',
    extra TEXT NOT NULL DEFAULT '{}'
)
"""


class State(StrEnum):
    CONFIGURED = "configured"  # record exists; storage may be incomplete
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    EXITED = "exited"
    REMOVING = "removing"


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    created: float
    image: str
    spec: dict[str, Any]
    state: State
    image_id: str = ""
    image_name: str = ""
    pid: int = 0
    conmon_pid: int = 0
    exit_code: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    restart_count: int = 0
    stopped_by_user: bool = False
    error: str = ""
    rootfs_driver: str = ""
    pod: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state in (State.RUNNING, State.STOPPING)


@dataclass(frozen=True)
class VolumeRecord:
    name: str
    mountpoint: str
    created: float
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False


_JSON_COLS = {"spec", "extra", "labels", "options"}
_BOOL_COLS = {"stopped_by_user", "anonymous"}


def _row_to(cls: type[Any], row: sqlite3.Row) -> Any:
    data: dict[str, Any] = {}
    for name in field_names(cls):
        v = row[name]
        if name in _JSON_COLS:
            v = json.loads(v)
        elif name in _BOOL_COLS:
            v = bool(v)
        elif name == "state":
            v = State(v)
        data[name] = v
    return cls(**data)


def _to_cols(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in field_names(obj):
        v = getattr(obj, name)
        if name in _JSON_COLS:
            v = json.dumps(v, sort_keys=True)
        elif name in _BOOL_COLS:
            v = int(v)
        elif isinstance(v, StrEnum):
            v = str(v)
        out[name] = v
    return out


class StateDB:
    """The records of one storage root. Open one per command; cheap to open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = db.connect(path)
        self._migrate()

    def _migrate(self) -> None:
        try:
            if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return
            with db.transaction(self.conn):
                if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                    return
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot set up the state database: {e}") from e

    def close(self) -> None:
        self.conn.close()

    # containers -------------------------------------------------------------------------

    def add_container(self, rec: ContainerRecord) -> None:
        cols = _to_cols(rec)
        names = ", ".join(cols)
        marks = ", ".join(f":{k}" for k in cols)
        try:
            with db.transaction(self.conn):
                clash = self.conn.execute(
                    "SELECT id FROM containers WHERE name = ?", (rec.name,)
                ).fetchone()
                if clash:
                    raise AlreadyExists(
                        f'the container name "{rec.name}" is already in use by {clash["id"]}. '
                        "You have to remove that container to be able to reuse that name: "
                        "that name is already in use"
                    )
                self.conn.execute(f"INSERT INTO containers ({names}) VALUES ({marks})", cols)
        except sqlite3.IntegrityError as e:
            raise AlreadyExists(f"container {rec.name} ({rec.id}) already exists") from e
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e

    def update_container(self, cid: str, **changes: Any) -> ContainerRecord:
        """Set fields of one container atomically; returns the new record."""
        try:
            with db.transaction(self.conn):
                row = self.conn.execute("SELECT * FROM containers WHERE id = ?", (cid,)).fetchone()
                if row is None:
                    raise NotFound(f"no container with ID {cid} found in database: no such container")
                rec = replace(_row_to(ContainerRecord, row), **changes)
                cols = {k: v for k, v in _to_cols(rec).items() if k in changes}
                if cols:
                    sets = ", ".join(f"{k} = :{k}" for k in cols)
                    self.conn.execute(
                        f"UPDATE containers SET {sets} WHERE id = :_id", {**cols, "_id": cid}
                    )
                return rec  # type: ignore[no-any-return]
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e

    def remove_container(self, cid: str) -> None:
        with db.transaction(self.conn):
            self.conn.execute("DELETE FROM containers WHERE id = ?", (cid,))

    def containers(self) -> list[ContainerRecord]:
        rows = self.conn.execute("SELECT * FROM containers ORDER BY created").fetchall()
        return [_row_to(ContainerRecord, r) for r in rows]

    def get_container(self, cid: str) -> ContainerRecord | None:
        row = self.conn.execute("SELECT * FROM containers WHERE id = ?", (cid,)).fetchone()
        return _row_to(ContainerRecord, row) if row else None

    def lookup_container(self, ref: str) -> ContainerRecord:
        """By full id, exact name, or unique id prefix (podman's order)."""
        row = self.conn.execute(
            "SELECT * FROM containers WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
            (ref, ref, ref),
        ).fetchone()
        if row is None and ref and all(c in "0123456789abcdef" for c in ref):
            rows = self.conn.execute(
                "SELECT * FROM containers WHERE id LIKE ? LIMIT 2", (ref + "%",)
            ).fetchall()
            if len(rows) > 1:
                raise Ambiguous(f"more than one result for container ID {ref}: ambiguous")
            row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"no container with name or ID \"{ref}\" found: no such container")
        return _row_to(ContainerRecord, row)  # type: ignore[no-any-return]

    def name_taken(self, name: str) -> bool:
        return bool(self.conn.execute("SELECT 1 FROM containers WHERE name = ?", (name,)).fetchone())

    # volumes ----------------------------------------------------------------------------

    def add_volume(self, vol: VolumeRecord, *, exist_ok: bool = False) -> VolumeRecord:
        cols = _to_cols(vol)
        try:
            with db.transaction(self.conn):
                row = self.conn.execute("SELECT * FROM volumes WHERE name = ?", (vol.name,)).fetchone()
                if row is not None:
                    if exist_ok:
                        return _row_to(VolumeRecord, row)  # type: ignore[no-any-return]
                    raise AlreadyExists(f"volume with name {vol.name} already exists: volume already exists")
                names = ", ".join(cols)
                marks = ", ".join(f":{k}" for k in cols)
                self.conn.execute(f"INSERT INTO volumes ({names}) VALUES ({marks})", cols)
                return vol
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e

    def volumes(self) -> list[VolumeRecord]:
        rows = self.conn.execute("SELECT * FROM volumes ORDER BY name").fetchall()
        return [_row_to(VolumeRecord, r) for r in rows]

    def get_volume(self, name: str) -> VolumeRecord:
        row = self.conn.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no volume with name \"{name}\" found: no such volume")
        return _row_to(VolumeRecord, row)  # type: ignore[no-any-return]

    def remove_volume(self, name: str) -> None:
        with db.transaction(self.conn):
            self.conn.execute("DELETE FROM volumes WHERE name = ?", (name,))

    def volume_users(self, name: str) -> list[str]:
        """Ids of containers that mount volume NAME."""
        out = []
        for rec in self.containers():
            if name in rec.extra.get("volumes", ()):
                out.append(rec.id)
        return out


def containers_using_image(cfg: Config, image_id: str) -> list[str]:
    """Ids of the containers created from IMAGE_ID (rmi refuses to remove it while any exist)."""
    if not cfg.state_db.exists():
        return []
    sdb = StateDB(cfg.state_db)
    try:
        rows = sdb.conn.execute("SELECT id FROM containers WHERE image_id = ?", (image_id,)).fetchall()
        return [r["id"] for r in rows]
    finally:
        sdb.close()
