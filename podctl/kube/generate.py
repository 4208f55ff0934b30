"""Pods, containers and volumes -> Kubernetes YAML (`kube generate`). Pure: no I/O.

Inputs, in any mix: `KubePod` (from the translator, or built with `pod_from_specs`), `PodSpec`,
`ContainerSpec`, a container record (an object or dict with a `spec` dict, as stored by
podctl.state.containers, or a `ContainerSpec.to_dict()` dict, or a podman-style inspect dict
with `Name` and `Config`), and volumes (`NamedVolume`, or an object/dict with name, driver,
options, labels). Standalone containers are gathered into one pod named `<first>-pod`, as
podman does. The output is accepted by a Kubernetes 1.3x API server (checked in the tests with
the kubernetes-validate schemas); what cannot be expressed is listed in `# NOTE:` comments.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from podctl.kube.model import (
    ConfigData,
    HostAlias,
    KubeContainer,
    KubePod,
    KubeVolume,
    NamedVolume,
    Probe,
    ProbeAction,
    ProbeKind,
    Role,
    VolumeKind,
    placeholder,
)
from podctl.kube.quantity import format_cpu, format_memory
from podctl.spec import ContainerSpec, Mount, MountType, PodSpec, PortMapping, RestartPolicy

HEADER = ("# Save the output of this file and use kubectl create -f to import it into Kubernetes.\n"
          "#\n# Created with podctl\n")  # fmt: skip
RESTART = {
    RestartPolicy.ALWAYS: "Always",
    RestartPolicy.UNLESS_STOPPED: "Always",
    RestartPolicy.ON_FAILURE: "OnFailure",
    RestartPolicy.NO: "Never",
}
PULL = {"always": "Always", "missing": "IfNotPresent", "never": "Never"}
KINDS = {"pod": ("v1", "Pod"), "deployment": ("apps/v1", "Deployment"),
         "daemonset": ("apps/v1", "DaemonSet"), "job": ("batch/v1", "Job")}  # fmt: skip
_FIELD_PLACEHOLDER = re.compile(r"^\{\{podctl:([a-zA-Z.]+)\}\}$")


def _escape(text: str) -> str:
    """Make the kubelet's $(VAR) expansion give TEXT back: `$` before `$` or `(` is doubled."""
    return re.sub(r"\$(?=[$(])", "$$", text)


def _dns_label(text: str) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:63].strip("-") or "volume"


# -- inputs --------------------------------------------------------------------------------------
def _spec_from_inspect(d: Mapping[str, Any]) -> ContainerSpec:
    cfg = d.get("Config") or {}
    host = d.get("HostConfig") or {}
    env = tuple(tuple(e.split("=", 1)) for e in cfg.get("Env") or () if "=" in e)
    ports: list[PortMapping] = []
    for key, binds in (host.get("PortBindings") or {}).items():
        port, _, proto = key.partition("/")
        for b in binds or ():
            ports.append(PortMapping(int(port), int(b.get("HostPort") or 0), proto or "tcp",
                                     b.get("HostIp", "")))  # fmt: skip
    mounts: list[Mount] = []
    for m in d.get("Mounts") or ():
        mtype = MountType(m.get("Type", "bind"))
        source = m.get("Name", "") if mtype == MountType.VOLUME else m.get("Source", "")
        mounts.append(Mount(mtype, m["Destination"], source, read_only=not m.get("RW", True)))
    name = str(d.get("Name", "")).lstrip("/") or None
    entrypoint = cfg.get("Entrypoint")
    if isinstance(entrypoint, str):  # podman prints it joined by spaces
        entrypoint = entrypoint.split() or None
    return ContainerSpec(
        image=cfg.get("Image") or d.get("ImageName") or d.get("Image", ""), name=name,
        command=tuple(cfg["Cmd"]) if cfg.get("Cmd") is not None else None,
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        env=env, workdir=cfg.get("WorkingDir") or None, user=cfg.get("User") or None,  # type: ignore[arg-type]
        labels=tuple((cfg.get("Labels") or {}).items()), mounts=tuple(mounts),
        ports=tuple(ports), cap_add=tuple(host.get("CapAdd") or ()),
        cap_drop=tuple(host.get("CapDrop") or ()), privileged=bool(host.get("Privileged")),
        read_only=bool(host.get("ReadonlyRootfs")), stop_signal=cfg.get("StopSignal") or None,
    )  # fmt: skip


