"""`podctl info`: what podctl runs on, in podman's shape (host, store, registries, version)."""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path
from typing import Any

from podctl import __version__
from podctl.config import Config, conf_files
from podctl.errors import PodctlError
from podctl.rootless import subid
from podctl.system import host


def _id_mappings(path: Path, host_id: int) -> list[dict[str, int]]:
    maps = [{"container_id": 0, "host_id": host_id, "size": 1}]
    inner = 1
    for r in subid.ranges(path):
        maps.append({"container_id": inner, "host_id": r.start, "size": r.count})
        inner += r.count
    return maps


def _runtime(cfg: Config) -> dict[str, Any]:
    """The runtime containers get (the probe starts a real one, cached per boot)."""
    from podctl.runtime import probe

    available = [n for n in probe.CANDIDATES if probe.runtime_path(cfg, n)]
    try:
        path = probe.select_runtime(cfg)
        ok, version, reason = probe.probe_runtime(cfg, path)
    except PodctlError as e:
        path, version, reason = "", "", e.message
    return {
        "name": os.path.basename(path) if path else (cfg.runtime_name or ""),
        "path": path,
        "version": version,
        "configured": cfg.runtime_name or "auto",
        "available": available,
        "reason": reason,
    }


def _graph_driver(cfg: Config) -> str:
    from podctl.runtime import probe

    driver, _reason = probe.probe_rootfs(cfg)
    return driver or "none"


def gather(cfg: Config) -> dict[str, Any]:
    uid, gid = os.getuid(), os.getgid()
    slirp = host.tool("slirp4netns")
    pasta = host.tool("pasta")
    conmon = host.tool("conmon")
    catatonit = host.tool("catatonit", ("--version",))
    seccomp = Path("/usr/share/containers/seccomp.json")
    reg_files = conf_files("registries.conf", "CONTAINERS_REGISTRIES_CONF")
    cgroup_mode = host.cgroup_mode()
    return {
        "host": {
            "arch": host.arch(),
            "hostname": socket.gethostname(),
            "os": "linux",
            "distribution": host.os_release(),
            "kernel": host.kernel(),
            "cpus": host.cpus(),
            "memTotal": host.mem_total(),
            "cgroupVersion": "v2" if cgroup_mode == "v2" else "v1",
            "cgroupMode": cgroup_mode,
            "cgroupControllers": [],
            "rootless": uid != 0,
            "rootlessNetworkCmd": cfg.rootless_network_cmd,  # podman 5's field
            "user": {"uid": uid, "gid": gid},
            "idMappings": {
                "uidmap": _id_mappings(subid.SUBUID, uid),
                "gidmap": _id_mappings(subid.SUBGID, gid),
            },
            "ociRuntime": _runtime(cfg),
            "conmon": conmon.as_dict(),
            "slirp4netns": {"executable": slirp.path or "", "version": slirp.version},
            "pasta": {"executable": pasta.path or "", "version": pasta.version},
            "catatonit": catatonit.as_dict(),
            "security": {
                "rootless": uid != 0,
                "seccompEnabled": seccomp.exists(),
                "seccompProfilePath": str(seccomp) if seccomp.exists() else "",
                "capabilities": ",".join("CAP_" + c for c in cfg.default_capabilities),
            },
        },
        "store": {
            "graphRoot": str(cfg.root),
            "runRoot": str(cfg.runroot),
            "graphDriverName": _graph_driver(cfg),
            "configFiles": [str(f) for f in cfg.files],
        },
        "registries": {"configFiles": [str(f) for f in reg_files]},
        "version": {
            "version": __version__,
            "pythonVersion": platform.python_version(),
            "osArch": f"linux/{host.arch()}",
        },
    }
