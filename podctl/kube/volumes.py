"""Pod `volumes`: hostPath, emptyDir, persistentVolumeClaim, configMap, secret, downwardAPI."""

from __future__ import annotations

import posixpath

from podctl.kube.context import PodInfo, Scope
from podctl.kube.downward import field_choices, field_value, parse_divisor, resource_value
from podctl.kube.fields import Obj
from podctl.kube.model import (
    ConfigData,
    HostPathType,
    KeyToPath,
    KubeVolume,
    VolumeFile,
    VolumeKind,
)
from podctl.kube.quantity import parse_quantity

SOURCES = {k.value for k in VolumeKind}


def _mode(o: Obj, key: str) -> int | None:
    mode = o.integer(key, minimum=0)
    if mode is not None and mode > 0o777:
        o.error(key, f"must be between 0 and 0777 (511), got {mode}")
        return None
    return mode


def _rel_path(o: Obj, key: str) -> str | None:
    path = o.string(key, required=True)
    if path is None:
        return None
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or not path:
        o.error(key, f"must be a relative path without '..', got {path!r}")
        return None
    return posixpath.normpath(path)


def _items(o: Obj, key_field: str) -> tuple[KeyToPath, ...]:
    out: list[KeyToPath] = []
    for item in o.objs("items"):
        key = item.string(key_field, required=True)
        path = _rel_path(item, "path")
        mode = _mode(item, "mode")
        item.finish()
        if key is not None and path is not None:
            out.append(KeyToPath(key, path, mode))
    return tuple(out)


def _data_files(
    o: Obj, what: str, ref: str, source: ConfigData | None, items: tuple[KeyToPath, ...],
    default_mode: int, optional: bool,
) -> tuple[VolumeFile, ...]:  # fmt: skip
    if source is None:
        if not optional:
            o.error(None, f"{what} {ref!r} not found (define it in the file or pass "
                    f"--configmap FILE), or set optional: true")  # fmt: skip
        return ()
    if not items:
        return tuple(VolumeFile(k, v, default_mode) for k, v in source.data)
    files: list[VolumeFile] = []
    for i, item in enumerate(items):
        content = source.get(item.key)
        if content is None:
            if not optional:
                o.error("items", f"key {item.key!r} not found in {what} {ref!r}", i, "key")
            continue
        files.append(VolumeFile(item.path, content, item.mode if item.mode is not None
                                else default_mode))  # fmt: skip
    return tuple(files)


def _host_path(o: Obj, name: str, vname: str) -> KubeVolume | None:
    path = o.string("path", required=True)
    raw_type = o.string("type") or ""
    o.finish()
    try:
        htype = HostPathType(raw_type)
    except ValueError:
        o.error("type", f"unknown hostPath type {raw_type!r}; expected one of "
                + ", ".join(t.value for t in HostPathType if t.value))  # fmt: skip
        return None
    if path is None:
        return None
    if not path.startswith("/"):
        o.error("path", f"must be an absolute path, got {path!r}")
        return None
    return KubeVolume(kind=VolumeKind.HOST_PATH, host_path=posixpath.normpath(path),
                      host_path_type=htype, name=name, volume_name=vname)  # fmt: skip


def _empty_dir(o: Obj, name: str, vname: str) -> KubeVolume:
    medium = o.string("medium") or ""
    size = o.int_or_str("sizeLimit")
    o.finish()
    if size is not None:
        try:
            parse_quantity(size)
        except ValueError:
            o.error("sizeLimit", f"expected a quantity (like 64Mi), got {size!r}")
            size = None
    if medium not in ("", "Memory"):
        o.warn("medium", f"medium {medium!r} is not supported; a plain volume is used")
        medium = ""
    return KubeVolume(kind=VolumeKind.EMPTY_DIR, medium=medium,
                      size_limit="" if size is None else str(size), name=name, volume_name=vname)  # fmt: skip


def _config_source(scope: Scope, o: Obj, kind: VolumeKind, name: str, vname: str,
                   projected_mode: int | None = None) -> KubeVolume:  # fmt: skip
    # Inside a projected volume a secret is named by `name` and the mode is the volume's.
    ref_key = "secretName" if kind == VolumeKind.SECRET and projected_mode is None else "name"
    ref = o.string(ref_key, required=True)
    if kind == VolumeKind.CONFIG_MAP:
        what, source_map = "ConfigMap", scope.configmaps
    else:
        what, source_map = "Secret", scope.secrets
    items = _items(o, "key")
    default_mode = _mode(o, "defaultMode") if projected_mode is None else projected_mode
    optional = bool(o.boolean("optional"))
    o.finish()
    mode = 0o644 if default_mode is None else default_mode
    files = () if ref is None else _data_files(o, what, ref, source_map.get(ref), items, mode,
                                               optional)  # fmt: skip
    return KubeVolume(kind=kind, ref=ref or "", items=items, optional=optional, default_mode=mode,
                      read_only=True, files=files, name=name, volume_name=vname)  # fmt: skip


