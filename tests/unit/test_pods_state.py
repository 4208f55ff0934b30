"""PodSpec round trips, the pods table (schema 2) and pod status rules, without running anything."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from podctl.errors import AlreadyExists, InvalidSpec, NotFound
from podctl.spec import ContainerSpec, ExitPolicy, Mount, MountType, PodSpec, PortMapping
from podctl.state import pods as podstate
from podctl.state.containers import SCHEMA_VERSION, ContainerRecord, State, StateDB
from podctl.state.pods import PodRecord


def test_podspec_round_trip_keeps_every_field() -> None:
    spec = PodSpec(
        name="web", hostname="h", labels=(("a", "1"),), annotations=(("k", "v"),),
        ports=(PortMapping(80, 8080, "tcp", "127.0.0.1"),), share=("ipc", "net", "uts", "pid"),
        exit_policy=ExitPolicy.STOP, add_hosts=("db:10.0.0.5",), dns_servers=("1.1.1.1",),
        dns_search=("example.com",), dns_options=("ndots:2",),
        volumes=(Mount(MountType.VOLUME, "/data", "shared", options=("subpath=x",)),),
        containers=(ContainerSpec(image="busybox", name="c", dns_servers=("9.9.9.9",)),),
    )  # fmt: skip
    again = PodSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.volumes[0].effective_subpath == "x"
    assert Mount(MountType.BIND, "/m", "/src", subpath="a/b").effective_subpath == "a/b"


def test_podspec_validation() -> None:
    with pytest.raises(InvalidSpec, match="--share bogus"):
        PodSpec(name="p", share=("bogus",))
    with pytest.raises(InvalidSpec, match="infra container"):
        PodSpec(name="p", infra=False, ports=(PortMapping(80),))
    with pytest.raises(InvalidSpec, match="pod name"):
        PodSpec(name="-bad")


def test_container_spec_defaults_to_slirp4netns_and_old_records_load() -> None:
    assert ContainerSpec(image="x").network == "slirp4netns"
    old = {"image": "x", "network": "private", "ports": [], "mounts": []}  # a schema-1 record
    spec = ContainerSpec.from_dict(old)
    assert spec.network == "private" and spec.dns_servers == () and spec.add_hosts == ()


def test_pods_table(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.db")
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    rec = PodRecord(id="ab" * 32, name="web", created=time.time(), spec=PodSpec(name="web").to_dict())
    podstate.add(db, rec)
    with pytest.raises(AlreadyExists, match="pod name \"web\" is already in use"):
        podstate.add(db, PodRecord(id="cd" * 32, name="web", created=time.time(), spec={}))
    assert podstate.lookup(db, "web").id == rec.id
    assert podstate.lookup(db, "abab").name == "web"
    with pytest.raises(NotFound, match="no such pod"):
        podstate.lookup(db, "nope")
    rec = podstate.update(db, rec.id, infra_id="ef" * 32, extra={"x": 1})
    assert podstate.get(db, rec.id) == rec and rec.labels == {}
    for i, name in enumerate(("infra", "m1", "m2")):
        db.add_container(ContainerRecord(id=f"{i}" * 64, name=name, created=float(i), image="i", spec={},
                                         state=State.CREATED, pod=rec.id))  # fmt: skip
    assert [c.name for c in podstate.members(db, rec.id)] == ["infra", "m1", "m2"]
    podstate.remove(db, rec.id)
    assert podstate.all_pods(db) == [] and not podstate.name_taken(db, "web")


def test_schema_1_database_gains_the_pods_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT)")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    db = StateDB(path)
    assert podstate.all_pods(db) == []
