"""The single intermediate form: what CLI flags, kube YAML and Quadlet files all become.

Only the runtime layer turns a ContainerSpec into an OCI config.json. Specs are plain frozen
data: they hold the user's intent (image reference, flags) and are stored as JSON with each
container, so `inspect` and restarts see exactly what was asked for.
"""

from __future__ import annotations

from enum import StrEnum

from podctl import records
from podctl.errors import InvalidSpec

# podctl.records: dataclasses without the import and class-creation cost (mypy sees the real
# ones). Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field


class MountType(StrEnum):
    BIND = "bind"
    VOLUME = "volume"
    TMPFS = "tmpfs"


class RestartPolicy(StrEnum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"


class SdNotify(StrEnum):
    CONTAINER = "container"
    CONMON = "conmon"
    HEALTHY = "healthy"
    IGNORE = "ignore"


class HealthOnFailure(StrEnum):
    NONE = "none"
    KILL = "kill"
    RESTART = "restart"
    STOP = "stop"


@dataclass(frozen=True)
class Healthcheck:
    """podman's healthcheck: TEST is ["CMD-SHELL", CMD] or ["CMD", ARG...]; () = the image's test.

    Durations are seconds; an interval of 0 means "never run on a timer" (podman's "disable").
    """

    test: tuple[str, ...] = ()
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    on_failure: HealthOnFailure = HealthOnFailure.NONE

    def __post_init__(self) -> None:
        if self.test and self.test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise InvalidSpec(f"healthcheck test {list(self.test)}: must start with CMD or CMD-SHELL")
        if self.test and self.test[0] != "NONE" and len(self.test) < 2:
            raise InvalidSpec("--health-cmd: the healthcheck command must not be empty")
        if self.retries < 1:
            raise InvalidSpec("--health-retries must be 1 or greater")
        if self.timeout < 1:
            raise InvalidSpec("--health-timeout must be at least 1 second")
        if self.interval and self.interval < 1:
            raise InvalidSpec("--health-interval must be at least 1 second")
        if self.start_period < 0:
            raise InvalidSpec("--health-start-period must be 0 seconds or greater")
        try:
            HealthOnFailure(self.on_failure)
        except ValueError as e:
            raise InvalidSpec(
                f"--health-on-failure={self.on_failure}: must be none, kill, restart or stop"
            ) from e

    @property
    def argv(self) -> tuple[str, ...]:
        """What to exec in the container."""
        if not self.test or self.test[0] == "NONE":
            return ()
        if self.test[0] == "CMD-SHELL":
            return ("/bin/sh", "-c", " ".join(self.test[1:]))
        return self.test[1:]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Healthcheck:
        return cls(**{**d, "test": tuple(d.get("test") or ()),
                      "on_failure": HealthOnFailure(d.get("on_failure") or "none")})  # fmt: skip


_DURATION = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_UNIT_SECS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str, flag: str) -> float:
    """A Go duration ("30s", "1m30s", "500ms"; "0" or "disable" is 0) in seconds."""
    v = value.strip()
    if v in ("0", "disable"):
        return 0.0
    pos, total = 0, 0.0
    import re

    for m in re.finditer(_DURATION, v):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECS[m.group(2)]
        pos = m.end()
    if not v or pos != len(v):
        raise InvalidSpec(f"{flag} {value!r}: invalid duration (use e.g. 30s, 1m30s, 500ms)")
    return total


