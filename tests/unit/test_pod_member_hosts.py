"""A pod member's start rewrites the pod's /etc/hosts from the infra's stored record, with the
same text the infra got when its network was set up (plus the members)."""

from __future__ import annotations

import pytest

from podctl import net
from podctl.engine import network
from podctl.spec import ContainerSpec
from podctl.state.containers import ContainerRecord, State


def _infra(spec: ContainerSpec, state: net.NetworkState | None) -> ContainerRecord:
    extra = {"infra": True, "network": state.to_dict()} if state else {"infra": True}
    return ContainerRecord(id="ab" * 32, name="p-infra", created=0.0, image="x", spec=spec.to_dict(),
                           state=State.RUNNING, pod="cd" * 32, extra=extra)  # fmt: skip


@pytest.mark.parametrize("mode", ["slirp4netns", "slirp4netns-loopback", "host", "none"])
def test_member_hosts_text_matches_etc_texts(mode: str) -> None:
    spec = ContainerSpec(image="x", name="p-infra", hostname="podhost" if mode != "none" else None,
                         add_hosts=("db.example:10.9.8.7", "alias:10.0.0.1"))  # fmt: skip
    state: net.NetworkState | None
    if mode.startswith("slirp4netns"):
        state = net.NetworkState(mode="slirp4netns", helper="slirp4netns", ip="10.0.2.100", gateway="10.0.2.2",
                                 host_gateway="10.0.2.2" if mode.endswith("loopback") else "")  # fmt: skip
    elif mode == "host":
        state = net.NetworkState(mode="host")
    else:
        state = None
    rec = _infra(spec, state)
    want = network.etc_texts(state, hostname=spec.hostname or rec.id[:12], names=[], members=["a", "b"],
                             add_hosts=spec.add_hosts)["hosts"]  # fmt: skip
    got = network.member_hosts_text(rec, members=["a", "b"])
    assert got == want
    assert "10.9.8.7\tdb.example" in got
    if mode.startswith("slirp4netns"):
        assert "10.0.2.100" in got and "\ta" in got
