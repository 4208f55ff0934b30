"""What `ps` and `inspect` print for a container, in podman's shapes."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime

from podctl.config import Config
from podctl.runtime.paths import ContainerPaths
from podctl.state.containers import ContainerRecord, State
from podctl.units import human_duration

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podctl.spec import ContainerSpec

ZERO_TIME = "0001-01-01T00:00:00Z"
ZERO_UNIX = -62135596800




def iso(ts: float) -> str:
    if not ts:
        return ZERO_TIME
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="microseconds")


def status_text(rec: ContainerRecord, now: float | None = None) -> str:
    now = now or time.time()
    if rec.state in (State.RUNNING, State.STOPPING):
        health = _health(rec)
        suffix = f" ({health['Status']})" if health else ""
        return f"Up {human_duration(now - rec.started_at)}{suffix}"
    if rec.state == State.EXITED:
        return f"Exited ({rec.exit_code}) {human_duration(now - rec.finished_at)} ago"
    if rec.state == State.REMOVING:
        return "Removing"
    if rec.state == State.CONFIGURED:
        return "Initialized"
    return "Created"


def _health(rec: ContainerRecord) -> dict[str, Any] | None:
    """podman's State.Health (see podctl.engine.health); None without a healthcheck."""
    if not rec.spec.get("healthcheck"):
        return None
    h = rec.extra.get("health") or {}
    return {"Status": h.get("Status") or "starting", "FailingStreak": int(h.get("FailingStreak") or 0),
            "Log": list(h.get("Log") or [])}  # fmt: skip


def podman_state(rec: ContainerRecord) -> str:
    return {State.STOPPING: "stopping", State.CONFIGURED: "configured"}.get(rec.state, str(rec.state))


def command_of(rec: ContainerRecord) -> list[str]:
    return list(rec.extra.get("command") or [])


def ports_text(ports: list[dict[str, Any]]) -> str:
    out = []
    for p in ports:
        host = p.get("host_ip") or "0.0.0.0"
        out.append(f"{host}:{p['host_port']}->{p['container_port']}/{p.get('protocol', 'tcp')}")
    return ", ".join(out)


def ps_item(rec: ContainerRecord, now: float, no_trunc: bool) -> dict[str, Any]:
    """One `ps` entry; `json` holds the --format json object, the rest feeds templates.

    Reads the stored spec as plain data: building ContainerSpec objects for every row would
    cost more than the rest of `ps`.
    """
    spec = rec.spec
    labels = {str(k): str(v) for k, v in spec.get("labels") or ()}
    ports = list((rec.extra.get("network") or {}).get("ports") or spec.get("ports") or ())
    cmd = command_of(rec)
    cmd_s = shlex.join(cmd) if cmd else ""
    if not no_trunc and len(cmd_s) > 20:
        cmd_s = cmd_s[:17] + "..."
    exited = rec.state == State.EXITED
    created_ago = f"{human_duration(now - rec.created)} ago"
    mounts = [m["destination"] for m in spec.get("mounts") or ()]
    json_obj: dict[str, Any] = {
        "AutoRemove": bool(spec.get("remove")),
        "Command": cmd,
        "CreatedAt": created_ago,
        "Exited": exited,
        "ExitedAt": int(rec.finished_at) if rec.finished_at else ZERO_UNIX,
        "ExitCode": rec.exit_code,
        "Id": rec.id,
        "Image": rec.image_name or rec.image,
        "ImageID": rec.image_id,
        "IsInfra": bool(rec.extra.get("infra")),
        "Labels": labels or None,
        "Mounts": mounts,
        "Names": [rec.name],
        "Namespaces": {},
        "Networks": [],
        "Pid": rec.pid if rec.state == State.RUNNING else 0,
        "Pod": rec.pod,
        "PodName": rec.extra.get("pod_name", ""),
        "Ports": [
            {"host_ip": p.get("host_ip", ""), "container_port": p["container_port"],
             "host_port": p["host_port"], "range": p.get("range", 1), "protocol": p.get("protocol", "tcp")}
            for p in ports
        ] or None,  # fmt: skip
        "Restarts": rec.restart_count,
        "Size": None,
        "StartedAt": int(rec.started_at),
        "State": podman_state(rec),
        "Status": status_text(rec, now),
        "Created": int(rec.created),
    }
    view = dict(json_obj)
    view.update(
        ID=rec.id if no_trunc else rec.short_id,
        Names=rec.name,
        Command=cmd_s,
        Created=created_ago,
        CreatedAt=iso(rec.created),
        CreatedHuman=created_ago,
        RunningFor=human_duration(now - rec.created),
        Ports=ports_text(ports),
        Labels=",".join(f"{k}={v}" for k, v in labels.items()),
        Mounts=",".join(mounts),
        Networks="",
        Pid=json_obj["Pid"],
    )
    return {"json": json_obj, "view": view}


