"""Quadlet files to systemd services (after podman's `pkg/systemd/quadlet/quadlet.go`).

Pure: reads parsed sources, returns unit text; never spawns anything. The generated
commands run `podctl` with podman's arguments, so podman users' Quadlet files work unchanged.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field

from podctl.quadlet import keys as K
from podctl.quadlet.model import QuadletError, Service, Source

AUTOUPDATE_LABEL = "io.containers.autoupdate"
PORT_RANGE = re.compile(r"\d+(-\d+)?(/udp|/tcp)?$")


@dataclass
class UnitInfo:
    service_name: str
    resource_name: str = ""
    containers_to_start: list[str] = field(default_factory=list)

    @property
    def service_file(self) -> str:
        return f"{self.service_name}.service"


Infos = dict[str, UnitInfo]


class Cmd:
    """A podctl command line being built."""

    def __init__(self, binary: str, src: Source, group: str) -> None:
        self.args: list[str] = [binary]
        for mod in src.all(group, "ContainersConfModule"):
            self.args.append(f"--module={mod}")
        self.args.extend(src.args(group, "GlobalArgs"))

    def add(self, *args: str) -> None:
        self.args.extend(args)

    def add_bool(self, flag: str, value: bool) -> None:
        self.args.append(flag if value else f"{flag}=false")

    def add_keys(self, flag: str, kv: dict[str, str | None] | dict[str, str]) -> None:
        for k in sorted(kv):
            v = kv[k]
            self.args.extend([flag, k if v is None else f"{k}={v}"])


# -- names -------------------------------------------------------------------------------


def _split_name(filename: str) -> tuple[str, str, str, bool]:
    """`foo@bar.container` -> ("foo", "bar", ".container", True)."""
    stem, ext = os.path.splitext(filename)
    base, at, instance = stem.partition("@")
    return base, instance, ext, bool(at)


def service_name(src: Source) -> str:
    ext = os.path.splitext(src.filename)[1]
    group, _, suffix = K.GROUPS[ext]
    explicit = src.lookup(group, "ServiceName")
    if explicit:
        return explicit
    base, instance, _, templ = _split_name(src.filename)
    if templ:
        return f"{base}{suffix}@{instance}"
    return base + suffix


def default_resource_name(src: Source) -> str:
    base, instance, _, templ = _split_name(src.filename)
    if templ:
        return f"systemd-{base}-{instance or '%i'}"
    return f"systemd-{base}"


def container_name(src: Source) -> str:
    name = src.value("Container", "ContainerName")
    if name:
        return name
    return "systemd-%p_%i" if "@" in src.filename else "systemd-%N"


def container_resource_name(src: Source, svc: str) -> str:
    name = container_name(src).replace("%N", svc)
    return "" if "%" in name else name


def pod_resource_name(src: Source) -> str:
    return src.value("Pod", "PodName") or default_resource_name(src)


def units_info(sources: list[Source]) -> Infos:
    infos: Infos = {}
    for src in sources:
        info = UnitInfo(service_name(src))
        if src.filename.endswith(".container"):
            info.resource_name = container_resource_name(src, info.service_name)
        elif src.filename.endswith(".pod"):
            info.resource_name = pod_resource_name(src)
        infos[src.filename] = info
    return infos


# -- shared pieces -------------------------------------------------------------------------


def abs_path(src: Source, path: str) -> str:
    if (path.startswith("%") and not path.startswith("%%")) or os.path.isabs(path):
        return path
    base = os.path.dirname(str(src.path)) if src.path else os.getcwd()
    return os.path.normpath(os.path.join(base, path))


def init_service(src: Source, infos: Infos, group: str, user: bool) -> tuple[Service, UnitInfo]:
    info = infos.get(src.filename)
    if info is None:
        raise QuadletError(f"internal error while processing {src.filename}")
    ext = os.path.splitext(src.filename)[1]
    supported = K.GROUPS[ext][1]
    for key in src.unit.keys(group):
        if key not in supported:
            raise QuadletError(f"unsupported key '{key}' in group '{group}' in {src.path}")
    for key in src.unit.keys("Quadlet"):
        if key not in K.QUADLET:
            raise QuadletError(f"unsupported key '{key}' in group 'Quadlet' in {src.path}")
    for key in K.UNSUPPORTED_SERVICE_KEYS:
        if src.has("Service", key):
            src.warnings.append(
                f"Warning: using key {key} in the Service group is not supported - "
                "use at your own risk"
            )
    svc = Service(src, info.service_file)
    _translate_dependencies(svc, infos)
    if src.bool_default("Quadlet", "DefaultDependencies", True):
        target = "podman-user-wait-network-online.service" if user else "network-online.target"
        svc.prepend_unit_line("After", target)
        svc.prepend_unit_line("Wants", target)
    if src.path is not None:
        svc.add("Unit", "SourcePath", str(src.path))
    svc.add("Unit", "RequiresMountsFor", "%t/containers")
    svc.rename_group(group, f"X-{group}")
    svc.rename_group("Quadlet", "X-Quadlet")
    return svc, info


def _translate_dependencies(svc: Service, infos: Infos) -> None:
    for key in K.UNIT_DEPENDENCY_KEYS:
        deps = svc.strv("Unit", key)
        if not deps:
            continue
        out: list[str] = []
        changed = False
        for dep in deps:
            if os.path.splitext(dep)[1] in K.GROUPS:
                info = infos.get(dep)
                if info is None:
                    raise QuadletError(f"unable to translate dependency for {dep}")
                out.append(info.service_file)
                changed = True
            else:
                out.append(dep)
        if changed:
            svc.unset("Unit", key)
            svc.add("Unit", key, " ".join(out))


def _depend(svc: Service, info: UnitInfo, kind: str = "Requires") -> None:
    svc.add("Unit", kind, info.service_file)
    svc.add("Unit", "After", info.service_file)


def image_source(name: str, svc: Service, infos: Infos) -> str:
    if name.endswith((".image", ".build")):
        info = infos.get(name)
        if info is None:
            raise QuadletError(f"requested Quadlet image {name} was not found")
        _depend(svc, info)
        return info.resource_name
    return name


def _storage_source(src: Source, svc: Service, source: str, infos: Infos, images: bool) -> str:
    if source.startswith("."):
        source = abs_path(src, source)
    if source.startswith("/"):
        svc.add("Unit", "RequiresMountsFor", _path_value(source))
    elif source.endswith(".volume") or (images and source.endswith(".image")):
        info = infos.get(source)
        if info is None:
            raise QuadletError(f"requested Quadlet source {source} was not found")
        _depend(svc, info)
        source = info.resource_name
    return source


def _path_value(path: str) -> str:
    """A path in a space-separated list setting: blanks and quotes C-escaped, then quoted."""
    if not any(c.isspace() or c in "\"'\\" for c in path):
        return path
    escaped = "".join(f"\\x{ord(c):02x}" if c.isspace() or c in "\"'\\" else c for c in path)
    return f'"{escaped}"'


def add_networks(src: Source, group: str, svc: Service, infos: Infos, cmd: Cmd) -> None:
    for network in src.all(group, "Network"):
        name, sep, options = network.partition(":")
        is_net, is_ctr = name.endswith(".network"), name.endswith(".container")
        if is_net or is_ctr:
            info = infos.get(name)
            if info is None:
                raise QuadletError(f"requested Quadlet unit {name} was not found")
            if not info.resource_name:
                raise QuadletError(f"cannot get the resource name of {name}")
            _depend(svc, info)
            if sep:
                if is_ctr:
                    raise QuadletError(
                        "extra options are not supported when joining another container's network"
                    )
                network = f"{info.resource_name}:{options}"
            else:
                network = f"container:{info.resource_name}" if is_ctr else info.resource_name
        cmd.add("--network", network)


def add_volumes(src: Source, group: str, svc: Service, infos: Infos, cmd: Cmd) -> None:
    for volume in src.all(group, "Volume"):
        parts = volume.split(":", 2)
        source, dest = (parts[0], parts[1]) if len(parts) >= 2 else ("", parts[0])
        options = ":" + parts[2] if len(parts) >= 3 else ""
        if source:
            source = _storage_source(src, svc, source, infos, False)
        cmd.add("-v", f"{source}:{dest}{options}" if source else dest)


def user_mappings(src: Source, group: str, cmd: Cmd, manual: bool) -> None:
    defined = False
    userns = src.value(group, "UserNS")
    if userns:
        cmd.add("--userns", userns)
        defined = True
    for flag, key in (("--uidmap", "UIDMap"), ("--gidmap", "GIDMap")):
        for m in src.strv(group, key):
            cmd.add(flag, m)
            defined = True
    for flag, key in (("--subuidname", "SubUIDMap"), ("--subgidname", "SubGIDMap")):
        v = src.value(group, key)
        if v:
            cmd.add(flag, v)
            defined = True
    if defined:
        if any(src.has(group, k) for k in ("RemapUid", "RemapGid", "RemapUsers")):
            raise QuadletError("deprecated Remap keys are set along with explicit mapping keys")
        return
    _user_remap(src, group, cmd, manual)


def _user_remap(src: Source, group: str, cmd: Cmd, manual: bool) -> None:
    uids, gids = src.strv(group, "RemapUid"), src.strv(group, "RemapGid")
    mode = src.value(group, "RemapUsers")
    if mode == "":
        if uids:
            raise QuadletError("UidMap set without RemapUsers")
        if gids:
            raise QuadletError("GidMap set without RemapUsers")
    elif mode == "manual":
        if not manual:
            raise QuadletError("RemapUsers=manual is not supported")
        for m in uids:
            cmd.add("--uidmap", m)
        for m in gids:
            cmd.add("--gidmap", m)
    elif mode == "auto":
        opts = [f"uidmapping={m}" for m in uids] + [f"gidmapping={m}" for m in gids]
        size = src.uint32(group, "RemapUidSize")
        if size > 0:
            opts.append(f"size={size}")
        cmd.add("--userns", "auto" + (":" + ",".join(opts) if opts else ""))
    elif mode == "keep-id":
        opts = []
        for what, maps in (("uid", uids), ("gid", gids)):
            if len(maps) > 1:
                raise QuadletError(
                    f"RemapUsers=keep-id supports only a single value for {what.upper()} mapping"
                )
            if maps:
                opts.append(f"{what}={maps[0]}")
        cmd.add("--userns", "keep-id" + (":" + ",".join(opts) if opts else ""))
    else:
        raise QuadletError(f"unsupported RemapUsers option '{mode}'")


def add_strings(src: Source, group: str, table: dict[str, str], cmd: Cmd) -> None:
    for key, flag in table.items():
        v = src.value(group, key)
        if v:
            cmd.add(flag, v)


def add_all_strings(src: Source, group: str, table: dict[str, str], cmd: Cmd) -> None:
    for key, flag in table.items():
        for v in src.all(group, key):
            cmd.add(flag, v)


def add_bools(src: Source, group: str, table: dict[str, str], cmd: Cmd) -> None:
    for key, flag in table.items():
        v = src.boolean(group, key)
        if v is not None:
            cmd.add_bool(flag, v)


def add_keyvals(src: Source, group: str, table: dict[str, str], cmd: Cmd) -> None:
    for key, flag in table.items():
        cmd.add_keys(flag, src.keyvals(group, key))


def log_options(src: Source, group: str, cmd: Cmd) -> None:
    driver = src.lookup(group, "LogDriver")
    if driver is not None:
        cmd.add("--log-driver", driver)
    for opt in src.strv(group, "LogOpt"):
        cmd.add("--log-opt", opt)


def add_publish(src: Source, group: str, cmd: Cmd) -> None:
    for port in src.all(group, "PublishPort"):
        cmd.add("--publish", port)


def add_podman_args(src: Source, group: str, cmd: Cmd) -> None:
    cmd.add(*src.args(group, "PodmanArgs"))


def kill_mode(svc: Service) -> None:
    mode = svc.lookup("Service", "KillMode")
    if mode is None:
        svc.set("Service", "KillMode", "mixed")
    elif mode not in ("mixed", "control-group"):
        raise QuadletError(f"invalid KillMode '{mode}'")


def service_type(svc: Service) -> str:
    typ = svc.lookup("Service", "Type")
    if typ is not None and typ not in ("notify", "oneshot"):
        raise QuadletError(f"invalid service Type '{typ}'")
    return typ or ""


def oneshot(svc: Service, remain: bool) -> None:
    if svc.lookup("Service", "SyslogIdentifier") is None:
        svc.set("Service", "SyslogIdentifier", "%N")
    if svc.lookup("Service", "Type") is None:
        svc.set("Service", "Type", "oneshot")
    if remain and svc.lookup("Service", "RemainAfterExit") is None:
        svc.set("Service", "RemainAfterExit", "yes")


def working_dir(src: Source, svc: Service, group: str) -> None:
    mode = src.value(group, "SetWorkingDirectory")
    if not mode:
        return
    low = mode.lower()
    if low == "yaml":
        if group != "Kube":
            raise QuadletError(f"SetWorkingDirectory={mode} is only supported in .kube files")
        rel = src.lookup(group, "Yaml")
        if rel is None:
            raise QuadletError("no Yaml key specified")
    elif low == "unit":
        rel = str(src.path) if src.path else ""
    else:
        raise QuadletError(f"unsupported value for WorkingDirectory: {mode} ")
    if src.value("Service", "WorkingDirectory"):
        return
    if rel:
        svc.add("Service", "WorkingDirectory", os.path.dirname(abs_path(src, rel)))


# -- mounts ------------------------------------------------------------------------------


def _csv_fields(text: str) -> list[str]:
    try:
        return next(csv.reader([text]))
    except (csv.Error, StopIteration) as e:
        raise QuadletError(f"invalid mount {text!r}: {e}") from e


def _csv_join(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def resolve_mount(src: Source, svc: Service, mount: str, infos: Infos) -> str:
    fields = _csv_fields(mount)
    mtype = ""
    tokens: list[str] = []
    for f in fields:
        k, eq, v = f.partition("=")
        if k == "type" and eq and not mtype:
            mtype = v
        else:
            tokens.append(f)
    if not mtype:
        raise QuadletError(f"type must be specified for mount {mount!r}")
    if mtype not in ("volume", "bind", "glob", "image"):
        return mount
    index = -1
    source = ""
    for i, tok in enumerate(tokens):
        k, eq, v = tok.partition("=")
        if k in ("source", "src"):
            if not eq:
                raise QuadletError("source parameter does not include a value")
            index, source = i, v
    if index < 0:
        if mtype == "volume":
            return _csv_join([f"type={mtype}", *tokens])
        raise QuadletError(f"source parameter is required for mount type {mtype}")
    resolved = _storage_source(src, svc, source, infos, True)
    tokens[index] = f"source={resolved}"
    return _csv_join([f"type={mtype}", *tokens])
