"""The /bin/sh guard in front of conmon's exit command (podctl.runtime.claim), run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from podctl import procs
from podctl.config import Config
from podctl.runtime import claim, conmon
from podctl.runtime.paths import ContainerPaths


def _guard(claim_file: Path, tmp: Path) -> bool:
    """Whether the guard runs its command (here: touching a file) for CLAIM_FILE."""
    ran = tmp / "ran"
    ran.unlink(missing_ok=True)
    cmd = claim.guarded_command(claim_file, ["/bin/sh", "-c", f"touch {ran}"])
    subprocess.run(cmd, check=True, env={})
    return ran.exists()


def _paths(tmp: Path) -> ContainerPaths:
    paths = ContainerPaths.of(
        Config(root=tmp / "root", runroot=tmp / "run", runtime=None, log_level="warn"), "c" * 64
    )
    paths.bundle.mkdir(parents=True)
    return paths


def test_a_live_claim_skips_the_command_anything_else_runs_it(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    f = claim.claim_path(paths)
    assert _guard(f, tmp_path)  # no claim: a crash, cleaned up as always
    assert claim.claim(paths)
    assert claim.owner(paths) == os.getpid()
    assert not _guard(f, tmp_path)  # this process lives and will clean up

    pid = os.getpid()
    f.write_text(f"{pid} {int(procs.start_time(pid)) + 1}\n")  # same pid, another process
    assert _guard(f, tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    f.write_text(f"{dead.pid} 1\n")  # the stopper died (pid not reused yet)
    assert _guard(f, tmp_path)
    for junk in ("", "garbage\n", "12\n", "-1 -1\n"):
        f.write_text(junk)
        assert _guard(f, tmp_path), junk

    claim.unclaim(paths)
    claim.unclaim(paths)  # idempotent
    assert not f.exists() and claim.owner(paths) == 0


def test_start_time_is_read_after_a_comm_holding_parens_and_spaces(tmp_path: Path) -> None:
    odd = tmp_path / "a) b ) c"
    shutil.copy("/bin/sleep", odd)
    proc = subprocess.Popen([str(odd), "5"])
    try:
        time.sleep(0.05)
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
        assert ") b ) c)" in stat  # the kernel's comm really holds them
        start = str(procs.start_time(proc.pid))
        assert start == stat.rsplit(")", 1)[1].split()[19]
        paths = _paths(tmp_path)
        claim.claim_path(paths).write_text(f"{proc.pid} {start}\n")
        assert not _guard(claim.claim_path(paths), tmp_path)
    finally:
        proc.kill()
        proc.wait()


def test_exit_command_is_guarded(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime=None, log_level="warn")
    paths = ContainerPaths.of(cfg, "d" * 64)
    plain = conmon.exit_command(cfg, paths.id)
    assert plain[-3:] == ("container", "cleanup", paths.id)
    cmd = conmon.exit_command(cfg, paths.id, claim_file=claim.claim_path(paths))
    assert cmd[:4] == ("/bin/sh", "-c", claim.GUARD, str(claim.claim_path(paths)))
    assert cmd[4:] == plain
    argv = conmon.argv(
        "conmon", "runc", tmp_path, paths, conmon.MonitorOptions(name="x", exit_command=cmd)
    )
    i = argv.index("--exit-command")
    assert argv[i + 1] == "/bin/sh"
    tail = argv[i + 2 : i + 2 + 2 * (len(cmd) - 1)]
    assert tail[::2] == ["--exit-command-arg"] * (len(cmd) - 1)
    assert tail[1::2] == list(cmd[1:])