@dataclass(frozen=True)
class Mount:
    """A bind mount, a named (or anonymous) volume, or a tmpfs at DESTINATION."""

    type: MountType
    destination: str
    source: str = ""  # host path (bind), volume name ("" = anonymous volume), unused for tmpfs
    read_only: bool = False
    chown: bool = False  # the `U` option: chown the source to the container's user
    options: tuple[str, ...] = ()  # remaining mount options (nosuid, size=64m, z ...)
    subpath: str = ""  # mount only this relative path of the source (also `subpath=X` in options)

    def __post_init__(self) -> None:
        if not self.destination.startswith("/"):
            raise InvalidSpec(f"mount destination {self.destination!r} must be an absolute path")

    @property
    def effective_subpath(self) -> str:
        """The subpath to mount: the field, or a `subpath=X` option (what kube passes)."""
        if self.subpath:
            return self.subpath
        return next((o[len("subpath="):] for o in self.options if o.startswith("subpath=")), "")


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int = 0  # 0: pick a free port
    protocol: str = "tcp"
    host_ip: str = ""
    range: int = 1


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str | None = None
    command: tuple[str, ...] | None = None  # None: the image's Cmd
    entrypoint: tuple[str, ...] | None = None  # None: the image's Entrypoint; () clears it
    env: tuple[tuple[str, str], ...] = ()  # KEY, VALUE in order; later wins
    env_host: bool = False
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    ports: tuple[PortMapping, ...] = ()
    network: str = "slirp4netns"  # slirp4netns[:opts] | pasta | private | none | host | container:X | ns:P
    dns_servers: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    add_hosts: tuple[str, ...] = ()  # "name:ip"
    publish_all: bool = False  # -P: the image's EXPOSEd ports (expanded into ports at create)
    restart_policy: RestartPolicy = RestartPolicy.NO
    restart_retries: int = 0
    remove: bool = False
    tty: bool = False
    interactive: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    read_only_tmpfs: bool = True
    userns: str | None = None  # None (the user's namespace) | "keep-id" | "host"
    security_opt: tuple[str, ...] = ()
    ulimits: tuple[str, ...] = ()  # "nofile=1024:2048"
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids_limit: int | None = None
    stop_signal: str | None = None
    stop_timeout: int = 10
    sdnotify: SdNotify = SdNotify.CONTAINER
    healthcheck: Healthcheck | None = None
    no_healthcheck: bool = False  # --no-healthcheck / --health-cmd=none: also the image's
    pod: str | None = None
    log_driver: str = "k8s-file"
    pull: str = "missing"
    create_command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.image:
            raise InvalidSpec("an image is required")
        if self.name is not None:
            check_name(self.name, "container")
        if self.workdir is not None and not self.workdir.startswith("/"):
            raise InvalidSpec(f"--workdir {self.workdir!r} must be an absolute path")
        if self.restart_retries and self.restart_policy != RestartPolicy.ON_FAILURE:
            raise InvalidSpec("restart retries are only allowed with --restart=on-failure")
        if self.remove and self.restart_policy not in (RestartPolicy.NO, ""):
            raise InvalidSpec("the --rm option conflicts with --restart")
        if self.userns not in (None, "", "keep-id", "host"):
            raise InvalidSpec(f"--userns={self.userns}: only keep-id and host are supported")
        if self.stop_timeout < 0:
            raise InvalidSpec("--stop-timeout must not be negative")
        if self.sdnotify == SdNotify.HEALTHY and (self.no_healthcheck or (
                self.healthcheck is not None and self.healthcheck.test[:1] == ("NONE",))):
            raise InvalidSpec("--sdnotify=healthy requires a healthcheck")
        seen: set[str] = set()
        for m in self.mounts:
            if m.destination in seen:
                raise InvalidSpec(f"{m.destination}: duplicate mount destination")
            seen.add(m.destination)

    def to_dict(self) -> dict[str, Any]:
        return records.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContainerSpec:
        d = dict(data)
        d["mounts"] = mounts_from_dicts(d.get("mounts", ()))
        d["ports"] = tuple(PortMapping(**p) for p in d.get("ports", ()))
        for key in ("env", "labels", "annotations"):
            d[key] = tuple((str(k), str(v)) for k, v in d.get(key, ()))
        for key in ("cap_add", "cap_drop", "security_opt", "ulimits", "create_command",
                    "dns_servers", "dns_search", "dns_options", "add_hosts"):
            d[key] = tuple(d.get(key, ()))
        for key in ("command", "entrypoint"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        d["restart_policy"] = RestartPolicy(d.get("restart_policy", "no"))
        d["sdnotify"] = SdNotify(d.get("sdnotify", "container"))
        if d.get("healthcheck") is not None:
            d["healthcheck"] = Healthcheck.from_dict(d["healthcheck"])
        known = set(records.field_names(cls))
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes: Any) -> ContainerSpec:
        return records.replace(self, **changes)  # type: ignore[no-any-return]

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


