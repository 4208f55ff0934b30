"""Netlink work inside a pod's network namespace, with pyroute2 (imported lazily: ~95 ms).

pyroute2 gets EPERM from outside the pod's user namespace, so every call here runs in a forked
child that joins the user namespace, then the network namespace (nsexec.in_namespaces).
The hot path (bringing `lo` up on every start) uses an ioctl instead; see nsexec.link_up_ioctl.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podctl.net.nsexec import in_namespaces


def _links_up(names: Sequence[str]) -> list[str]:
    from pyroute2 import IPRoute  # noqa: PLC0415 - heavy import, only here

    done = []
    with IPRoute() as ipr:
        for name in names:
            idx = ipr.link_lookup(ifname=name)
            if not idx:
                raise LookupError(f"no interface {name!r}")
            ipr.link("set", index=idx[0], state="up")
            done.append(name)
    return done


def _interfaces() -> list[dict[str, Any]]:
    from pyroute2 import IPRoute  # noqa: PLC0415

    out: list[dict[str, Any]] = []
    with IPRoute() as ipr:
        addrs: dict[int, list[dict[str, Any]]] = {}
        for a in ipr.get_addr():
            addrs.setdefault(a["index"], []).append(
                {"address": a.get_attr("IFA_ADDRESS"), "prefixlen": a["prefixlen"],
                 "family": 6 if a["family"] == 10 else 4}
            )  # fmt: skip
        for link in ipr.get_links():
            out.append({
                "name": link.get_attr("IFLA_IFNAME"),
                "mtu": link.get_attr("IFLA_MTU"),
                "mac": link.get_attr("IFLA_ADDRESS") or "",
                "up": bool(link["flags"] & 1),
                "addresses": addrs.get(link["index"], []),
            })  # fmt: skip
        gw = ""
        for r in ipr.get_default_routes(family=2):
            gw = r.get_attr("RTA_GATEWAY") or gw
    for i in out:
        i["gateway"] = gw
    return out


def links_up(netns_path: str, *, userns_pid: int | None, names: Sequence[str] = ("lo",)) -> list[str]:
    """Set interfaces NAMES up inside the namespace."""
    wanted = list(names)
    return in_namespaces(lambda: _links_up(wanted), userns_pid=userns_pid, netns_path=netns_path,
                         what="bringing up " + ", ".join(wanted))  # fmt: skip


def interfaces(netns_path: str, *, userns_pid: int | None) -> list[dict[str, Any]]:
    """The namespace's interfaces: name, mtu, mac, up, addresses [{address, prefixlen, family}], gateway.

    For `inspect` (NetworkSettings) and for tests.
    """
    return in_namespaces(_interfaces, userns_pid=userns_pid, netns_path=netns_path,
                         what="listing interfaces")  # fmt: skip
