"""podctl.run.start/wait: the fork+exec gateway `run --rm` uses for `runc run`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def test_redirects_pass_fds_session_and_preexec(tmp_path: Path) -> None:
    """What conmon and the network helpers are started with: stdout to /dev/null, stderr to a
    file, one passed descriptor (and no other), a new session, a preexec step."""
    keep_r, keep_w = os.pipe()
    other_r, other_w = os.pipe()
    os.set_inheritable(other_w, True)
    err = os.open(tmp_path / "err", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    marker = tmp_path / "preexec"
    script = ("import os, sys\n"
              "print('to-stdout'); print('to-stderr', file=sys.stderr, flush=True)\n"
              f"os.write({keep_w}, b'passed')\n"
              f"if os.path.exists('/proc/self/fd/{other_w}'): print('other-leaked', file=sys.stderr)\n"
              "if os.getsid(0) == os.getpid(): print('session-leader', file=sys.stderr)\n")
    try:
        pid = gateway.start([sys.executable, "-c", script], stdin_devnull=True, stdout=gateway.DEVNULL,
                            stderr=err, pass_fds=(keep_w,), new_session=True,
                            preexec=lambda: marker.write_text("ran"))  # fmt: skip
        assert gateway.wait(pid) == 0
    finally:
        os.close(keep_w)
        os.close(other_w)
        os.close(other_r)
        os.close(err)
    with os.fdopen(keep_r) as f:
        assert f.read() == "passed"
    assert (tmp_path / "err").read_text().split() == ["to-stderr", "session-leader"]
    assert marker.read_text() == "ran"


def test_preexec_failure_is_reported_and_nothing_runs(tmp_path: Path) -> None:
    def fail() -> None:
        raise OSError(1, "cannot join the namespace")

    with pytest.raises(RuntimeFailed, match="cannot start .*touch.*cannot join the namespace"):
        gateway.start(["touch", str(tmp_path / "ran")], preexec=fail)
    assert not (tmp_path / "ran").exists()


def test_run_light_status_and_stderr() -> None:
    assert gateway.run_light(["/bin/sh", "-c", "echo out; echo err >&2"]) == (0, "err\n")
    assert gateway.run_light(["/bin/sh", "-c", "echo bad >&2; exit 4"], check=False) == (4, "bad\n")
    with pytest.raises(RuntimeFailed, match=r"exited with status 4: bad"):
        gateway.run_light(["/bin/sh", "-c", "echo bad >&2; exit 4"])