def _downward(scope: Scope, pod: PodInfo, o: Obj, name: str, vname: str,
              projected_mode: int | None = None) -> KubeVolume:  # fmt: skip
    default_mode = _mode(o, "defaultMode") if projected_mode is None else projected_mode
    mode = 0o644 if default_mode is None else default_mode
    files: list[VolumeFile] = []
    items: list[KeyToPath] = []
    for item in o.objs("items"):
        path = _rel_path(item, "path")
        fmode = _mode(item, "mode")
        fref, rref = item.obj("fieldRef"), item.obj("resourceFieldRef")
        item.finish()
        if (fref is None) == (rref is None):
            item.error(None, "exactly one of fieldRef and resourceFieldRef is required")
            continue
        value: str | None = None
        key = container = divisor_text = ""
        if fref is not None:
            key = fref.string("fieldPath", required=True) or ""
            fref.ignore("apiVersion")
            fref.finish()
            value = field_value(pod, key, volume=True)
            if value is None and key:
                fref.error("fieldPath", f"unsupported field {key!r}; expected one of "
                           + field_choices(True))  # fmt: skip
        elif rref is not None:
            container = rref.string("containerName", required=True) or ""
            key = rref.string("resource", required=True) or ""
            raw_divisor = rref.raw("divisor")
            divisor_text = "" if raw_divisor is None else str(raw_divisor)
            divisor = parse_divisor(raw_divisor)
            rref.finish()
            if divisor is None:
                rref.error("divisor", "expected a positive quantity")
            elif container and container not in pod.resources:
                rref.error("containerName", f"no container named {container!r} in this pod")
            elif key:
                value = resource_value(scope, pod, container, key, divisor)
                if value is None:
                    rref.error("resource", f"unsupported resource {key!r}")
        if value is not None and path is not None:
            files.append(VolumeFile(path, value.encode(), mode if fmode is None else fmode))
            items.append(KeyToPath(key, path, fmode, container, divisor_text))
    o.finish()
    return KubeVolume(kind=VolumeKind.DOWNWARD_API, items=tuple(items), default_mode=mode,
                      read_only=True, files=tuple(files), name=name, volume_name=vname)  # fmt: skip


def _projected(scope: Scope, pod: PodInfo, o: Obj, name: str, vname: str) -> KubeVolume:
    default_mode = _mode(o, "defaultMode")
    mode = 0o644 if default_mode is None else default_mode
    sources: list[KubeVolume] = []
    for src in o.objs("sources"):
        present = [k for k in src.data if src.data[k] is not None]
        if len(present) != 1:
            src.ignore(*src.data)
            src.error(None, "exactly one projection source is required, found "
                      + (", ".join(present) or "none"))  # fmt: skip
            continue
        kind_name = present[0]
        sub = src.obj(kind_name)
        if kind_name not in ("configMap", "secret", "downwardAPI"):
            src.unsupported(kind_name, f"projected {kind_name} sources are not supported; "
                            "skipped")  # fmt: skip
            continue
        src.finish()
        if sub is None:
            continue
        kind = VolumeKind(kind_name)
        if kind == VolumeKind.DOWNWARD_API:
            sources.append(_downward(scope, pod, sub, name, vname, mode))
        else:
            sources.append(_config_source(scope, sub, kind, name, vname, mode))
    o.finish()
    files = {f.path: f for s in sources for f in s.files}  # later sources win, as in Kubernetes
    return KubeVolume(kind=VolumeKind.PROJECTED, default_mode=mode, read_only=True,
                      files=tuple(files.values()), sources=tuple(sources), name=name,
                      volume_name=vname)  # fmt: skip


def translate_volumes(scope: Scope, pod: PodInfo, spec: Obj) -> None:
    """Fill pod.volumes (and pod.unsupported_volumes) from the pod spec's `volumes`."""
    seen: set[str] = set()
    for v in spec.objs("volumes"):
        name = v.string("name", required=True)
        if name is None:
            continue
        if name in seen:
            v.error("name", f"duplicate volume name {name!r}")
            continue
        seen.add(name)
        if v.data.get("emptyDir", 0) is None:
            v.data = {**v.data, "emptyDir": {}}  # `emptyDir:` with no value means {}
        present = [k for k in v.data if k != "name" and v.data[k] is not None]
        known = [k for k in present if k in SOURCES]
        if len(present) != 1:
            v.error(None, "exactly one volume source is required, found "
                    + (", ".join(present) or "none"))  # fmt: skip
            continue
        source = present[0]
        if not known:
            v.used.add(source)
            v.warn(source, f"volume type {source!r} is not supported; mounting it is an error")
            pod.unsupported_volumes[name] = source
            continue
        vname = f"{pod.name}-{name}"
        o = v.obj(source)
        v.finish()
        if o is None:
            continue
        kind = VolumeKind(source)
        vol: KubeVolume | None
        if kind == VolumeKind.HOST_PATH:
            vol = _host_path(o, name, "")
        elif kind == VolumeKind.EMPTY_DIR:
            vol = _empty_dir(o, name, vname)
        elif kind == VolumeKind.PVC:
            claim = o.string("claimName", required=True)
            ro = bool(o.boolean("readOnly"))
            o.finish()
            vol = None if claim is None else KubeVolume(
                name=name, kind=kind, volume_name=claim, read_only=ro)  # fmt: skip
        elif kind in (VolumeKind.CONFIG_MAP, VolumeKind.SECRET):
            vol = _config_source(scope, o, kind, name, vname)
        elif kind == VolumeKind.DOWNWARD_API:
            vol = _downward(scope, pod, o, name, vname)
        else:
            vol = _projected(scope, pod, o, name, vname)
        if vol is not None:
            pod.volumes[name] = vol
