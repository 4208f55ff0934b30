"""The bench's one-iteration smoke, as CI runs it: the harness works, whatever podctl has yet.

Scenarios whose podctl command does not exist yet must say "not available yet"; a scenario
the harness itself broke on (status "error": a bench exception, or podman failing) fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = {"startup", "run", "ps", "pull", "pod", "kube", "throughput", "systemd", "disk",
             "monitor"}  # fmt: skip


@pytest.mark.e2e
def test_bench_smoke(tmp_path: Path, user: object, registry: str, installed: str) -> None:
    out = tmp_path / "bench.json"
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out), "--podctl", installed,
         "--registry", registry],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(out.read_text())
    by = {s["name"]: s for s in data["scenarios"]}
    assert set(by) == SCENARIOS, p.stdout
    errors = {n: s["message"] for n, s in by.items() if s["status"] == "error"}
    assert not errors, errors

    head = data["header"]
    assert head["versions"]["podctl"] not in ("", "?")
    assert "runc" in head["settings"]["runtime"]
    podman = shutil.which("podman") is not None
    assert (head["versions"]["podman"] != "not used") == podman

    startup = by["startup"]
    assert startup["status"] == "ok", startup
    names = [m["name"] for m in startup["metrics"]]
    assert names == ["python3 -c pass", "--version", "--help"]
    for m in startup["metrics"]:
        assert len(m["values"]["podctl"]) == 1 and m["values"]["podctl"][0] > 0
        if podman:
            assert len(m["values"]["podman"]) == 1 and m["ratio"] > 0
    assert startup["metrics"][1]["target"]["verdict"] in ("PASS", "FAIL")

    for name, s in by.items():
        assert s["status"] in ("ok", "unavailable", "skipped", "failed"), s
        if s["status"] == "unavailable":
            assert "not available yet" in s["message"] or "No such command" in s["message"], s
        if s["status"] == "failed":
            assert "podctl: " in s["message"][:40], s  # podctl failed, not the harness
        if s["status"] == "ok":
            assert s["metrics"], name
            for m in s["metrics"]:
                assert m["values"].get("podctl"), (name, m)
                if podman:
                    assert m["values"].get("podman"), (name, m)

    # The printed report carries the same scenarios, and nothing is left behind.
    for name in SCENARIOS:
        assert f"\n{name} " in p.stdout, p.stdout
    assert not Path(head["workdir"]).exists(), head["workdir"]
    assert took < 240, f"smoke took {took:.0f} s"
