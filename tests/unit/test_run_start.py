"""podctl.run.start/wait: the fork+exec gateway `run --rm` uses for `runc run`."""

from __future__ import annotations

import os

import pytest

from podctl import run as gateway
from podctl.errors import RuntimeFailed


def test_exit_status_and_signal() -> None:
    assert gateway.wait(gateway.start(["/bin/sh", "-c", "exit 3"])) == 3
    assert gateway.wait(gateway.start(["/bin/sh", "-c", "kill -TERM $$"])) == -15


def test_missing_program_names_the_argv() -> None:
    with pytest.raises(RuntimeFailed, match="no-such-program: command not found"):
        gateway.start(["no-such-program", "x"])


def test_child_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin from /dev/null, SIGPIPE back to default, no NOTIFY_SOCKET, no leaked descriptors."""
    leak_r, leak_w = os.pipe()
    os.set_inheritable(leak_w, True)
    monkeypatch.setenv("NOTIFY_SOCKET", "/nowhere")
    out_r, out_w = os.pipe()
    saved = os.dup(1)
    os.dup2(out_w, 1)
    try:
        script = (f"read -r x && echo input || echo eof; grep SigIgn /proc/self/status; "
                  f"echo notify=${{NOTIFY_SOCKET:-none}}; [ -e /proc/self/fd/{leak_w} ] && echo leaked || echo closed")
        pid = gateway.start(["/bin/sh", "-c", script], stdin_devnull=True)
        assert gateway.wait(pid) == 0
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(out_w)
        os.close(leak_w)
        os.close(leak_r)
    with os.fdopen(out_r) as f:
        lines = f.read().split("\n")
    assert lines[0] == "eof"
    assert int(lines[1].split()[1], 16) & (1 << (13 - 1)) == 0, lines[1]  # SIGPIPE not ignored
    assert lines[2:4] == ["notify=none", "closed"]
