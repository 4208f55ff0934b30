"""What a pod member needs from its pod when it starts."""

from __future__ import annotations

import contextlib
from pathlib import Path

from podctl.config import Config
from podctl.errors import StateError
from podctl.runtime.paths import ContainerPaths
from podctl.state import pods as podstate
from podctl.state.containers import ContainerRecord, State, StateDB

_NS = {"net": "network", "ipc": "ipc", "uts": "uts", "pid": "pid"}


def member_names(db: StateDB, pod_id: str) -> list[str]:
    return [r.name for r in podstate.members(db, pod_id) if not r.extra.get("infra")]


class MemberContext:
    """(A plain class: no dataclasses import on a member's start.)"""

    def __init__(self, cfg: Config, db: StateDB, pod_id: str, infra: ContainerRecord | None,
                 hostname: str | None = None) -> None:  # fmt: skip
        self.cfg = cfg
        self.db = db
        self.pod_id = pod_id
        self.infra = infra
        self.hostname = hostname
        self.ns_paths: dict[str, str] = {}
        self.etc_sources: dict[str, str] = {}
        self.host_network = False  # the pod uses the host's network: members do too

    def refresh_hosts(self) -> None:
        """Rewrite the pod's shared /etc/hosts with every member's name (same inode)."""
        if self.infra is None or "/etc/hosts" not in self.etc_sources:
            return
        from podctl.engine import network
        from podctl.runtime.etcfiles import write_in_place

        infra = self.db.get_container(self.infra.id) or self.infra
        text = network.member_hosts_text(infra, members=member_names(self.db, self.pod_id))
        with contextlib.suppress(OSError):
            write_in_place(Path(self.etc_sources["/etc/hosts"]), text)


def member_context(cfg: Config, db: StateDB, rec: ContainerRecord) -> MemberContext:
    """Namespaces to join and files to share; starts the infra container when it is not running."""
    from podctl.engine import lifecycle as lc

    pod = podstate.get(db, rec.pod)
    if pod is None:
        raise StateError(f"container {rec.name}: its pod {rec.pod} no longer exists")
    spec = pod.spec
    hostname = spec.get("hostname") or pod.name
    if not pod.infra_id:
        return MemberContext(cfg, db, pod.id, None, hostname=None)
    infra = db.get_container(pod.infra_id)
    if infra is None:
        raise StateError(f"pod {pod.name}: its infra container {pod.infra_id[:12]} is missing")
    with lc.locked(cfg, infra.id):
        infra = lc.sync(cfg, db, db.get_container(infra.id) or infra)
        if infra.state != State.RUNNING:
            infra = lc.start(cfg, db, infra)  # its network is ready before it runs
    if not infra.pid:
        raise StateError(f"pod {pod.name}: its infra container is not running")
    ctx = MemberContext(cfg, db, pod.id, infra, hostname=hostname if "uts" in spec.get("share", ()) else None)
    host_net = str(spec.get("network") or "").partition(":")[0] == "host"
    ctx.host_network = host_net and "net" in spec.get("share", ())
    for share in spec.get("share", ()):
        if share not in _NS:
            continue
        if share == "net" and host_net:
            continue  # the host's netns belongs to the initial user namespace: not joinable here
        if share == "net" and infra.extra.get("netns"):
            ctx.ns_paths["network"] = str(infra.extra["netns"])
        else:
            ctx.ns_paths[_NS[share]] = f"/proc/{infra.pid}/ns/{share}"
    if "net" in spec.get("share", ()):
        ud = ContainerPaths.of(cfg, infra.id).userdata
        ctx.etc_sources["/etc/hosts"] = str(ud / "hosts")
        ctx.etc_sources["/etc/resolv.conf"] = str(ud / "resolv.conf")
    return ctx