class ExitPolicy(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"


POD_SHARES = ("cgroup", "ipc", "net", "pid", "uts")


@dataclass(frozen=True)
class PodSpec:
    """A pod: shared namespaces held by an infra container, and its member containers.

    kube play, Quadlet .pod files and `pod create` produce this. `containers` is only used by
    translators (kube): `pod create` makes an empty pod and members join it with `--pod`.
    """

    name: str
    hostname: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortMapping, ...] = ()
    network: str = "slirp4netns"
    share: tuple[str, ...] = ("ipc", "net", "uts")
    infra: bool = True
    infra_image: str | None = None
    infra_name: str | None = None
    restart_policy: RestartPolicy = RestartPolicy.NO
    exit_policy: ExitPolicy = ExitPolicy.CONTINUE
    add_hosts: tuple[str, ...] = ()  # "name:ip"
    dns_servers: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    volumes: tuple[Mount, ...] = ()  # mounted into every member
    containers: tuple[ContainerSpec, ...] = field(default=())
    create_command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "pod")
        for s in self.share:
            if s not in POD_SHARES:
                raise InvalidSpec(f"--share {s}: invalid namespace (one of {', '.join(POD_SHARES)})")
        if not self.infra and self.ports:
            raise InvalidSpec("you must have an infra container to publish port bindings to the host")
        try:
            ExitPolicy(self.exit_policy)
        except ValueError as e:
            raise InvalidSpec(f"--exit-policy {self.exit_policy}: must be continue or stop") from e

    def to_dict(self) -> dict[str, Any]:
        return records.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PodSpec:
        d = dict(data)
        d["ports"] = tuple(PortMapping(**p) for p in d.get("ports", ()))
        d["volumes"] = mounts_from_dicts(d.get("volumes", ()))
        d["containers"] = tuple(ContainerSpec.from_dict(c) for c in d.get("containers", ()))
        for key in ("labels", "annotations"):
            d[key] = tuple((str(k), str(v)) for k, v in d.get(key, ()))
        for key in ("share", "add_hosts", "dns_servers", "dns_search", "dns_options", "create_command"):
            d[key] = tuple(d.get(key, ()))
        d["restart_policy"] = RestartPolicy(d.get("restart_policy", "no"))
        d["exit_policy"] = ExitPolicy(d.get("exit_policy", "continue"))
        known = set(records.field_names(cls))
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes: Any) -> PodSpec:
        return records.replace(self, **changes)  # type: ignore[no-any-return]

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


def mounts_from_dicts(items: Any) -> tuple[Mount, ...]:
    return tuple(
        Mount(**{**m, "type": MountType(m["type"]), "options": tuple(m.get("options", ()))})
        for m in items
    )


_NAME_RE: re.Pattern[str] | None = None


