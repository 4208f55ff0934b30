"""Starting a container (a pod's infra among them): the network helpers that started while it
was created in the runtime are awaited before its process starts, and a helper that failed
undoes the start (nothing of it left running) and raises."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.engine import network
from podctl.errors import RuntimeFailed
from podctl.spec import ContainerSpec
from podctl.state.containers import ContainerRecord, State


def _infra() -> ContainerRecord:
    return ContainerRecord(id="ab" * 32, name="p-infra", created=0.0, image="x", spec={}, state=State.CREATED,
                           pod="cd" * 32, extra={"infra": True, "network": {"mode": "pasta", "pid": 1}})  # fmt: skip


class _DB:
    def update_container(self, cid: str, **kw: Any) -> ContainerRecord:
        return _infra()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    class Runtime:
        def start(self, cid: str) -> None:
            seen.append("runtime start")

    monkeypatch.setattr(lc, "sync", lambda cfg, db, rec: rec)
    monkeypatch.setattr(lc, "create_in_runtime", lambda cfg, db, rec: (seen.append("create"), (rec, None))[1])
    monkeypatch.setattr(lc, "runtime", lambda cfg, rec: Runtime())
    monkeypatch.setattr(lc, "spec_of", lambda rec: ContainerSpec(image="x"))
    monkeypatch.setattr(lc, "after_failed_start", lambda cfg, db, rec: seen.append("undo"))
    return seen


def test_helpers_are_awaited_before_the_process_starts(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "settle", lambda rec: calls.append("settle"))
    rec = lc.start(Config.__new__(Config), _DB(), _infra())  # type: ignore[arg-type]
    assert rec.name == "p-infra"
    assert calls == ["create", "settle", "runtime start"]


def test_a_failed_helper_undoes_the_start_and_raises(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def settle(rec: ContainerRecord) -> None:
        calls.append("settle")
        raise RuntimeFailed("pasta does not work here (exited): ...")

    monkeypatch.setattr(network, "settle", settle)
    with pytest.raises(RuntimeFailed, match="pasta does not work here"):
        lc.start(Config.__new__(Config), _DB(), _infra())  # type: ignore[arg-type]
    assert calls == ["create", "settle", "undo"]  # the process never started


def test_no_network_no_wait(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "settle", lambda rec: calls.append("settle"))
    rec = _infra()
    rec = ContainerRecord(id=rec.id, name="n", created=0.0, image="x", spec={}, state=State.CREATED)
    lc.start(Config.__new__(Config), _DB(), rec)  # type: ignore[arg-type]
    assert calls == ["create", "runtime start"]