def as_container_spec(record: Any) -> ContainerSpec:
    if isinstance(record, ContainerSpec):
        return record
    spec = getattr(record, "spec", None)
    if isinstance(spec, dict):
        return ContainerSpec.from_dict(spec)
    if isinstance(record, Mapping):
        if isinstance(record.get("spec"), dict):
            return ContainerSpec.from_dict(record["spec"])
        if "Config" in record:
            return _spec_from_inspect(record)
        return ContainerSpec.from_dict(dict(record))
    raise TypeError(f"cannot generate YAML from {type(record).__name__}")


def pod_from_specs(name: str, specs: Sequence[ContainerSpec], base: PodSpec | None = None) -> KubePod:
    """A KubePod for plain container specs (all app containers); pod-level ports from BASE."""
    ports = tuple(base.ports if base else ()) + tuple(p for s in specs for p in s.ports)
    podspec = dataclasses.replace(base, containers=tuple(specs), ports=ports) if base else \
        PodSpec(name=name, ports=ports, containers=tuple(specs))  # fmt: skip
    containers = tuple(
        KubeContainer(name=_short_name(name, s.name or f"ctr{i}"), role=Role.APP, spec=s)
        for i, s in enumerate(specs)
    )
    return KubePod(spec=podspec, kind="Pod", source_name=name, containers=containers)


def _short_name(pod: str, name: str) -> str:
    short = name[len(pod) + 1:] if name.startswith(pod + "-") else name
    return _dns_label(short)


def _volume_of(record: Any) -> NamedVolume | None:
    if isinstance(record, NamedVolume):
        return record
    get = record.get if isinstance(record, Mapping) else lambda k, d=None: getattr(record, k, d)
    name = get("name") or get("Name")
    if not name or get("spec") is not None or get("image") or get("Config"):
        return None
    labels = get("labels") or get("Labels") or {}
    options = get("options") or get("Options") or {}
    return NamedVolume(str(name), driver=get("driver") or get("Driver") or "local",
                       options=tuple(dict(options).items()), labels=tuple(dict(labels).items()))  # fmt: skip


# -- containers ----------------------------------------------------------------------------------
def _env(spec: ContainerSpec) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    holders: dict[str, str] = {}  # placeholder -> the earlier variable holding it
    for name, value in spec.env:
        m = _FIELD_PLACEHOLDER.match(value)
        if m:
            out.append({"name": name, "valueFrom": {"fieldRef": {"fieldPath": m.group(1)}}})
            holders.setdefault(value, name)
            continue
        text = _escape(value)
        for held, var in holders.items():
            text = text.replace(held, f"$({var})")
        out.append({"name": name, "value": text})
    return out


def _arg(spec: ContainerSpec, text: str) -> str:
    """TEXT escaped for $(VAR) expansion; runtime placeholders become $(VAR) of an env var
    holding that field, so the kubelet fills them in."""
    text = _escape(text)
    for name, value in spec.env:
        if _FIELD_PLACEHOLDER.match(value) and value in text:
            text = text.replace(value, f"$({name})")
    return text