def network_settings(owner: ContainerRecord | None) -> dict[str, Any]:
    """podman's NetworkSettings of a rootless container: its published ports (a pod member's
    are its infra's, OWNER) by "PORT/PROTO", and the network namespace's path."""
    from podctl.engine import network
    from podctl.net import ports as portmod

    ports: dict[str, list[dict[str, str]]] = {}
    for m in portmod.from_dicts(network.ports_view(owner)) if owner is not None else ():
        for one in portmod.expand(m):
            ports.setdefault(f"{one.container_port}/{one.protocol}", []).append(
                {"HostIp": one.host_ip, "HostPort": str(one.host_port) if one.host_port else ""})  # fmt: skip
    return {
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "Bridge": "",
        "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports, "SandboxKey": (owner.extra.get("netns") or "") if owner is not None else "",
        "Networks": {},
    }  # fmt: skip


def inspect(cfg: Config, rec: ContainerRecord, spec: ContainerSpec, runtime_path: str,
            network_of: ContainerRecord | None = None) -> dict[str, Any]:  # fmt: skip
    """podman's `inspect` of REC; NETWORK_OF is the container whose network it uses."""
    paths = ContainerPaths.of(cfg, rec.id)
    cmd = command_of(rec)
    running = rec.state in (State.RUNNING, State.STOPPING)
    caps = rec.extra.get("caps", [])
    mounts = []
    anon = rec.extra.get("anon", {})
    for m in spec.mounts:
        entry: dict[str, Any] = {
            "Type": str(m.type),
            "Source": m.source,
            "Destination": m.destination,
            "Driver": "",
            "Mode": "",
            "Options": ["rbind"] if m.type != "tmpfs" else [],
            "RW": not m.read_only,
            "Propagation": "rprivate" if m.type != "tmpfs" else "",
        }
        if m.type == "volume":
            name = m.source or anon.get(m.destination, "")
            entry.update(Name=name, Source=str(cfg.root / "volumes" / name / "_data"), Driver="local",
                         Options=["nosuid", "nodev", "rbind"])  # fmt: skip
        mounts.append(entry)
    restart = {"Name": "" if spec.restart_policy == "no" else str(spec.restart_policy),
               "MaximumRetryCount": spec.restart_retries}  # fmt: skip
    net = spec.network if spec.network != "private" else "none"
    return {
        "Id": rec.id,
        "Created": iso(rec.created),
        "Path": cmd[0] if cmd else "",
        "Args": cmd[1:],
        "State": {
            "OciVersion": "1.0.2-dev",
            "Status": podman_state(rec),
            "Running": running,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": rec.pid if running else 0,
            "ConmonPid": rec.conmon_pid if running else 0,
            "ExitCode": rec.exit_code,
            "Error": rec.error,
            "StartedAt": iso(rec.started_at),
            "FinishedAt": iso(rec.finished_at),
            "CheckpointedAt": ZERO_TIME,
            "RestoredAt": ZERO_TIME,
            **({"Health": h} if (h := _health(rec)) else {}),
        },
        "Image": rec.image_id,
        "ImageDigest": rec.extra.get("image_digest", ""),
        "ImageName": rec.image_name or rec.image,
        "Rootfs": "",
        "Pod": rec.pod,
        "ResolvConfPath": str(paths.userdata / "resolv.conf"),
        "HostnamePath": str(paths.userdata / "hostname"),
        "HostsPath": str(paths.userdata / "hosts"),
        "StaticDir": str(paths.userdata),
        "OCIConfigPath": str(paths.config_json),
        "OCIRuntime": runtime_path.rsplit("/", 1)[-1],
        "ConmonPidFile": str(paths.conmon_pidfile),
        "PidFile": str(paths.pidfile),
        "Name": rec.name,
        "RestartCount": rec.restart_count,
        "Driver": rec.rootfs_driver or "overlay",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "EffectiveCaps": caps,
        "BoundingCaps": caps,
        "ExecIDs": [],
        "GraphDriver": {
            "Name": "overlay",
            "Data": {"UpperDir": str(paths.upper), "WorkDir": str(paths.work),
                     "MergedDir": str(paths.merged)},
        },  # fmt: skip
        "Mounts": mounts,
        "Dependencies": [],
        "NetworkSettings": network_settings(network_of or rec),
        "Namespace": "",
        "IsInfra": bool(rec.extra.get("infra")),
        "IsService": False,
        "Config": {
            "Hostname": spec.hostname or rec.id[:12],
            "Domainname": "",
            "User": spec.user or rec.extra.get("image_user", ""),
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": spec.tty,
            "OpenStdin": spec.interactive,
            "StdinOnce": False,
            "Env": rec.extra.get("env", [f"{k}={v}" for k, v in spec.env]),
            "Cmd": list(spec.command) if spec.command is not None else rec.extra.get("image_cmd"),
            "Image": rec.image_name or rec.image,
            "Volumes": None,
            "WorkingDir": spec.workdir or rec.extra.get("image_workdir") or "/",
            "Entrypoint": " ".join(spec.entrypoint) if spec.entrypoint is not None
            else " ".join(rec.extra.get("image_entrypoint") or []),
            "OnBuild": None,
            "Labels": dict(spec.labels) or None,
            "Annotations": dict(spec.annotations),
            "StopSignal": spec.stop_signal or "SIGTERM",
            "StopTimeout": spec.stop_timeout,
            "CreateCommand": list(spec.create_command),
            "Umask": "0022",
            "Timeout": 0,
            "Passwd": True,
            "sdNotifyMode": str(spec.sdnotify),
            **({"Healthcheck": {"Test": list(hc.test), "StartPeriod": int(hc.start_period * 1e9),
                                "Interval": int(hc.interval * 1e9), "Timeout": int(hc.timeout * 1e9),
                                "Retries": hc.retries},
                "HealthcheckOnFailureAction": str(hc.on_failure)}
               if (hc := spec.healthcheck) else {}),  # fmt: skip
        },
        "HostConfig": {
            "Binds": [f"{m.source}:{m.destination}:{'ro' if m.read_only else 'rw'},rprivate,rbind"
                      for m in spec.mounts if m.type != "tmpfs"],
            "CgroupManager": "cgroupfs",
            "NetworkMode": net,
            "PortBindings": {},
            "RestartPolicy": restart,
            "AutoRemove": spec.remove,
            "CapAdd": list(spec.cap_add),
            "CapDrop": list(spec.cap_drop),
            "Privileged": spec.privileged,
            "ReadonlyRootfs": spec.read_only,
            "SecurityOpt": list(spec.security_opt),
            "Tmpfs": {m.destination: ",".join(m.options) for m in spec.mounts if m.type == "tmpfs"},
            "Ulimits": [{"Name": u.split("=")[0], "Soft": 0, "Hard": 0} for u in spec.ulimits],
            "UsernsMode": spec.userns or "",
            "Memory": spec.memory or 0,
            "NanoCpus": int((spec.cpus or 0) * 1e9),
            "PidsLimit": spec.pids_limit or 0,
        },  # fmt: skip
    }
