"""A container's network namespace and user-mode networking, composed from podctl.net.

Own namespace (slirp4netns, pasta, none): a netns file under the runroot is created before
the OCI runtime runs (`runtime/netns/ID`), slirp4netns or pasta is started on it, its state is
stored in the container record at once (`extra["network"]`), and config.json joins the
namespace by path. `detach` stops the helper and removes the netns; it is called on stop,
cleanup (conmon's exit command), failed starts and rm, and it also finds helpers a killed
podctl never recorded (by their argv naming the netns file).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from podctl.config import Config, ensure_private_dir
from podctl.errors import PodctlError

# podctl.records and not typing.TYPE_CHECKING: start-up cost on every `run` (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any

    from podctl.net import NetworkOptions, NetworkState
    from podctl.spec import ContainerSpec, PortMapping
    from podctl.state.containers import ContainerRecord, StateDB
else:
    from podctl.records import dataclass


def netns_file(cfg: Config, cid: str) -> Path:
    return cfg.runroot / "netns" / cid


def run_dir(cfg: Config, cid: str) -> Path:
    return cfg.runroot / "net" / cid[:12]


def options(spec: ContainerSpec) -> NetworkOptions:
    from podctl import net

    return net.parse_network(spec.network or "slirp4netns")


def check_ports(network: str, ports: Sequence[PortMapping]) -> None:
    """At create time: bad or taken host ports fail before anything exists."""
    from podctl import net
    from podctl.net import ports as portmod

    if not ports:
        return
    opts = net.parse_network(network or "slirp4netns")
    if not opts.publishes:
        return
    portmod.resolve(ports)


@dataclass(frozen=True)
class Attached:
    netns_path: str | None  # None: a new namespace made by the runtime (or the host's)
    state: NetworkState | None


def attach(cfg: Config, db: StateDB, rec: ContainerRecord, spec: ContainerSpec) -> Attached:
    """Create the namespace and start its helper (caller: inside the userns, holding the lock)."""
    from podctl import net

    opts = options(spec)
    if not opts.needs_helper:
        # none: the runtime makes the namespace (and brings lo up) itself; nothing to prepare.
        return Attached(None, None)
    detach(cfg, db, rec)  # a stale namespace from a killed run
    path = netns_file(cfg, rec.id)
    ensure_private_dir(path.parent)
    db.update_container(rec.id, extra={**rec.extra, "netns": str(path)})
    net.create_netns(path, userns_pid=None)
    # pasta (or slirp4netns and the port forwarder) finish starting while the container is
    # created in the runtime: lifecycle.settle_network waits for them before its process starts.
    state = net.setup(str(path), None, opts, spec.ports, run_dir=run_dir(cfg, rec.id), defer=True)
    current = db.get_container(rec.id)
    extra = dict(current.extra if current else rec.extra)
    extra["netns"] = str(path)
    extra["network"] = state.to_dict()
    db.update_container(rec.id, extra=extra)
    return Attached(str(path), state)


def settle(rec: ContainerRecord) -> None:
    """Wait for what attach left starting for REC (pasta, or slirp4netns and its port
    forwarder). Raises RuntimeFailed when that failed: the caller undoes REC's start, whose
    network detach removes the rest."""
    state = state_of(rec)
    if state is not None and state.pid:
        from podctl.net import api

        api.await_ready(state)


def hasten_detach(rec: ContainerRecord) -> None:
    """Tell REC's network helpers to exit now (no wait), once nothing needs its network: their
    exit overlaps the caller's other work, and detach() later finds them gone. Never raises."""
    state = state_of(rec)
    if state is not None:
        from podctl.net import api

        with contextlib.suppress(OSError, PodctlError):
            api.hasten_teardown(state)


def state_of(rec: ContainerRecord) -> NetworkState | None:
    data = rec.extra.get("network")
    if not data:
        return None
    from podctl import net

    return net.NetworkState.from_dict(data)


def detach(cfg: Config, db: StateDB | None, rec: ContainerRecord) -> None:
    """Stop the helper and remove the namespace file. Idempotent; never raises."""
    from podctl import net

    path = netns_file(cfg, rec.id)
    state = state_of(rec)
    if state is None and "netns" not in rec.extra and not os.path.lexists(path):
        return  # nothing was ever set up (a helper only starts once the netns file exists)
    if state is not None:
        with contextlib.suppress(PodctlError, OSError):
            net.teardown(state)
    _kill_strays(str(path), run_dir(cfg, rec.id))
    with contextlib.suppress(PodctlError, OSError):
        if path.exists():
            net.remove_netns(path, userns_pid=None)
    with contextlib.suppress(OSError):
        import shutil

        shutil.rmtree(run_dir(cfg, rec.id), ignore_errors=True)
    if db is not None and ("network" in rec.extra or "netns" in rec.extra):
        current = db.get_container(rec.id)
        if current is not None:
            extra = {k: v for k, v in current.extra.items() if k not in ("network", "netns")}
            with contextlib.suppress(PodctlError):
                db.update_container(rec.id, extra=extra)


def _kill_strays(netns: str, rdir: Path) -> None:
    """Helpers whose argv names this container's netns or run dir (a killed podctl's)."""
    import signal

    needles = (netns.encode(), str(rdir).encode() + b"/")
    me = os.getuid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for e in entries:
        if not e.isdigit():
            continue
        try:
            if os.stat(f"/proc/{e}").st_uid != me and me != 0:
                continue
            with open(f"/proc/{e}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if any(n in cmd for n in needles) and (b"slirp4netns" in cmd or b"pasta" in cmd or b"portfwd" in cmd):
            with contextlib.suppress(OSError):
                os.kill(int(e), signal.SIGKILL)


def etc_texts(state: NetworkState | None, *, hostname: str, names: Sequence[str],
              members: Sequence[str] = (), dns: Sequence[str] = (), dns_search: Sequence[str] = (),
              dns_options: Sequence[str] = (), add_hosts: Sequence[str] = ()) -> dict[str, str]:  # fmt: skip
    """hosts and resolv.conf text for a container on STATE's network."""
    from podctl import net

    return {
        "hosts": net.hosts_file(hostname, state=state, names=names, members=members, add_hosts=add_hosts),
        "resolv.conf": net.resolv_conf(state, dns=dns, dns_search=dns_search, dns_options=dns_options),
    }


def member_hosts_text(infra: ContainerRecord, *, members: Sequence[str]) -> str:
    """The pod's shared /etc/hosts (what etc_texts gives the infra, with MEMBERS), from the
    infra's stored record: no need for the network layer's process code on a member's start."""
    from podctl.net import etc

    return etc.hosts_for(infra.spec.get("hostname") or infra.id[:12], infra.extra.get("network") or {},
                         members=members, add_hosts=infra.spec.get("add_hosts") or ())  # fmt: skip


def ports_view(rec: ContainerRecord) -> list[dict[str, Any]]:
    """The published ports as stored (resolved host ports when running, else as asked)."""
    from podctl.net import ports as portmod

    st = rec.extra.get("network")
    if st and st.get("ports"):
        return [dict(d) for d in portmod.to_dicts(portmod.from_dicts(st["ports"]))]
    return [dict(p) for p in rec.spec.get("ports") or ()]
