"""ContainerSpec + image config -> OCI runtime-spec config.json. The only writer of config.json."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from podctl import fastjson as json
from podctl.errors import InvalidSpec
from podctl.log import warn
from podctl.runtime import etcfiles, seccomp
from podctl.runtime.paths import ContainerPaths, secure_join
from podctl.spec import ContainerSpec

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field

OCI_VERSION = "1.0.2-dev"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

ALL_CAPS = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)  # fmt: skip

MASKED_PATHS = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
    "/sys/dev/block",
)  # fmt: skip
READONLY_PATHS = (
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)  # fmt: skip

RLIMITS = {
    "as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA",
    "fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK",
    "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE",
    "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
    "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
}  # fmt: skip


@dataclass(frozen=True)
class ResolvedMount:
    """A mount with its host source known (volumes already turned into paths)."""

    destination: str
    type: str  # "bind" or "tmpfs"
    source: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Launch:
    """Everything config.json is made from."""

    cid: str
    name: str
    spec: ContainerSpec
    image_config: dict[str, Any]  # the OCI image config's "config" object
    image_name: str
    image_id: str
    paths: ContainerPaths
    mounts: tuple[ResolvedMount, ...] = ()
    default_caps: tuple[str, ...] = ()
    # containers.conf [containers]: no_new_privileges, seccomp_profile, default_ulimits
    defaults: dict[str, Any] = field(default_factory=dict)
    netns_path: str | None = None  # --network container:NAME
    notify_dir: Path | None = None  # conmon's sd_notify socket dir, mounted at /run/notify
    # namespaces to join by path ("network", "ipc", "uts", "pid"): a prepared netns, a pod's
    ns_paths: dict[str, str] = field(default_factory=dict)
    etc_text: dict[str, str] = field(default_factory=dict)  # "hosts", "resolv.conf" contents
    etc_sources: dict[str, str] = field(default_factory=dict)  # /etc/hosts -> a pod's shared file
    host_uid: int = field(default_factory=lambda: outer_id("uid"))
    host_gid: int = field(default_factory=lambda: outer_id("gid"))


def outer_id(kind: str) -> int:
    """The host id that our uid/gid 0 stands for (the user itself, inside its namespace)."""
    try:
        for line in Path(f"/proc/self/{kind}_map").read_text().splitlines():
            inside, outside, _count = line.split()
            if inside == "0":
                return int(outside) if outside != "0" or _count != "4294967295" else 0
    except (OSError, ValueError):
        pass
    return os.getuid() if kind == "uid" else os.getgid()


def known_caps() -> tuple[str, ...]:
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return ALL_CAPS
    return ALL_CAPS[: last + 1]


def normalize_cap(name: str, flag: str) -> str:
    cap = name.upper().removeprefix("CAP_")
    if cap != "ALL" and cap not in ALL_CAPS:
        raise InvalidSpec(f"{flag} {name}: unknown capability")
    return cap


def capabilities(spec: ContainerSpec, defaults: tuple[str, ...]) -> list[str]:
    known = known_caps()
    caps = set(known) if spec.privileged else {normalize_cap(c, "default") for c in defaults}
    for c in spec.cap_add:
        cap = normalize_cap(c, "--cap-add")
        caps |= set(known) if cap == "ALL" else {cap}
    for c in spec.cap_drop:
        cap = normalize_cap(c, "--cap-drop")
        caps = set() if cap == "ALL" else caps - {cap}
    return [f"CAP_{c}" for c in ALL_CAPS if c in caps]


def process_args(spec: ContainerSpec, image: dict[str, Any]) -> list[str]:
    if spec.entrypoint is not None:
        entry = list(spec.entrypoint)
        cmd = list(spec.command) if spec.command is not None else []
    else:
        entry = list(image.get("Entrypoint") or [])
        cmd = list(spec.command) if spec.command is not None else list(image.get("Cmd") or [])
    args = entry + cmd
    if not args:
        raise InvalidSpec(
            "no command or entrypoint provided, and no CMD or ENTRYPOINT from image"
        )
    return args


def environment(spec: ContainerSpec, image: dict[str, Any], home: str, hostname: str) -> list[str]:
    env: dict[str, str] = {}
    if spec.env_host:
        env.update(os.environ)
        for k in ("PATH", "HOME", "HOSTNAME", "TERM", "_PODCTL_USERNS_PID", "container"):
            env.pop(k, None)
    env["PATH"] = DEFAULT_PATH
    for item in image.get("Env") or []:
        k, _, v = item.partition("=")
        env[k] = v
    env["container"] = "podman"
    if spec.tty:
        env["TERM"] = "xterm"
    env["HOSTNAME"] = hostname
    env.setdefault("HOME", home or "/")
    for k, v in spec.env:
        env[k] = v
    return [f"{k}={v}" for k, v in env.items()]


def rlimits(spec: ContainerSpec, defaults: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, res in (("RLIMIT_NOFILE", resource.RLIMIT_NOFILE), ("RLIMIT_NPROC", resource.RLIMIT_NPROC)):
        _soft, hard = resource.getrlimit(res)
        hard = hard if hard != resource.RLIM_INFINITY else 1048576
        out[name] = {"type": name, "soft": hard, "hard": hard}
    for item in (*defaults, *spec.ulimits):
        name, _, vals = item.partition("=")
        typ = RLIMITS.get(name.strip().lower())
        if not typ or not vals:
            raise InvalidSpec(f"--ulimit {item}: expected NAME=SOFT[:HARD] with a known NAME")
        soft_s, _, hard_s = vals.partition(":")
        try:
            soft = int(soft_s)
            hard = int(hard_s) if hard_s else soft
        except ValueError as e:
            raise InvalidSpec(f"--ulimit {item}: limits must be integers") from e
        unlimited = 2**64 - 1
        soft = unlimited if soft == -1 else soft
        hard = unlimited if hard == -1 else hard
        if soft > hard:
            raise InvalidSpec(f"--ulimit {item}: the soft limit must not exceed the hard limit")
        out[typ] = {"type": typ, "soft": soft, "hard": hard}
    return list(out.values())


def _security(spec: ContainerSpec) -> tuple[bool, str | None, list[str], list[str]]:
    """(no_new_privileges, seccomp profile path or "unconfined"/None, mask, unmask)."""
    nnp = False
    profile: str | None = None
    mask: list[str] = []
    unmask: list[str] = []
    for opt in spec.security_opt:
        key, sep, val = opt.partition("=" if "=" in opt else ":")
        if key == "no-new-privileges":
            nnp = val in ("", "true")
        elif key == "seccomp":
            profile = val
        elif key == "mask":
            mask += [p for p in val.split(":") if p]
        elif key == "unmask":
            unmask += [p for p in val.split(":") if p]
        elif key in ("label", "apparmor"):
            continue  # no SELinux / AppArmor here; accepted for compatibility
        else:
            raise InvalidSpec(f"--security-opt {opt}: unsupported option")
    return nnp, profile, mask, unmask


def standard_mounts(spec: ContainerSpec, own_netns: bool) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]  # fmt: skip
    # sysfs may only be mounted by the owner of the network namespace; in the host's network
    # (owned by the initial user namespace) podman bind-mounts the host's /sys instead.
    if own_netns:
        mounts.append({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                       "options": ["nosuid", "noexec", "nodev", "ro"]})  # fmt: skip
    else:
        mounts.append({"destination": "/sys", "type": "bind", "source": "/sys",
                       "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})  # fmt: skip
    return mounts


def _keep_id_maps(uid: int, size: int) -> list[dict[str, int]]:
    """Map the user's own id (0 in our namespace) to UID in the container, the rest around it."""
    maps = [{"containerID": uid, "hostID": 0, "size": 1}]
    if uid > 0:
        maps.append({"containerID": 0, "hostID": 1, "size": min(uid, size - 1)})
    if size - 1 > uid:
        maps.append({"containerID": uid + 1, "hostID": uid + 1, "size": size - 1 - uid})
    return maps


