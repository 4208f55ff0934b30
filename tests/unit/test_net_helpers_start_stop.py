"""Starting and stopping the network helper processes: deferred readiness, teardown waits.

Real child processes stand in for slirp4netns and the port forwarder: what matters here is
the ready pipe protocol (b"1" = ready, EOF = died) and that nothing is left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podctl import net, procs
from podctl.errors import RuntimeFailed
from podctl.net import api, portfwd, slirp


def _child(code: str, ready_w: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], pass_fds=(ready_w,) if ready_w is not None else ())


def _gone(pid: int) -> bool:
    return not procs.alive(pid, 0)


def _helper(tmp_path: Path, code: str) -> tuple[subprocess.Popen[bytes], int]:
    """A child given the write end of a ready pipe as argv[1]; returns it and the read end."""
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", code, str(w)], pass_fds=(w,))
    os.close(w)
    return proc, r


READY = "import os, sys, time; os.write(int(sys.argv[1]), b'1'); time.sleep(30)"
DIES = "import sys, time; time.sleep(0.05); sys.exit(3)"
SLOW_READY = "import os, sys, time; time.sleep(0.2); os.write(int(sys.argv[1]), b'1'); time.sleep(30)"


def test_stop_returns_as_soon_as_the_process_ends() -> None:
    proc = _child("import time; time.sleep(30)")
    started = procs.start_time(proc.pid)
    t0 = time.monotonic()
    assert procs.stop(proc.pid, started) is True
    assert time.monotonic() - t0 < 2
    assert _gone(proc.pid)
    assert procs.stop(proc.pid, started) is False  # idempotent


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", "import os, signal, sys, time; "
                             "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                             "os.write(int(sys.argv[1]), b'1'); time.sleep(30)", str(w)],
                            pass_fds=(w,))  # fmt: skip
    os.close(w)
    assert os.read(r, 1) == b"1"  # SIGTERM is ignored from now on
    os.close(r)
    assert procs.stop(proc.pid, procs.start_time(proc.pid), timeout=0.3) is True
    assert _gone(proc.pid)


def test_stop_never_signals_a_recycled_pid() -> None:
    proc = _child("import time; time.sleep(30)")
    try:
        assert procs.stop(proc.pid, procs.start_time(proc.pid) + 12345) is False
        assert not _gone(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_forwarder_that_dies_before_ready_is_a_runtime_failure(tmp_path: Path) -> None:
    log = tmp_path / "portfwd.log"
    log.write_text("portfwd: cannot join the namespace\n")
    proc, r = _helper(tmp_path, DIES)
    starting = portfwd.Starting(proc.pid, r, log)
    with pytest.raises(RuntimeFailed, match="the port forwarder failed: .*cannot join the namespace"):
        starting.wait(timeout=5)
    assert _gone(proc.pid)
    assert starting.ready_fd == -1


def _pending_pair(tmp_path: Path, slirp_code: str, fwd_code: str) -> tuple[api._Pending, int, int]:
    sp, sr = _helper(tmp_path, slirp_code)
    fp, fr = _helper(tmp_path, fwd_code)
    pending = api._Pending()
    pending.helper = (slirp, slirp.Starting(sp.pid, sr, ("slirp4netns",), tmp_path / "slirp.log"))
    pending.fwd = portfwd.Starting(fp.pid, fr, tmp_path / "portfwd.log")
    return pending, sp.pid, fp.pid


def test_deferred_helpers_are_awaited_by_await_ready(tmp_path: Path) -> None:
    pending, spid, fpid = _pending_pair(tmp_path, SLOW_READY, READY)
    api._defer(spid, pending)
    state = net.NetworkState(mode="slirp4netns", helper="slirp4netns", pid=spid,
                             start_time=procs.start_time(spid), forwarder_pid=fpid,
                             forwarder_start_time=procs.start_time(fpid))  # fmt: skip
    try:
        api.await_ready(state)  # waits the 0.2 s until slirp's READY
        assert spid not in api._pending
        assert not _gone(spid) and not _gone(fpid)
    finally:
        net.teardown(state)
    assert _gone(spid) and _gone(fpid)


def test_a_deferred_helper_that_fails_stops_both_and_raises(tmp_path: Path) -> None:
    pending, spid, fpid = _pending_pair(tmp_path, DIES, READY)
    api._defer(spid, pending)
    with pytest.raises(RuntimeFailed, match="slirp4netns exited before it was ready"):
        api.await_ready(net.NetworkState(mode="slirp4netns", pid=spid))
    assert spid not in api._pending
    assert _gone(spid) and _gone(fpid)


def test_teardown_of_a_never_awaited_namespace_forgets_it(tmp_path: Path) -> None:
    pending, spid, fpid = _pending_pair(tmp_path, READY, READY)
    fwd = pending.fwd
    api._defer(spid, pending)
    net.teardown(net.NetworkState(mode="slirp4netns", helper="slirp4netns", pid=spid,
                                  start_time=procs.start_time(spid), forwarder_pid=fpid,
                                  forwarder_start_time=procs.start_time(fpid)))  # fmt: skip
    assert spid not in api._pending
    assert _gone(spid) and _gone(fpid)
    assert pending.helper is None and pending.fwd is None and fwd.ready_fd == -1  # pipes closed
