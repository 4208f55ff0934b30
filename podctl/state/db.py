"""SQLite connections that many podctl processes can share safely.

WAL journal, a long busy timeout, and write transactions taken with BEGIN IMMEDIATE so that
writers queue for the lock up front instead of failing with "database is locked" half-way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podctl.errors import StoreError

try:  # sqlite3's C module: the sqlite3 package adds only datetime adapters (podctl stores no
    # datetime) and 1.3 ms of imports to every process (datetime, sqlite3.dbapi2; measured
    # 2026-11-28: +2.39 ms for `import sqlite3`, +1.11 ms for `import _sqlite3`).
    import _sqlite3 as sqlite3
except ImportError:  # pragma: no cover - another Python's layout
    import sqlite3  # type: ignore[no-redef]

BUSY_TIMEOUT_MS = 60_000
# Checkpoint the WAL once it holds this many pages (SQLite's default: 1000). podctl processes
# end without closing (os._exit), so no close-time checkpoint empties the WAL, and the first
# connection of every process re-reads the whole WAL (recovery: ~2.5 us a page, up to ~2.5 ms
# at 1000). These databases are a few dozen pages: a checkpoint costs two fsyncs, every ~10
# `run --rm`s.
WAL_AUTOCHECKPOINT = 100


def connect(path: Path, schema: str | None = None) -> sqlite3.Connection:
    """Open (creating) the database at PATH, in WAL mode, applying SCHEMA if given."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        if schema:
            _apply(conn, schema)
        return conn
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open database: {e}") from e


def _apply(conn: sqlite3.Connection, schema: str) -> None:
    """Run SCHEMA's statements (CREATE ... IF NOT EXISTS) once per schema text: its checksum,
    kept in user_version, saves a write transaction (and the write lock) on every open."""
    import zlib

    mark = zlib.crc32(schema.encode()) & 0x7FFFFFFF
    if conn.execute("PRAGMA user_version").fetchone()[0] == mark:
        return
    with transaction(conn):
        for stmt in _statements(schema):
            conn.execute(stmt)
        conn.execute(f"PRAGMA user_version={mark}")


def _statements(schema: str) -> list[str]:
    return [s.strip() for s in schema.split(";") if s.strip()]


def _retry(fn, attempts: int = 50):  # type: ignore[no-untyped-def]
    delay = 0.005
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or i == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: BEGIN IMMEDIATE (waiting for the lock), COMMIT, or ROLLBACK."""
    _retry(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        _retry(lambda: conn.execute("COMMIT"))