def _probe(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.action == ProbeAction.EXEC:
        out["exec"] = {"command": list(p.command)}
    elif p.action == ProbeAction.TCP:
        out["tcpSocket"] = {"port": p.port, **({"host": p.host} if p.host else {})}
    else:
        http: dict[str, Any] = {"path": p.path, "port": p.port, "scheme": p.scheme}
        if p.host:
            http["host"] = p.host
        if p.headers:
            http["httpHeaders"] = [{"name": n, "value": v} for n, v in p.headers]
        out["httpGet"] = http
    out.update({"initialDelaySeconds": p.initial_delay, "periodSeconds": p.period,
                "timeoutSeconds": p.timeout, "successThreshold": p.success_threshold,
                "failureThreshold": p.failure_threshold})  # fmt: skip
    return out


def _security(c: KubeContainer, notes: list[str]) -> dict[str, Any]:
    s = c.spec
    sc: dict[str, Any] = {}
    if s.user:
        uid, _, gid = s.user.partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            sc["runAsUser"] = int(uid)
            if gid:
                sc["runAsGroup"] = int(gid)
        else:
            notes.append(f"container {s.name}: user {s.user!r} is not numeric; "
                         "set securityContext.runAsUser by hand")  # fmt: skip
    if c.group is not None:
        sc["runAsGroup"] = c.group
    caps: dict[str, list[str]] = {}
    if s.cap_add:
        caps["add"] = [x.removeprefix("CAP_") for x in s.cap_add]
    if s.cap_drop:
        caps["drop"] = [x.removeprefix("CAP_") for x in s.cap_drop]
    if caps:
        sc["capabilities"] = caps
    if s.privileged:
        sc["privileged"] = True
    if s.read_only:
        sc["readOnlyRootFilesystem"] = True
    selinux: dict[str, str] = {}
    for opt in s.security_opt:
        if opt == "no-new-privileges":
            sc["allowPrivilegeEscalation"] = False
        elif opt.startswith("label=") and ":" in opt:
            key, _, value = opt[len("label="):].partition(":")
            selinux[key] = value
        elif opt == "seccomp=unconfined":
            sc["seccompProfile"] = {"type": "Unconfined"}
        elif opt.startswith("seccomp="):
            sc["seccompProfile"] = {"type": "Localhost", "localhostProfile": opt[len("seccomp="):]}
        else:
            notes.append(f"container {s.name}: --security-opt {opt} has no Kubernetes form")
    if selinux:
        sc["seLinuxOptions"] = selinux
    return sc


def _container(pod: KubePod, c: KubeContainer, mounts: list[dict[str, Any]],
               ports: list[dict[str, Any]], notes: list[str]) -> dict[str, Any]:  # fmt: skip
    s = c.spec
    out: dict[str, Any] = {"name": c.name, "image": s.image}
    if s.entrypoint is not None:
        out["command"] = [_arg(s, x) for x in s.entrypoint]
    if s.command:
        out["args"] = [_arg(s, x) for x in s.command]
    elif s.command == () and s.entrypoint is None:
        notes.append(f"container {s.name}: an empty command cannot be expressed")
    if s.workdir:
        out["workingDir"] = s.workdir
    if s.env:
        out["env"] = _env(s)
    if ports:
        out["ports"] = ports
    if mounts:
        out["volumeMounts"] = mounts
    limits: dict[str, str] = {}
    if s.cpus:
        limits["cpu"] = format_cpu(s.cpus)
    if s.memory:
        limits["memory"] = format_memory(s.memory)
    if limits:
        out["resources"] = {"limits": limits}
    sc = _security(c, notes)
    if sc:
        out["securityContext"] = sc
    for p in c.probes:
        out[f"{p.kind.value}Probe"] = _probe(p)
    if s.stop_signal and s.stop_signal not in ("SIGTERM", "TERM", "15"):
        sig = s.stop_signal if s.stop_signal.startswith("SIG") else f"SIG{s.stop_signal}"
        out["lifecycle"] = {"stopSignal": sig}
    if c.role == Role.SIDECAR:
        out["restartPolicy"] = "Always"
    if s.pull in PULL:
        out["imagePullPolicy"] = PULL[s.pull]
    if s.tty:
        out["tty"] = True
    if s.interactive:
        out["stdin"] = True
    return out


# -- volumes -------------------------------------------------------------------------------------
def _volume_source(v: KubeVolume) -> dict[str, Any]:
    if v.kind == VolumeKind.HOST_PATH:
        src: dict[str, Any] = {"path": v.host_path}
        if v.host_path_type:
            src["type"] = v.host_path_type.value
        return {"hostPath": src}
    if v.kind == VolumeKind.EMPTY_DIR:
        src = {}
        if v.medium:
            src["medium"] = v.medium
        if v.size_limit:
            src["sizeLimit"] = v.size_limit
        return {"emptyDir": src}
    if v.kind == VolumeKind.PVC:
        return {"persistentVolumeClaim": {"claimName": v.volume_name,
                                          **({"readOnly": True} if v.read_only else {})}}  # fmt: skip
    if v.kind == VolumeKind.PROJECTED:
        sources = []
        for part in v.sources:
            ((key, body),) = _volume_source(part).items()
            body.pop("defaultMode", None)
            if "secretName" in body:
                body = {"name": body.pop("secretName"), **body}
            sources.append({key: body})
        return {"projected": {"sources": sources, "defaultMode": v.default_mode}}
    items = [{"key": i.key, "path": i.path, **({"mode": i.mode} if i.mode is not None else {})}
             for i in v.items]  # fmt: skip
    if v.kind == VolumeKind.DOWNWARD_API:
        ditems = []
        for i in v.items:
            ref: dict[str, Any] = {"fieldRef": {"fieldPath": i.key}}
            if i.container:
                rf: dict[str, Any] = {"containerName": i.container, "resource": i.key}
                if i.divisor:
                    rf["divisor"] = i.divisor
                ref = {"resourceFieldRef": rf}
            ditems.append({"path": i.path, **ref, **({"mode": i.mode} if i.mode is not None else {})})
        return {"downwardAPI": {"items": ditems, "defaultMode": v.default_mode}}
    ref_key = "name" if v.kind == VolumeKind.CONFIG_MAP else "secretName"
    src = {ref_key: v.ref, "defaultMode": v.default_mode}
    if items:
        src["items"] = items
    if v.optional:
        src["optional"] = True
    return {v.kind.value: src}


class _Volumes:
    """Pod volumes for the mounts of the pod's containers (reusing the translator's if known)."""

    def __init__(self, pod: KubePod) -> None:
        self.known = list(pod.volumes)
        # Declared volumes keep their place (and are kept when nothing mounts them).
        self.used: dict[str, dict[str, Any]] = {v.name: {"name": v.name, **_volume_source(v)}
                                                 for v in pod.volumes}  # fmt: skip

    def _add(self, v: KubeVolume) -> str:
        self.used.setdefault(v.name, {"name": v.name, **_volume_source(v)})
        return v.name

    def _new_name(self, base: str) -> str:
        name, n = _dns_label(base), 1
        taken = {v.name for v in self.known} | set(self.used)
        while name in taken:
            n += 1
            name = f"{_dns_label(base)[:58]}-{n}"
        return name

    def mount(self, m: Mount) -> dict[str, Any]:
        sub = ""
        vol: KubeVolume | None = None
        if m.type == MountType.BIND:
            for v in self.known:
                if v.kind == VolumeKind.HOST_PATH and (m.source == v.host_path or
                                                       m.source.startswith(v.host_path + "/")):  # fmt: skip
                    vol = v
                    sub = posixpath.relpath(m.source, v.host_path) if m.source != v.host_path else ""
                    if not sub:
                        break
            if vol is None:
                vol = KubeVolume(self._new_name(m.source.strip("/").replace("/", "-") + "-host"),
                                 VolumeKind.HOST_PATH, host_path=m.source)  # fmt: skip
                self.known.append(vol)
        elif m.type == MountType.TMPFS:
            vol = KubeVolume(self._new_name(m.destination.strip("/") + "-tmpfs"),
                             VolumeKind.EMPTY_DIR, medium="Memory")  # fmt: skip
            self.known.append(vol)
        else:
            sub = next((o[len("subpath="):] for o in m.options if o.startswith("subpath=")), "")
            vol = next((v for v in self.known if v.volume_name == m.source and m.source), None)
            if vol is None:
                kind = VolumeKind.PVC if m.source else VolumeKind.EMPTY_DIR
                base = m.source or m.destination.strip("/") + "-anon"
                vol = KubeVolume(self._new_name(base + ("-pvc" if m.source else "")), kind,
                                 volume_name=m.source)  # fmt: skip
                self.known.append(vol)
        out: dict[str, Any] = {"name": self._add(vol), "mountPath": m.destination}
        if m.read_only and not vol.read_only:
            out["readOnly"] = True
        if sub:
            out["subPath"] = sub
        return out


# -- pods ----------------------------------------------------------------------------------------
def _ports_for(pod: KubePod, c: KubeContainer, first_app: bool) -> list[dict[str, Any]]:
    published = {(p.container_port, p.protocol): p for p in pod.spec.ports}
    out: list[dict[str, Any]] = []
    declared = list(c.ports)
    seen = {(p.container_port, p.protocol) for p in declared}
    if first_app:  # pod ports no container declares go on the first app container
        from podctl.kube.model import ContainerPort

        all_declared = {(p.container_port, p.protocol) for k in pod.containers for p in k.ports}
        declared += [ContainerPort(p.container_port, p.protocol) for p in pod.spec.ports
                     if (p.container_port, p.protocol) not in all_declared | seen]  # fmt: skip
    for p in declared:
        entry: dict[str, Any] = {"containerPort": p.container_port}
        if p.name:
            entry["name"] = p.name
        pub = published.get((p.container_port, p.protocol))
        if pub is not None and pub.host_port:
            entry["hostPort"] = pub.host_port
            if pub.host_ip:
                entry["hostIP"] = pub.host_ip
        entry["protocol"] = p.protocol.upper()
        out.append(entry)
    return out


def _pod_spec(pod: KubePod, notes: list[str], *, force_always: bool) -> dict[str, Any]:
    vols = _Volumes(pod)
    init: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    first_app = True
    for c in pod.containers:
        mounts = [vols.mount(m) for m in c.spec.mounts]
        is_first = first_app and c.role == Role.APP
        first_app = first_app and not is_first
        entry = _container(pod, c, mounts, _ports_for(pod, c, is_first), notes)
        (apps if c.role == Role.APP else init).append(entry)
    spec: dict[str, Any] = {}
    if init:
        spec["initContainers"] = init
    spec["containers"] = apps
    restart = RESTART.get(pod.spec.restart_policy, "Always")
    if force_always and restart != "Always":
        notes.append(f"pod {pod.name}: restart policy {restart} is not allowed in this kind; "
                     "Always is used")  # fmt: skip
        restart = "Always"
    spec["restartPolicy"] = restart
    if pod.spec.hostname:
        spec["hostname"] = pod.spec.hostname
    if pod.spec.network == "host":
        spec["hostNetwork"] = True
    if "pid" in pod.spec.share:
        spec["shareProcessNamespace"] = True
    if pod.stop_timeout is not None:
        spec["terminationGracePeriodSeconds"] = pod.stop_timeout
    if pod.host_aliases:
        spec["hostAliases"] = [{"ip": a.ip, "hostnames": list(a.hostnames)}
                               for a in pod.host_aliases]  # fmt: skip
    if pod.dns_servers or pod.dns_search or pod.dns_options:
        dns: dict[str, Any] = {}
        if pod.dns_servers:
            dns["nameservers"] = list(pod.dns_servers)
        if pod.dns_search:
            dns["searches"] = list(pod.dns_search)
        if pod.dns_options:
            dns["options"] = [dict(zip(("name", "value"), o.split(":", 1), strict=False))
                              for o in pod.dns_options]  # fmt: skip
        spec["dnsConfig"] = dns
    if any("lifecycle" in c for c in init + apps):
        spec["os"] = {"name": "linux"}  # required by the API server beside lifecycle.stopSignal
    if vols.used:
        spec["volumes"] = list(vols.used.values())
    return spec


def _annotations(pod: KubePod) -> dict[str, str]:
    ann = dict(pod.annotations)
    for c in pod.containers:
        for key, value in c.spec.labels:
            if key.startswith("io.containers.autoupdate") and ann.get(key) != value:
                ann[f"{key}/{c.name}"] = value
    return ann


def _workload_name(pod: KubePod, kind: str) -> str:
    if kind == "pod":
        return pod.name
    return pod.name.removesuffix("-pod") if pod.name.endswith("-pod") else f"{pod.name}-{kind}"


def _pod_documents(pod: KubePod, kind: str, service: bool, notes: list[str]) -> list[dict[str, Any]]:
    api, kname = KINDS[kind]
    name = _workload_name(pod, kind)
    labels = dict(pod.spec.labels)
    if kind in ("deployment", "daemonset") or service:
        labels.setdefault("app", name)  # the selector of the controller and the Service
    meta: dict[str, Any] = {"name": name if kind == "pod" else None}
    if pod.namespace != "default":
        meta["namespace"] = pod.namespace
    if labels:
        meta["labels"] = labels
    ann = _annotations(pod)
    if ann:
        meta["annotations"] = ann
    spec = _pod_spec(pod, notes, force_always=kind in ("deployment", "daemonset"))
    if kind == "job" and spec["restartPolicy"] == "Always":
        spec["restartPolicy"] = "Never"
    if kind == "pod":
        doc: dict[str, Any] = {"apiVersion": api, "kind": kname, "metadata": meta, "spec": spec}
    else:
        meta.pop("name")
        top: dict[str, Any] = {"name": name}
        if "app" in labels:
            top["labels"] = {"app": labels["app"]}
        if "namespace" in meta:
            top["namespace"] = meta.pop("namespace")
        wspec: dict[str, Any] = {}
        if kind == "deployment":
            wspec["replicas"] = pod.replicas
        if kind != "job":
            wspec["selector"] = {"matchLabels": {"app": labels["app"]}}
        wspec["template"] = {"metadata": meta, "spec": spec}
        doc = {"apiVersion": api, "kind": kname,
               "metadata": top, "spec": wspec}  # fmt: skip
    docs = [doc]
    if service:
        ports = [{"name": f"{p.host_port or p.container_port}-{p.protocol}",
                  "port": p.host_port or p.container_port, "targetPort": p.container_port,
                  "protocol": p.protocol.upper()} for p in pod.spec.ports]  # fmt: skip
        if ports:
            docs.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name, "labels": {"app": labels["app"]}},
                         "spec": {"type": "NodePort", "selector": {"app": labels["app"]},
                                  "ports": ports}})  # fmt: skip
        else:
            notes.append(f"pod {pod.name}: no published ports, so no Service")
    return docs


