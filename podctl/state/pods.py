"""Pod records, in the same SQLite database as containers (table `pods`, schema version 2).

A pod record is inserted before its infra container is made, so a podctl killed half-way
leaves a record that `pod rm` cleans up.
"""

from __future__ import annotations

from podctl import fastjson as json
from podctl.errors import AlreadyExists, Ambiguous, NotFound, StoreError
from podctl.state import db
from podctl.state.containers import StateDB
from podctl.state.db import sqlite3

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace
    from typing import Any
else:
    from podctl.records import dataclass, field, replace

@dataclass(frozen=True)
class PodRecord:
    id: str
    name: str
    created: float
    spec: dict[str, Any]
    infra_id: str = ""
    state: str = "created"  # what the user last asked for: created | running | stopped | paused
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def labels(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.spec.get("labels") or ()}


_COLS = ("id", "name", "created", "spec", "infra_id", "state", "extra")


def _row(row: sqlite3.Row) -> PodRecord:
    return PodRecord(id=row["id"], name=row["name"], created=row["created"],
                     spec=json.loads(row["spec"]), infra_id=row["infra_id"], state=row["state"],
                     extra=json.loads(row["extra"]))  # fmt: skip


def _cols(rec: PodRecord) -> dict[str, Any]:
    return {k: json.dumps(getattr(rec, k), sort_keys=True) if k in ("spec", "extra") else getattr(rec, k)
            for k in _COLS}  # fmt: skip


def add(sdb: StateDB, rec: PodRecord) -> None:
    cols = _cols(rec)
    try:
        with db.transaction(sdb.conn):
            clash = sdb.conn.execute("SELECT id FROM pods WHERE name = ?", (rec.name,)).fetchone()
            if clash:
                raise AlreadyExists(f'the pod name "{rec.name}" is already in use by {clash["id"]}. '
                                    "You have to remove that pod to be able to reuse that name: "
                                    "that name is already in use")  # fmt: skip
            sdb.conn.execute(f"INSERT INTO pods ({', '.join(cols)}) VALUES "
                             f"({', '.join(':' + k for k in cols)})", cols)  # fmt: skip
    except sqlite3.Error as e:
        raise StoreError(f"{sdb.path}: {e}") from e


def update(sdb: StateDB, pid: str, **changes: Any) -> PodRecord:
    try:
        with db.transaction(sdb.conn):
            row = sdb.conn.execute("SELECT * FROM pods WHERE id = ?", (pid,)).fetchone()
            if row is None:
                raise NotFound(f"no pod with ID {pid} found in database: no such pod")
            rec = replace(_row(row), **changes)
            cols = {k: v for k, v in _cols(rec).items() if k in changes}
            if cols:
                sets = ", ".join(f"{k} = :{k}" for k in cols)
                sdb.conn.execute(f"UPDATE pods SET {sets} WHERE id = :_id", {**cols, "_id": pid})
            return rec
    except sqlite3.Error as e:
        raise StoreError(f"{sdb.path}: {e}") from e


def remove(sdb: StateDB, pid: str) -> None:
    with db.transaction(sdb.conn):
        sdb.conn.execute("DELETE FROM pods WHERE id = ?", (pid,))


def all_pods(sdb: StateDB) -> list[PodRecord]:
    return [_row(r) for r in sdb.conn.execute("SELECT * FROM pods ORDER BY created").fetchall()]


def get(sdb: StateDB, pid: str) -> PodRecord | None:
    row = sdb.conn.execute("SELECT * FROM pods WHERE id = ?", (pid,)).fetchone()
    return _row(row) if row else None


def lookup(sdb: StateDB, ref: str) -> PodRecord:
    """By full id, exact name, or unique id prefix."""
    row = sdb.conn.execute("SELECT * FROM pods WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
                           (ref, ref, ref)).fetchone()  # fmt: skip
    if row is None and ref and all(c in "0123456789abcdef" for c in ref):
        rows = sdb.conn.execute("SELECT * FROM pods WHERE id LIKE ? LIMIT 2", (ref + "%",)).fetchall()
        if len(rows) > 1:
            raise Ambiguous(f"more than one result for pod ID {ref}: ambiguous")
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f'no pod with name or ID {ref} found: no such pod')
    return _row(row)


def name_taken(sdb: StateDB, name: str) -> bool:
    return bool(sdb.conn.execute("SELECT 1 FROM pods WHERE name = ?", (name,)).fetchone())


def members(sdb: StateDB, pid: str) -> list[Any]:
    """The pod's containers in creation order (the infra container included)."""
    from podctl.state.containers import ContainerRecord, _row_to

    rows = sdb.conn.execute("SELECT * FROM containers WHERE pod = ? ORDER BY created", (pid,)).fetchall()
    return [_row_to(ContainerRecord, r) for r in rows]