def check_name(name: str, what: str) -> str:
    global _NAME_RE
    if _NAME_RE is None:  # compiled on first use: most commands never check a name
        import re

        _NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    if not _NAME_RE.match(name):
        raise InvalidSpec(
            f"{what} name {name!r} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        )
    return name


def parse_restart(value: str) -> tuple[RestartPolicy, int]:
    """`--restart` values: no, always, on-failure[:N], unless-stopped."""
    name, _, count = value.partition(":")
    try:
        policy = RestartPolicy(name or "no")
    except ValueError as e:
        raise InvalidSpec(
            f"--restart={value}: must be one of no, always, on-failure[:N], unless-stopped"
        ) from e
    if count:
        if policy != RestartPolicy.ON_FAILURE or not count.isdigit():
            raise InvalidSpec(f"--restart={value}: a retry count is only allowed with on-failure")
        return policy, int(count)
    return policy, 0


# -- mount syntax shared by `-v`/`--mount`/`--tmpfs` and Quadlet's Volume=/Mount=/Tmpfs= ---------

_BIND_OPTS = {"nosuid", "suid", "nodev", "dev", "noexec", "exec", "rbind", "bind", "private",
              "rprivate", "shared", "rshared", "slave", "rslave", "z", "Z", "copy", "nocopy"}  # fmt: skip


def _split_opts(opts: str, what: str) -> tuple[bool, bool, tuple[str, ...]]:
    ro, chown, rest = False, False, []
    for o in (x.strip() for x in opts.split(",") if x.strip()):
        if o in ("ro", "readonly"):
            ro = True
        elif o == "rw":
            ro = False
        elif o == "U":
            chown = True
        elif o in _BIND_OPTS:
            rest.append(o)
        else:
            raise InvalidSpec(f"{what}: invalid option {o!r}")
    return ro, chown, tuple(rest)


def parse_volume(value: str) -> Mount:
    """`-v [SRC:]DST[:OPTS]`: SRC absolute is a bind mount, a name a named volume."""
    what = f"--volume {value}"
    parts = value.split(":")
    if len(parts) > 3 or not value:
        raise InvalidSpec(f"{what}: expected [SRC:]DST[:OPTS]")
    if len(parts) == 1:
        return Mount(MountType.VOLUME, _abs_dest(parts[0], what))
    if len(parts) == 2 and not parts[1].startswith("/"):
        src, dst, opts = "", parts[0], parts[1]  # DST:OPTS on an anonymous volume
        if not dst.startswith("/"):
            src, dst, opts = parts[0], parts[1], ""
    else:
        src, dst, opts = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    ro, chown, rest = _split_opts(opts, what)
    dst = _abs_dest(dst, what)
    if not src:
        return Mount(MountType.VOLUME, dst, "", ro, chown, rest)
    if src.startswith("/"):
        return Mount(MountType.BIND, dst, _clean(src), ro, chown, rest)
    if src.startswith(".") or "/" in src or src.startswith("~"):
        raise InvalidSpec(f"{what}: relative host paths are not allowed: use an absolute path")
    check_name(src, "volume")
    return Mount(MountType.VOLUME, dst, src, ro, chown, rest)


def parse_mount(value: str) -> Mount:
    """`--mount type=bind|volume|tmpfs,source=...,destination=...[,ro][,U]...`."""
    what = f"--mount {value}"
    kv: dict[str, str] = {}
    flags: list[str] = []
    for item in value.split(","):
        k, sep, v = item.partition("=")
        if sep:
            kv[k.strip().lower()] = v.strip()
        elif item.strip():
            flags.append(item.strip())
    typ = kv.pop("type", "")
    try:
        mtype = MountType(typ)
    except ValueError as e:
        raise InvalidSpec(f"{what}: type must be bind, volume or tmpfs") from e
    src = kv.pop("source", kv.pop("src", ""))
    dst = kv.pop("destination", kv.pop("dst", kv.pop("target", "")))
    if not dst:
        raise InvalidSpec(f"{what}: a destination (dst=, target=) is required")
    ro_val = kv.pop("readonly", kv.pop("ro", None))
    ro = ("ro" in flags or "readonly" in flags) or ro_val in ("true", "1")
    chown = "U" in flags or kv.pop("u", kv.pop("chown", "false")) == "true"
    opts: list[str] = []
    if mtype == MountType.TMPFS:
        if "tmpfs-size" in kv:
            opts.append(f"size={kv.pop('tmpfs-size')}")
        if "tmpfs-mode" in kv:
            opts.append(f"mode={kv.pop('tmpfs-mode')}")
    for k in ("bind-propagation",):
        if k in kv:
            opts.append(kv.pop(k))
    kv.pop("relabel", None)
    subpath = kv.pop("subpath", kv.pop("volume-subpath", ""))
    if subpath and (subpath.startswith("/") or ".." in subpath.split("/")):
        raise InvalidSpec(f"{what}: subpath must be relative and stay inside the source")
    if kv:
        raise InvalidSpec(f"{what}: unknown option(s) {', '.join(sorted(kv))}")
    for f in flags:
        if f not in ("ro", "readonly", "rw", "U", "z", "Z", *_BIND_OPTS):
            raise InvalidSpec(f"{what}: invalid option {f!r}")
        if f in _BIND_OPTS:
            opts.append(f)
    dst = _abs_dest(dst, what)
    if mtype == MountType.BIND:
        if not src.startswith("/"):
            raise InvalidSpec(f"{what}: bind source must be an absolute host path")
        src = _clean(src)
    elif mtype == MountType.VOLUME and src:
        check_name(src, "volume")
    return Mount(mtype, dst, src if mtype != MountType.TMPFS else "", ro, chown, tuple(opts), subpath)


def parse_tmpfs(value: str) -> Mount:
    dst, _, opts = value.partition(":")
    what = f"--tmpfs {value}"
    extra = tuple(o for o in opts.split(",") if o and o not in ("ro", "rw"))
    return Mount(MountType.TMPFS, _abs_dest(dst, what), "", "ro" in opts.split(","), False, extra)


def _abs_dest(dst: str, what: str) -> str:
    if not dst.startswith("/"):
        raise InvalidSpec(f"{what}: the container path {dst!r} must be absolute")
    return _clean(dst)


def _clean(path: str) -> str:
    import posixpath

    return posixpath.normpath(path) if path != "/" else "/"