def _pvc(v: NamedVolume) -> dict[str, Any]:
    ann = dict(v.annotations)
    if v.driver and v.driver != "local":
        ann["volume.podman.io/driver"] = v.driver
    for key, value in v.options:
        ann[f"volume.podman.io/{key}"] = value
    meta: dict[str, Any] = {"name": v.name}
    if v.labels:
        meta["labels"] = dict(v.labels)
    if ann:
        meta["annotations"] = ann
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}  # fmt: skip


def _config(kind: str, c: ConfigData) -> dict[str, Any]:
    import base64

    doc: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": c.name}}
    if kind == "Secret":
        doc["data"] = {k: base64.b64encode(v).decode() for k, v in c.data}
        return doc
    text, binary = {}, {}
    for k, v in c.data:
        try:
            if k in c.binary_keys:
                raise UnicodeDecodeError("utf-8", v, 0, 0, "binaryData")
            text[k] = v.decode()
        except UnicodeDecodeError:
            binary[k] = base64.b64encode(v).decode()
    if text:
        doc["data"] = text
    if binary:
        doc["binaryData"] = binary
    return doc


def generate(
    records: Sequence[Any],
    *,
    kind: str = "pod",
    service: bool = False,
    configmaps: Sequence[ConfigData] = (),
    secrets: Sequence[ConfigData] = (),
) -> str:
    """Kubernetes YAML for RECORDS; KIND is pod, deployment, daemonset or job."""

    if kind not in KINDS:
        from podctl.errors import InvalidSpec

        raise InvalidSpec(f"--type {kind!r}: must be one of {', '.join(KINDS)}")
    pods: list[KubePod] = []
    loose: list[ContainerSpec] = []
    volumes: list[NamedVolume] = []
    for r in records:
        if isinstance(r, KubePod):
            pods.append(r)
        elif isinstance(r, PodSpec):
            pods.append(pod_from_specs(r.name, list(r.containers), r))
        else:
            vol = _volume_of(r)
            if vol is not None:
                volumes.append(vol)
            else:
                loose.append(as_container_spec(r))
    if loose:
        name = f"{loose[0].name or 'podctl'}-pod"
        pods.append(pod_from_specs(name, loose))
    notes: list[str] = []
    docs: list[dict[str, Any]] = [_pvc(v) for v in volumes]
    docs += [_config("ConfigMap", c) for c in configmaps]
    docs += [_config("Secret", c) for c in secrets]
    for pod in pods:
        docs += _pod_documents(pod, kind, service, notes)
    text = HEADER + "".join(f"# NOTE: {n}\n" for n in notes)
    return text + "---\n".join(_dump(d) for d in docs)


def _dump(doc: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # File contents (ConfigMap data) read best as literal blocks.
        block = "\n" in value and " \n" not in value
        style = "|" if block and all(ch.isprintable() or ch == "\n" for ch in value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, default_flow_style=False)


__all__ = ["HostAlias", "ProbeKind", "as_container_spec", "generate", "placeholder",
           "pod_from_specs"]  # fmt: skip
