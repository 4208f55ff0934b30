"""Starting a pod's infra: its network helpers are awaited after the container started, and a
helper that failed stops the infra again (nothing of the pod left running)."""

from __future__ import annotations

import pytest

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.engine import network
from podctl.errors import RuntimeFailed
from podctl.pods import join
from podctl.state.containers import ContainerRecord, State, StateDB


def _infra() -> ContainerRecord:
    return ContainerRecord(id="ab" * 32, name="p-infra", created=0.0, image="x", spec={}, state=State.CREATED,
                           pod="cd" * 32, extra={"infra": True})  # fmt: skip


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def start(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
        seen.append("start")
        return rec

    def stop(cfg: Config, db: StateDB, rec: ContainerRecord, timeout: int | None,
             sig: int | None = None) -> ContainerRecord:  # fmt: skip
        seen.append(f"stop:{timeout}")
        return rec

    monkeypatch.setattr(lc, "start", start)
    monkeypatch.setattr(lc, "stop", stop)
    return seen


def test_helpers_are_awaited_after_the_start(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "settle", lambda rec: calls.append("settle"))
    rec = join.start_infra(Config.__new__(Config), StateDB.__new__(StateDB), _infra())
    assert rec.name == "p-infra"
    assert calls == ["start", "settle"]


def test_a_failed_helper_stops_the_infra_and_raises(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def settle(rec: ContainerRecord) -> None:
        calls.append("settle")
        raise RuntimeFailed("the port forwarder failed: it exited before it was ready")

    monkeypatch.setattr(network, "settle", settle)
    with pytest.raises(RuntimeFailed, match="port forwarder failed"):
        join.start_infra(Config.__new__(Config), StateDB.__new__(StateDB), _infra())
    assert calls == ["start", "settle", "stop:0"]
