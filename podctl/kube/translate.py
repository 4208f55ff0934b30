"""Kubernetes documents -> KubePlan. Pure: reads nothing but its arguments, spawns nothing.

Every document is checked before anything is returned: all errors of the whole input are
collected and raised together as one InvalidSpec (FILE:LINE:COLUMN: field.path: message per
line), so a caller that gets a plan knows the whole input is valid. Unsupported fields give
warnings (in `KubePlan.warnings`), never silence.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence

from podctl import records
from podctl.errors import InvalidSpec
from podctl.kube.container import AUTOUPDATE, resources_of, security_opts, translate_container
from podctl.kube.context import PodInfo, Scope, TranslateOptions
from podctl.kube.fields import Diagnostics, Obj
from podctl.kube.loader import Document
from podctl.kube.model import (
    ConfigData,
    HostAlias,
    KubeContainer,
    KubePlan,
    KubePod,
    KubeWarning,
    NamedVolume,
    Role,
)
from podctl.kube.volumes import translate_volumes
from podctl.spec import PodSpec, PortMapping, RestartPolicy, check_name

# podctl.records and not typing's TYPE_CHECKING: `kube play` start-up (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any
else:
    from podctl.records import dataclass

API_VERSIONS = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
}
WORKLOADS = ("Pod", "Deployment", "DaemonSet", "Job")
RESTART = {
    "Always": RestartPolicy.ALWAYS,
    "OnFailure": RestartPolicy.ON_FAILURE,
    "Never": RestartPolicy.NO,
}
# Set by the API server (seen in `kubectl get -o yaml`); meaningless as input.
SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                   "selfLink", "ownerReferences", "finalizers", "deletionTimestamp",
                   "deletionGracePeriodSeconds")  # fmt: skip
NO_EFFECT = "has no effect on a single machine; ignored"
POD_NO_EFFECT = ("nodeSelector", "affinity", "tolerations", "schedulerName", "priority",
                 "priorityClassName", "preemptionPolicy", "topologySpreadConstraints",
                 "serviceAccountName", "serviceAccount", "automountServiceAccountToken",
                 "enableServiceLinks", "imagePullSecrets", "nodeName", "readinessGates",
                 "runtimeClassName", "overhead", "activeDeadlineSeconds", "schedulingGates",
                 "resourceClaims", "resources")  # fmt: skip
PVC_OPTIONS = ("type", "device", "mount-options", "uid", "gid")
_PUBLISH = re.compile(r"^(?:(?:\[?([0-9a-fA-F.:]*?)\]?:)?(\d*):)?(\d+)(?:/(tcp|udp|sctp))?$")


@dataclass
class _Meta:
    name: str | None
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]


def _metadata(o: Obj, *, required: bool = True) -> _Meta:
    m = o.obj("metadata", required=required)
    if m is None:
        return _Meta(None, "default", {}, {})
    name = m.string("name", required=required)
    ns = m.string("namespace") or "default"
    labels, ann = m.strmap("labels"), m.strmap("annotations")
    m.unsupported("generateName", "generateName is not supported; set metadata.name")
    m.ignore(*SERVER_METADATA)
    m.finish()
    return _Meta(name, ns, labels, ann)


def _config_data(scope: Scope, o: Obj, meta: _Meta, secret: bool) -> ConfigData | None:
    data: dict[str, bytes] = {}
    binary: list[str] = []
    if secret:
        for key, value in o.strmap("data").items():
            try:
                data[key] = base64.b64decode(value.encode(), validate=True)
            except (binascii.Error, ValueError):
                o.error("data", "invalid base64 (use stringData for plain text)", key)
        for key, value in o.strmap("stringData").items():
            data[key] = value.encode()
        o.ignore("type")
    else:
        for key, value in o.strmap("data").items():
            data[key] = value.encode()
        for key, value in o.strmap("binaryData").items():
            try:
                data[key] = base64.b64decode(value.encode(), validate=True)
                binary.append(key)
            except (binascii.Error, ValueError):
                o.error("binaryData", "invalid base64", key)
    o.ignore("immutable")
    o.finish()
    if meta.name is None:
        return None
    return ConfigData(meta.name, tuple(data.items()), o.doc.file, tuple(binary))


def _pvc(o: Obj, meta: _Meta) -> NamedVolume | None:
    spec = o.obj("spec")
    if spec is not None:
        spec.ignore("accessModes", "resources", "storageClassName", "volumeMode")
        for key in ("selector", "dataSource", "dataSourceRef", "volumeName",
                    "volumeAttributesClassName"):  # fmt: skip
            spec.unsupported(key, f"{key} {NO_EFFECT}")
        spec.finish()
    o.finish()
    if meta.name is None:
        return None
    prefix = "volume.podman.io/"
    options = tuple(
        (k[len(prefix):], v) for k, v in meta.annotations.items()
        if k.startswith(prefix) and k[len(prefix):] in PVC_OPTIONS
    )  # fmt: skip
    return NamedVolume(meta.name, driver=meta.annotations.get(prefix + "driver", "local"),
                       options=options, labels=tuple(meta.labels.items()),
                       annotations=tuple(meta.annotations.items()))  # fmt: skip


def _pod_security(pod: PodInfo, spec: Obj) -> None:
    sc = spec.obj("securityContext")
    if sc is None:
        return
    pod.run_as_user = sc.integer("runAsUser", minimum=0)
    pod.run_as_group = sc.integer("runAsGroup", minimum=0)
    pod.run_as_non_root = sc.boolean("runAsNonRoot")
    opts: list[str] = []
    security_opts(sc, opts)
    pod.security_opt = tuple(opts)
    for key in ("fsGroup", "fsGroupChangePolicy", "supplementalGroups", "supplementalGroupsPolicy",
                "sysctls", "appArmorProfile", "windowsOptions", "seLinuxChangePolicy"):  # fmt: skip
        sc.unsupported(key)
    sc.finish()


def _dns(spec: Obj) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    policy = spec.string("dnsPolicy")
    dns = spec.obj("dnsConfig")
    if policy == "None" and dns is None:
        spec.error("dnsConfig", "required when dnsPolicy is None")
    if dns is None:
        return (), (), ()
    servers = dns.strs("nameservers") or ()
    search = dns.strs("searches") or ()
    options: list[str] = []
    for opt in dns.objs("options"):
        name, value = opt.string("name", required=True), opt.string("value")
        opt.finish()
        if name:
            options.append(name if value is None else f"{name}:{value}")
    dns.finish()
    return servers, search, tuple(options)


def _aliases(spec: Obj) -> tuple[HostAlias, ...]:
    out: list[HostAlias] = []
    for a in spec.objs("hostAliases"):
        ip, names = a.string("ip", required=True), a.strs("hostnames") or ()
        a.finish()
        if ip and not _is_ip(ip):
            a.error("ip", f"{ip!r} is not an IP address")
        elif ip:
            out.append(HostAlias(ip, names))
    return tuple(out)


def _workload(scope: Scope, o: Obj, kind: str, meta: _Meta) -> KubePod | None:
    errors_before = scope.diag.error_count
    replicas = 1
    if kind == "Pod":
        spec = o.obj("spec", required=True)
        pod_name = meta.name or "unnamed"  # (missing: reported; keep checking the rest)
        labels, annotations, namespace = meta.labels, meta.annotations, meta.namespace
    else:
        wspec = o.obj("spec", required=True)
        if wspec is None:
            return None
        if kind == "Deployment":
            count = wspec.integer("replicas", minimum=0)
            replicas = 1 if count is None else count
            if replicas > 1:
                wspec.warn("replicas", f"replicas is {replicas}: podctl runs one pod")
            for key in ("strategy", "minReadySeconds", "revisionHistoryLimit",
                        "progressDeadlineSeconds", "paused"):  # fmt: skip
                wspec.unsupported(key, f"{key} {NO_EFFECT}")
        elif kind == "DaemonSet":
            for key in ("updateStrategy", "minReadySeconds", "revisionHistoryLimit"):
                wspec.unsupported(key, f"{key} {NO_EFFECT}")
        else:
            for key in ("parallelism", "completions", "backoffLimit", "backoffLimitPerIndex",
                        "activeDeadlineSeconds", "ttlSecondsAfterFinished", "completionMode",
                        "suspend", "podFailurePolicy", "podReplacementPolicy", "maxFailedIndexes",
                        "successPolicy", "manualSelector"):  # fmt: skip
                wspec.unsupported(key, f"{key} is not supported; the pod runs once")
        wspec.ignore("selector")
        template = wspec.obj("template", required=True)
        wspec.finish()
        if template is None:
            return None
        tmeta = _metadata(template, required=False)
        spec = template.obj("spec", required=True)
        template.finish()
        pod_name = f"{meta.name or 'unnamed'}-pod"
        labels = tmeta.labels
        annotations = {**meta.annotations, **tmeta.annotations}
        namespace = meta.namespace
    if spec is None:
        return None
    try:
        check_name(pod_name, "pod")
    except InvalidSpec as e:
        o.error("metadata", e.message, "name")
        return None
    restart_raw = spec.string("restartPolicy")
    if restart_raw is not None and restart_raw not in RESTART:
        spec.error("restartPolicy", f"must be Always, OnFailure or Never, got {restart_raw!r}")
    if kind == "Job" and restart_raw not in ("OnFailure", "Never"):
        spec.error("restartPolicy", "a Job's pod needs restartPolicy Never or OnFailure")
    elif kind in ("Deployment", "DaemonSet") and restart_raw not in (None, "Always"):
        spec.error("restartPolicy", f"a {kind}'s pod only allows restartPolicy Always")
    restart = RESTART.get(restart_raw or "Always", RestartPolicy.ALWAYS)
    pod = PodInfo(pod_name, namespace, labels, annotations, restart)
    pod.stop_timeout = spec.integer("terminationGracePeriodSeconds", minimum=0)
    _pod_security(pod, spec)
    raw_containers = [
        x for key in ("initContainers", "containers")
        if isinstance(spec.data.get(key), list)
        for x in spec.data[key] if isinstance(x, dict)
    ]  # fmt: skip
    for rc in raw_containers:
        if isinstance(rc.get("name"), str):
            pod.resources[rc["name"]] = resources_of(rc)
    translate_volumes(scope, pod, spec)
    if not spec.data.get("containers"):
        spec.error("containers", "a pod needs at least one container")
    containers: list[KubeContainer] = []
    seen: set[str] = set()
    for key, role in (("initContainers", Role.INIT), ("containers", Role.APP)):
        for c in spec.objs(key):
            cname = c.data.get("name")
            if isinstance(cname, str):
                if cname in seen:
                    c.error("name", f"duplicate container name {cname!r}")
                    c.ignore(*c.data)
                    continue
                seen.add(cname)
            kc = translate_container(scope, pod, c, role)
            if kc is not None:
                containers.append(kc)
    for ann in annotations:
        base, _, target = ann.partition("/")
        if base.startswith(AUTOUPDATE) and target and target not in seen:
            o.warn("metadata", f"annotation {ann!r} names no container of this pod",
                   "annotations", ann)  # fmt: skip
    hostname = spec.string("hostname")
    host_network = bool(spec.boolean("hostNetwork"))
    share_pid = bool(spec.boolean("shareProcessNamespace"))
    aliases = _aliases(spec)
    servers, search, options = _dns(spec)
    spec.ignore("securityContext", "volumes", "containers", "initContainers")
    for key in POD_NO_EFFECT:
        spec.unsupported(key, f"{key} {NO_EFFECT}")
    for key in ("hostPID", "hostIPC", "hostUsers", "subdomain", "setHostnameAsFQDN",
                "ephemeralContainers", "os"):  # fmt: skip
        if key == "os" and isinstance(spec.data.get("os"), dict):
            spec.ignore("os")
            if spec.data["os"].get("name") not in ("linux", None):
                spec.error("os", "only linux pods can run here", "name")
            continue
        spec.unsupported(key)
    spec.finish()
    if scope.diag.error_count != errors_before:
        return None
    # Start order: init containers and sidecars as written, then the app containers.
    ordered = tuple(containers)
    ports = tuple(
        PortMapping(p.container_port, p.host_port, p.protocol, p.host_ip)
        for c in ordered for p in c.ports if p.host_port
    )  # fmt: skip
    share = ("ipc", "net", "uts") + (("pid",) if share_pid else ())
    extra: dict[str, Any] = {"network": "host"} if host_network else {}
    try:
        podspec = PodSpec(
            name=pod_name, hostname=hostname, labels=tuple(labels.items()), ports=ports,
            share=share, restart_policy=restart, containers=tuple(c.spec for c in ordered),
            **extra,
        )  # fmt: skip
    except InvalidSpec as e:
        o.error("spec", e.message)
        return None
    return KubePod(
        spec=podspec, kind=kind, source_name=meta.name or pod_name, containers=ordered,
        volumes=tuple(pod.volumes.values()), namespace=namespace,
        annotations=tuple(annotations.items()), host_aliases=aliases, dns_servers=servers,
        dns_search=search, dns_options=options, stop_timeout=pod.stop_timeout, replicas=replicas,
    )  # fmt: skip


def _check_ports(pods: Sequence[KubePod]) -> list[str]:
    errors: list[str] = []
    seen: dict[tuple[str, int, str], str] = {}
    for pod in pods:
        for pm in pod.spec.ports:
            key = (pm.host_ip, pm.host_port, pm.protocol)
            if pm.host_port and key in seen:
                where = (f"in pod {pod.name}" if seen[key] == pod.name
                         else f"by pods {seen[key]} and {pod.name}")  # fmt: skip
                errors.append(f"host port {pm.host_port}/{pm.protocol} is published twice {where}")
            seen[key] = pod.name
    return errors


def _sorted(warnings: list[KubeWarning]) -> list[KubeWarning]:
    files: dict[str, int] = {}
    for w in warnings:
        files.setdefault(w.file, len(files))
    return sorted(warnings, key=lambda w: (files[w.file], w.line, w.column))


def parse_publish(value: str) -> PortMapping:
    """`--publish [[ip:][hostPort]:]containerPort[/protocol]`."""
    m = _PUBLISH.match(value.strip())
    if not m:
        raise InvalidSpec(f"--publish {value!r}: expected [[ip:][hostPort]:]containerPort[/protocol]")
    ip, host, cport, proto = m.group(1) or "", m.group(2), int(m.group(3)), m.group(4) or "tcp"
    hport = int(host) if host else 0  # no host port: a free one is picked, as with `run -p`
    for port in (cport, hport or 1):
        if not 0 < port < 65536:
            raise InvalidSpec(f"--publish {value!r}: port {port} is out of range 1-65535")
    if ip and not _is_ip(ip):
        raise InvalidSpec(f"--publish {value!r}: {ip!r} is not an IP address")
    return PortMapping(cport, hport, proto, ip)


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _apply_publish(pods: list[KubePod], publish: Iterable[str]) -> list[KubePod]:
    for value in publish:
        pm = parse_publish(value)
        matched = False
        for i, pod in enumerate(pods):
            declared = any(p.container_port == pm.container_port and p.protocol == pm.protocol
                           for c in pod.containers for p in c.ports)  # fmt: skip
            if not declared:
                continue
            matched = True
            keep = tuple(p for p in pod.spec.ports if not (
                p.container_port == pm.container_port and p.protocol == pm.protocol))  # fmt: skip
            spec = records.replace(pod.spec, ports=keep + (pm,))
            pods[i] = records.replace(pod, spec=spec)
        if not matched:
            if len(pods) != 1:
                raise InvalidSpec(f"--publish {value!r}: no container declares port "
                                  f"{pm.container_port}/{pm.protocol}")  # fmt: skip
            spec = records.replace(pods[0].spec, ports=pods[0].spec.ports + (pm,))
            pods[0] = records.replace(pods[0], spec=spec)
    return pods


def translate(
    documents: Sequence[Document],
    *,
    configmaps: Sequence[Document] = (),
    options: TranslateOptions | None = None,
) -> KubePlan:
    """DOCUMENTS (and ConfigMaps from `--configmap` files) -> KubePlan, or InvalidSpec."""
    options = options or TranslateOptions()
    diag = Diagnostics()
    scope = Scope(diag, options)
    objs: list[tuple[Obj, str, _Meta]] = []
    volumes: dict[str, NamedVolume] = {}
    skipped: list[tuple[str, str]] = []
    for i, doc in enumerate([*configmaps, *documents]):
        from_flag = i < len(configmaps)
        if not isinstance(doc.value, dict):
            diag.error(doc, (), "a document must be a mapping with apiVersion and kind")
            continue
        o = Obj(diag, doc, (), doc.value)
        kind = o.string("kind", required=True)
        api = o.string("apiVersion", required=True)
        o.ignore("status")
        if kind is None:
            continue
        if from_flag and kind != "ConfigMap":
            o.error("kind", f"--configmap files may only hold ConfigMaps, found {kind!r}")
            continue
        if kind not in API_VERSIONS:
            m = o.data.get("metadata")
            name = m.get("name", "") if isinstance(m, dict) else ""
            o.warn("kind", f"kind {kind!r} is not supported by podctl; document skipped")
            skipped.append((kind, str(name)))
            continue
        if api is not None and api != API_VERSIONS[kind]:
            o.error("apiVersion", f"{kind} needs apiVersion {API_VERSIONS[kind]!r}, got {api!r}")
        meta = _metadata(o)
        if kind in ("ConfigMap", "Secret"):
            secret = kind == "Secret"
            spec_data = _config_data(scope, o, meta, secret)
            if spec_data is not None:
                table = scope.secrets if secret else scope.configmaps
                if spec_data.name in table:
                    o.error("metadata", f"duplicate {kind} name {spec_data.name!r}", "name")
                table[spec_data.name] = spec_data
        elif kind == "PersistentVolumeClaim":
            vol = _pvc(o, meta)
            if vol is not None:
                if vol.name in volumes:
                    o.error("metadata", f"duplicate PersistentVolumeClaim {vol.name!r}", "name")
                volumes[vol.name] = vol
        else:
            objs.append((o, kind, meta))
    pods: list[KubePod] = []
    for o, kind, meta in objs:
        pod = _workload(scope, o, kind, meta)
        if pod is not None:
            if any(p.name == pod.name for p in pods):
                o.error("metadata", f"duplicate pod name {pod.name!r}", "name")
            pods.append(pod)
        o.finish()
    for pod in pods:
        for v in pod.volumes:
            if v.kind == "persistentVolumeClaim" and v.volume_name not in volumes:
                volumes[v.volume_name] = NamedVolume(v.volume_name, declared=False)
    errors = diag.errors + _check_ports(pods)
    if errors:
        raise InvalidSpec("\n".join(errors))
    if options.publish:
        pods = _apply_publish(pods, options.publish)
    if not (pods or volumes or scope.configmaps or scope.secrets or skipped):
        raise InvalidSpec(f"{documents[0].file if documents else 'input'}: no documents")
    return KubePlan(
        pods=tuple(pods),
        volumes=tuple(volumes.values()),
        configmaps=tuple(v for v in scope.configmaps.values()),
        secrets=tuple(scope.secrets.values()),
        skipped=tuple(skipped),
        warnings=tuple(_sorted(diag.warnings)),
    )
