"""Transient periodic timers (the healthcheck scheduler) in the real user manager."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from harness import User, podctl_bin

pytestmark = pytest.mark.e2e

SCRIPT = """
import json, sys, time
from podctl.systemd.bus import connect
from podctl.systemd import timers
name, out = sys.argv[1], sys.argv[2]
bus = connect()
try:
    timers.start_periodic(bus, name, ["/bin/sh", "-c", f"echo run >> {out}"], 0.5)
    st = bus.unit_status(name + ".timer")
    time.sleep(2.2)
    runs = open(out).read().count("run")
finally:
    timers.stop_periodic(bus, name)
time.sleep(0.3)
gone = [bus.unit_status(u).load_state for u in timers.timer_units(name)]
print(json.dumps({"timer": [st.active_state, st.sub_state, st.unit_file_state], "runs": runs, "gone": gone}))
"""


def test_periodic_timer_runs_and_goes_away(systemd_user: User) -> None:
    name = f"podctl-test-{uuid.uuid4().hex[:10]}"
    out = systemd_user.home / ".cache" / f"{name}.out"
    python = str(Path(podctl_bin()).parent / "python")
    try:
        p = systemd_user.run([python, "-c", SCRIPT, name, str(out)], timeout=60)
        assert p.returncode == 0, p.stderr
        data = json.loads(p.stdout)
        assert data["timer"] == ["active", "waiting", "transient"], data
        assert 2 <= data["runs"] <= 5, data  # every 0.5 s after the previous run, for 2.2 s
        assert data["gone"] == ["not-found", "not-found"], data
    finally:
        systemd_user.run(["systemctl", "--user", "stop", f"{name}.timer", f"{name}.service"])
        systemd_user.run(
            ["systemctl", "--user", "reset-failed", f"{name}.timer", f"{name}.service"]
        )
        out.unlink(missing_ok=True)
