"""podctl.engine.trash (what `run --rm` leaves to a detached process) and podctl.runtime.fsutil."""

from __future__ import annotations

import os
import time
from pathlib import Path

from podctl.config import Config
from podctl.engine import trash
from podctl.runtime.fsutil import rmtree


def _cfg(tmp_path: Path) -> Config:
    return Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime=None, log_level="warn")


def _entry(cfg: Config, name: str) -> Path:
    d = cfg.root / trash.TRASH / name / "upper" / "etc"
    d.mkdir(parents=True)
    (d / "hostname").write_text("x\n")
    return cfg.root / trash.TRASH / name


def _gone(path: Path, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not path.exists():
            return True
        time.sleep(0.01)
    return False


def test_rmtree_removes_a_tree_and_never_follows_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("k")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "f").write_text("f")
    (tree / "a" / "b" / "g").write_text("g")
    os.mkfifo(tree / "a" / "fifo")
    (tree / "a" / "dirlink").symlink_to(outside)
    (tree / "a" / "b" / "filelink").symlink_to(outside / "keep")
    rmtree(tree)
    assert not tree.exists()
    assert (outside / "keep").read_text() == "k"
    link = tmp_path / "link"
    link.symlink_to(outside)
    rmtree(link)  # a symlink itself is left alone, as shutil.rmtree(ignore_errors=True) does
    assert link.is_symlink() and (outside / "keep").exists()
    rmtree(outside / "keep")  # not a directory: left alone
    rmtree(tmp_path / "missing")
    assert (outside / "keep").exists()


def test_empty_trash_detached_empties_it_in_a_child(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    entries = [_entry(cfg, f"c{i}-1") for i in range(3)]
    pid = trash.empty_trash_detached(cfg)
    assert all(_gone(e) for e in entries)
    assert os.waitpid(pid, 0)[1] == 0
    assert (cfg.root / trash.TRASH).is_dir()  # the trash dir itself stays


def test_empty_trash_without_a_trash_dir_does_nothing(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    trash.empty_trash(cfg)
    assert not (cfg.root / trash.TRASH).exists()
