"""What `pod ps` and `pod inspect` print, in podman's shapes."""

from __future__ import annotations

from typing import Any

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.engine.container_views import iso, podman_state, status_text
from podctl.state import pods as podstate
from podctl.state.containers import StateDB
from podctl.state.pods import PodRecord


def ps_item(cfg: Config, db: StateDB, pod: PodRecord, status: str) -> dict[str, Any]:
    """{"json": podman's `pod ps --format json` object, "view": the same plus table fields}."""
    import time

    from podctl.units import human_duration

    recs = [lc.observed(cfg, r) for r in podstate.members(db, pod.id)]
    spec = pod.spec
    js = {
        "Cgroup": "",
        "Containers": [{"Id": r.id, "Names": r.name, "Status": podman_state(r)} for r in recs],
        "Created": iso(pod.created),
        "Id": pod.id,
        "InfraId": pod.infra_id,
        "Name": pod.name,
        "Namespace": "",
        "Networks": [],
        "Status": status,
        "Labels": pod.labels,
    }
    view = {
        **js, "Created": f"{human_duration(time.time() - pod.created)} ago", "ID": pod.id[:12],
        "InfraID": pod.infra_id[:12], "NumberOfContainers": str(len(recs)),
        "Share": ",".join(spec.get("share") or ()),
        "ContainerNames": ",".join(r.name for r in recs if r.id != pod.infra_id),
    }  # fmt: skip
    return {"json": js, "view": view}


def inspect_item(cfg: Config, db: StateDB, pod: PodRecord, status: str) -> dict[str, Any]:
    from podctl.engine import network

    recs = [lc.observed(cfg, r) for r in podstate.members(db, pod.id)]
    spec = pod.spec
    infra = next((r for r in recs if r.id == pod.infra_id), None)
    ports = network.ports_view(infra) if infra is not None else [dict(p) for p in spec.get("ports") or ()]
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        bindings.setdefault(f"{p['container_port']}/{p.get('protocol', 'tcp')}", []).append(
            {"HostIp": p.get("host_ip") or "", "HostPort": str(p["host_port"])}
        )
    infra_config: dict[str, Any] = {
        "PortBindings": bindings,
        "HostNetwork": spec.get("network") == "host",
        "StaticIP": "",
        "StaticMAC": "",
        "NoManageResolvConf": False,
        "DNSServer": list(spec.get("dns_servers") or ()),
        "DNSSearch": list(spec.get("dns_search") or ()),
        "DNSOption": list(spec.get("dns_options") or ()),
        "NoManageHosts": False,
        "HostAdd": list(spec.get("add_hosts") or ()),
        "Networks": [spec.get("network") or "slirp4netns"],
        "NetworkOptions": None,
        "pid_ns": "pod" if "pid" in (spec.get("share") or ()) else "private",
        "userns": "host",
        "uts_ns": "pod" if "uts" in (spec.get("share") or ()) else "private",
    }
    return {
        "Id": pod.id,
        "Name": pod.name,
        "Created": iso(pod.created),
        "CreateCommand": list(spec.get("create_command") or ()),
        "ExitPolicy": spec.get("exit_policy", "continue"),
        "State": status,
        "Hostname": spec.get("hostname") or pod.name,
        "Labels": pod.labels,
        "CreateCgroup": False,
        "CreateInfra": bool(pod.infra_id),
        "InfraContainerID": pod.infra_id,
        "InfraConfig": infra_config if pod.infra_id else None,
        "SharedNamespaces": sorted(spec.get("share") or ()),
        "NumContainers": len(recs),
        "Containers": [{"Id": r.id, "Name": r.name, "State": podman_state(r),
                        "Status": status_text(r)} for r in recs],  # fmt: skip
    }
