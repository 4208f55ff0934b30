"""conmon's k8s-file log format: parsing, --tail, --since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from podctl.errors import InvalidSpec
from podctl.runtime import logs
from podctl.runtime.conmon import runtime_message
from podctl.runtime.oci import parse_signal


def test_read_tail_since(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_bytes(
        b"2026-01-01T10:00:00.123456789+00:00 stdout F one\n"
        b"2026-01-01T10:00:01.000000000+00:00 stderr F two\n"
        b"2026-01-01T10:00:02.000000000+00:00 stdout P thr\n"
        b"2026-01-01T10:00:02.100000000+00:00 stdout F ee\n"
        b"2026-01-01T10:00:03.000000000+00:00 stdout F partial-line-not-yet-ended"
    )
    lines, offset = logs.read(log)
    assert [ln.text for ln in lines] == [b"one", b"two", b"thr", b"ee"]
    assert lines[1].stream == "stderr" and lines[2].partial
    assert offset == log.read_bytes().rfind(b"\n") + 1
    assert [ln.text for ln in logs.read(log, tail=1)[0]] == [b"thr", b"ee"]
    since = datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert [ln.text for ln in logs.read(log, since=since)[0]] == [b"two", b"thr", b"ee"]
    assert logs.read(log, tail=0)[0] == []
    assert logs.read(tmp_path / "missing")[0] == []


def test_follow_stops_when_dead(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_bytes(b"2026-01-01T10:00:00Z stdout F a\n")
    got = list(logs.follow(log, 0, lambda: False))
    assert [ln.text for ln in got] == [b"a"]


def test_since_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert logs.parse_since("10m", now) == now - timedelta(minutes=10)
    assert logs.parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert logs.parse_since("2026-01-01T11:00:00Z", now) == now - timedelta(hours=1)
    assert logs.parse_since("0", now) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidSpec, match="--since"):
        logs.parse_since("yesterday", now)


def test_signals_and_runtime_messages() -> None:
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("9") == 9
    assert parse_signal("RTMIN+1") > 32
    with pytest.raises(InvalidSpec, match="invalid signal"):
        parse_signal("BOGUS")
    text = ('time="x" level=warning msg="unable to get oom kill count"\n'
            'time="x" level=error msg="runc create failed: exec: \\"foo\\": not found"\n')  # fmt: skip
    assert runtime_message(text) == 'runc create failed: exec: "foo": not found'
