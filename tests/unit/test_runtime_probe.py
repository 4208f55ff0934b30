"""The runtime probe: a runtime that cannot run a container is reported with its reason, and
the answer is cached per boot (in the runroot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.config import Config
from podctl.errors import RuntimeFailed
from podctl.runtime import probe

FAKE = """#!/bin/sh
echo "$*" >> {log}
case "$*" in
  *--version*) echo "{name} version 9.9"; exit 0;;
  *" run "*) {run};;
  *) exit 0;;
esac
"""


def fake_runtime(tmp_path: Path, name: str, run: str) -> Path:
    path = tmp_path / name
    path.write_text(FAKE.format(log=tmp_path / f"{name}.log", name=name, run=run))
    path.chmod(0o755)
    return path


def config(tmp_path: Path, runtime: str | None = None, **runtimes: Path) -> Config:
    raw = {"engine": {"runtimes": {k: [str(v)] for k, v in runtimes.items()}}}
    return Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime=runtime, log_level="warn", raw=raw)


def test_failing_runtime_reports_reason_and_is_cached(tmp_path: Path) -> None:
    bad = fake_runtime(tmp_path, "badrt", 'echo "cgroups in hybrid mode not supported" >&2; exit 1')
    cfg = config(tmp_path, badrt=bad)
    ok, version, reason = probe.probe_runtime(cfg, "badrt")
    assert (ok, version) == (False, "badrt version 9.9")
    assert "hybrid mode" in reason
    calls = (tmp_path / "badrt.log").read_text().count("\n")
    assert probe.probe_runtime(cfg, "badrt") == (ok, version, reason)
    assert (tmp_path / "badrt.log").read_text().count("\n") == calls  # answered from the cache
    assert probe.probe_runtime(cfg, "no-such-runtime")[0] is False


def test_select_prefers_a_working_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = fake_runtime(tmp_path, "crun", "exit 1")
    good = fake_runtime(tmp_path, "runc", "exit 0")
    cfg = config(tmp_path, crun=bad, runc=good)
    assert probe.select_runtime(cfg) == str(good)
    # An explicit choice is honoured as is; a missing one is an error naming it.
    assert probe.select_runtime(config(tmp_path, "crun", crun=bad)) == str(bad)
    with pytest.raises(RuntimeFailed, match="nonesuch"):
        probe.select_runtime(config(tmp_path, "nonesuch"))
    monkeypatch.setattr(probe, "CANDIDATES", ("crun",))
    with pytest.raises(RuntimeFailed, match="no OCI runtime"):
        probe.select_runtime(config(tmp_path / "other", crun=bad))
