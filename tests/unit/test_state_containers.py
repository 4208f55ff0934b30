"""The container/volume records: names unique, lookups, many writer processes at once."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from podctl.errors import AlreadyExists, NotFound
from podctl.state.containers import ContainerRecord, State, StateDB, VolumeRecord


def rec(cid: str, name: str) -> ContainerRecord:
    return ContainerRecord(id=cid, name=name, created=time.time(), image="img",
                           spec={"image": "img"}, state=State.CONFIGURED)  # fmt: skip


def test_add_lookup_update_remove(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.db")
    db.add_container(rec("a" * 64, "web"))
    db.add_container(rec("ab" + "0" * 62, "db"))
    with pytest.raises(AlreadyExists, match="already in use"):
        db.add_container(rec("c" * 64, "web"))
    assert db.lookup_container("web").id == "a" * 64
    assert db.lookup_container("ab").name == "db"
    with pytest.raises(NotFound, match="ambiguous"):
        db.lookup_container("a")
    with pytest.raises(NotFound, match="no such container"):
        db.lookup_container("nope")
    new = db.update_container("a" * 64, state=State.RUNNING, pid=42, extra={"k": [1]})
    assert new.state == State.RUNNING and db.get_container("a" * 64) == new
    db.remove_container("a" * 64)
    assert [r.name for r in db.containers()] == ["db"]
    with pytest.raises(NotFound):
        db.update_container("a" * 64, pid=1)

    db.add_volume(VolumeRecord("v", "/x", 1.0, labels={"a": "b"}))
    with pytest.raises(AlreadyExists):
        db.add_volume(VolumeRecord("v", "/x", 1.0))
    assert db.add_volume(VolumeRecord("v", "/y", 2.0), exist_ok=True).mountpoint == "/x"
    assert db.get_volume("v").labels == {"a": "b"}
    db.remove_volume("v")
    with pytest.raises(NotFound, match="no such volume"):
        db.get_volume("v")


def _writer(path: str, n: int) -> None:
    db = StateDB(Path(path))
    for i in range(10):
        cid = f"{n:02d}{i:02d}".ljust(64, "0")
        db.add_container(rec(cid, f"c{n}-{i}"))
        db.update_container(cid, state=State.RUNNING)


def test_twenty_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), n)) for n in range(20)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 20
    rows = StateDB(path).containers()
    assert len(rows) == 200 and len({r.id for r in rows}) == 200
    assert all(r.state == State.RUNNING for r in rows)


def test_restart_policy_decisions() -> None:
    from dataclasses import replace

    from podctl.engine.lifecycle import should_restart
    from podctl.spec import ContainerSpec, RestartPolicy

    r = rec("d" * 64, "x")
    failed, ok = replace(r, exit_code=1), replace(r, exit_code=0)
    always = ContainerSpec(image="i", restart_policy=RestartPolicy.ALWAYS)
    on_fail = ContainerSpec(image="i", restart_policy=RestartPolicy.ON_FAILURE, restart_retries=2)
    assert should_restart(always, ok) and should_restart(always, failed)
    assert not should_restart(always, replace(ok, stopped_by_user=True))
    assert should_restart(on_fail, failed) and not should_restart(on_fail, ok)
    assert not should_restart(on_fail, replace(failed, restart_count=2))
    assert should_restart(ContainerSpec(image="i", restart_policy=RestartPolicy.ON_FAILURE), replace(failed, restart_count=99))
    assert not should_restart(ContainerSpec(image="i"), failed)
