"""Reading conmon's k8s-file logs: `TIMESTAMP STREAM P|F TEXT` per line."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from podctl.errors import InvalidSpec


@dataclass(frozen=True)
class LogLine:
    time: datetime
    stream: str  # stdout | stderr
    partial: bool
    text: bytes


def parse_line(raw: bytes) -> LogLine | None:
    parts = raw.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    try:
        ts = parse_time(parts[0].decode())
    except ValueError:
        return None
    text = parts[3] if len(parts) > 3 else b""
    return LogLine(ts, parts[1].decode(errors="replace"), parts[2] == b"P", text)


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(s: str) -> datetime:
    """RFC 3339 with nanoseconds (Python keeps microseconds)."""
    s = s.replace("Z", "+00:00")
    s = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), s, count=1)
    return datetime.fromisoformat(s)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """podman's --since/--until: RFC 3339, a date, a Unix time, or a duration ago (10m, 1h30m)."""
    now = now or datetime.now(UTC)
    v = value.strip()
    if re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+", v):
        total = 0.0
        units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
        for num, _frac, unit in re.findall(r"(\d+(\.\d+)?)(ns|us|ms|s|m|h)", v):
            total += float(num) * units[unit]
        return now - timedelta(seconds=total)
    if re.fullmatch(r"\d+(\.\d+)?", v):
        return datetime.fromtimestamp(float(v), UTC)
    try:
        ts = parse_time(v)
    except ValueError as e:
        raise InvalidSpec(f"--since {value}: expected a timestamp or a duration like 10m") from e
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def read(path: Path, *, tail: int = -1, since: datetime | None = None) -> tuple[list[LogLine], int]:
    """The lines in the log (last TAIL ones, newer than SINCE) and the offset read up to."""
    try:
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1
    lines = [parse_line(raw) for raw in data[:end].splitlines()]
    out = [ln for ln in lines if ln is not None and (since is None or ln.time >= since)]
    if tail >= 0:
        out = _tail(out, tail)
    return out, end


def _tail(lines: list[LogLine], n: int) -> list[LogLine]:
    """The last N logical lines (a partial line counts with the line that ends it)."""
    if n == 0:
        return []
    groups: deque[list[LogLine]] = deque(maxlen=n)
    current: list[LogLine] = []
    for ln in lines:
        current.append(ln)
        if not ln.partial:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return [ln for g in groups for ln in g]


def follow(
    path: Path, offset: int, alive: Callable[[], bool], interval: float = 0.1
) -> Iterator[LogLine]:
    """New lines after OFFSET until ALIVE() turns false and the file is drained."""
    pending = b""
    while True:
        running = alive()
        try:
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            offset += len(chunk)
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                ln = parse_line(raw)
                if ln is not None:
                    yield ln
            continue
        if not running:
            return
        time.sleep(interval)


def format_time(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")