def _ns_size() -> int:
    try:
        return sum(int(line.split()[2]) for line in Path("/proc/self/uid_map").read_text().splitlines())
    except (OSError, ValueError, IndexError):
        return 65537


def build(launch: Launch) -> dict[str, Any]:
    spec = launch.spec
    img = launch.image_config
    rootfs = launch.paths.merged
    hostname = spec.hostname or launch.cid[:12]
    network = spec.network or "private"
    host_net = network == "host"
    keep_id = spec.userns == "keep-id"

    user_str = spec.user if spec.user is not None else (img.get("User") or "")
    if keep_id and not spec.user:
        import pwd

        try:
            pw = pwd.getpwuid(launch.host_uid)
            etcfiles.ensure_passwd_entry(rootfs, launch.host_uid, launch.host_gid, pw.pw_name, pw.pw_dir)
        except KeyError:
            pass
        user_str = f"{launch.host_uid}:{launch.host_gid}"
    user = etcfiles.resolve_user(rootfs, user_str)

    args = process_args(spec, img)
    cwd = spec.workdir or img.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidSpec(f"working directory {cwd!r} must be absolute")
    target = secure_join(rootfs, cwd)
    if not target.exists():
        target.mkdir(parents=True, exist_ok=True)
        os.chown(target, user.uid, user.gid)

    caps = capabilities(spec, launch.default_caps)
    nnp, profile, mask, unmask = _security(spec)
    conf = launch.defaults
    nnp = nnp or bool(conf.get("no_new_privileges"))
    profile = profile or conf.get("seccomp_profile") or None
    proc_caps = caps if user.uid == 0 else []
    process: dict[str, Any] = {
        "terminal": spec.tty,
        "user": {"uid": user.uid, "gid": user.gid, "umask": 0o022,
                 **({"additionalGids": list(user.additional_gids)} if user.additional_gids else {})},
        "args": args,
        "env": environment(spec, img, user.home, hostname),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": proc_caps, "permitted": proc_caps},
        "rlimits": rlimits(spec, tuple(conf.get("default_ulimits") or ())),
        "noNewPrivileges": nnp,
    }  # fmt: skip

    namespaces: list[dict[str, str]] = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    mode = network.partition(":")[0]
    if "network" in launch.ns_paths:
        host_net = False
        namespaces.append({"type": "network", "path": launch.ns_paths["network"]})
    elif mode in ("private", "none", "slirp4netns", "bridge", "pasta"):
        namespaces.append({"type": "network"})
    elif mode in ("container", "ns"):
        if not launch.netns_path:
            raise InvalidSpec(f"--network {network}: the network namespace is not known")
        namespaces.append({"type": "network", "path": launch.netns_path})
    elif not host_net:
        raise InvalidSpec(f"--network {network}: unsupported network mode")
    for ns in namespaces:
        if ns["type"] in launch.ns_paths and ns["type"] != "network":
            ns["path"] = launch.ns_paths[ns["type"]]

    linux: dict[str, Any] = {"namespaces": namespaces}
    if keep_id:
        size = _ns_size()
        namespaces.append({"type": "user"})
        linux["uidMappings"] = _keep_id_maps(launch.host_uid, size)
        linux["gidMappings"] = _keep_id_maps(launch.host_gid, size)
    if not spec.privileged:
        masked = [p for p in MASKED_PATHS if p not in unmask and "ALL" not in unmask] + mask
        linux["maskedPaths"] = masked
        linux["readonlyPaths"] = [p for p in READONLY_PATHS if p not in unmask and "ALL" not in unmask]
        if profile != "unconfined":
            path = Path(profile) if profile else seccomp.default_profile_path()
            if path is not None:
                linux["seccomp"] = seccomp.load_profile(path, frozenset(caps))
    if spec.memory or spec.cpus or spec.pids_limit:
        warn(
            "resource limits (--memory, --cpus, --pids-limit) are ignored: rootless cgroup "
            "limits need cgroup v2 with a delegated user slice, and this host has hybrid cgroups"
        )

    # sysfs may only be mounted by the user namespace owning the network namespace: a keep-id
    # container (its own user namespace) joining a prepared netns gets the host's /sys instead.
    joined = any("path" in ns for ns in namespaces if ns["type"] == "network")
    own_netns = not host_net and not (keep_id and joined)
    mounts = standard_mounts(spec, own_netns)
    if spec.privileged:
        linux.pop("maskedPaths", None)
    userdata = launch.paths.userdata
    etc = [
        ("/etc/hostname", userdata / "hostname"),
        ("/etc/hosts", userdata / "hosts"),
        ("/etc/resolv.conf", userdata / "resolv.conf"),
        ("/run/.containerenv", userdata / ".containerenv"),
    ]
    user_dests = {m.destination for m in launch.mounts}
    etc = [(d, Path(launch.etc_sources.get(d, str(src)))) for d, src in etc]
    for dest, src in etc:
        if dest not in user_dests:
            mounts.append({"destination": dest, "type": "bind", "source": str(src),
                           "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]})  # fmt: skip
    if spec.read_only and spec.read_only_tmpfs:
        for dest in ("/tmp", "/var/tmp", "/run"):
            if dest not in user_dests:
                mounts.append({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                               "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})  # fmt: skip
    for m in sorted(launch.mounts, key=lambda m: m.destination.count("/")):
        if m.type == "tmpfs":
            opts = list(m.options) or ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
            mounts.append({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
        else:
            mounts.append({"destination": m.destination, "type": "bind", "source": m.source,
                           "options": ["rbind", *m.options]})  # fmt: skip

    if launch.notify_dir is not None:
        mounts.append({"destination": "/run/notify", "type": "bind", "source": str(launch.notify_dir),
                       "options": ["bind", "rw", "nosuid", "nodev", "noexec"]})  # fmt: skip
        process["env"].append("NOTIFY_SOCKET=/run/notify/notify.sock")
    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": str(rootfs), "readonly": spec.read_only},
        "hostname": hostname,
        "mounts": mounts,
        "annotations": dict(spec.annotations),
        "linux": linux,
    }
    return config


def write_etc_files(launch: Launch) -> None:
    spec = launch.spec
    hostname = spec.hostname or launch.cid[:12]
    host_net = spec.network == "host" and "network" not in launch.ns_paths
    ud = launch.paths.userdata
    etcfiles.write_hostname(ud / "hostname", hostname)
    if "/etc/hosts" in launch.etc_sources:
        pass
    elif "hosts" in launch.etc_text:
        etcfiles.write_in_place(ud / "hosts", launch.etc_text["hosts"])
    else:
        etcfiles.write_hosts(ud / "hosts", hostname, launch.name, host_net)
    if "/etc/resolv.conf" in launch.etc_sources:
        pass
    elif "resolv.conf" in launch.etc_text:
        etcfiles.write_in_place(ud / "resolv.conf", launch.etc_text["resolv.conf"])
    else:
        etcfiles.write_resolv_conf(ud / "resolv.conf", host_net or spec.network.startswith("container:"))
    etcfiles.write_containerenv(ud / ".containerenv", launch.cid, launch.name, launch.image_name, launch.image_id)


def write(launch: Launch, finish: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Write the bundle's config.json (and the /etc files it mounts); return the config.
    FINISH (the runtime driver's) may amend the config before it is written."""
    write_etc_files(launch)
    config = build(launch)
    if finish is not None:
        finish(config)
    bundle = launch.paths.bundle
    bundle.mkdir(parents=True, exist_ok=True, mode=0o700)
    if launch.notify_dir is not None:
        launch.notify_dir.mkdir(exist_ok=True)
    tmp = bundle / f".config.json.{os.getpid()}"
    tmp.write_text(json.dumps(config))
    os.replace(tmp, launch.paths.config_json)
    return config
