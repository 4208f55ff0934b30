"""What a Kubernetes YAML file asks for, as plain frozen data (the output of the translator).

`KubePlan` holds pods, each a `PodSpec` (whose `containers` are ordinary `ContainerSpec`s, in
start order) plus the parts `spec.py` cannot express yet: container roles (init / sidecar /
app), probes, pod volumes to create and fill, host aliases, DNS settings, Job semantics.

Some values exist only once the pod runs (its IP, the node name, the pod id): they are left as
`placeholder(FIELD)` strings and replaced by `KubePlan.resolve_runtime()` at play time.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from enum import StrEnum

from podctl import records
from podctl.spec import ContainerSpec, Mount, PodSpec

# podctl.records and not typing's TYPE_CHECKING: `kube play` start-up (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field

# Downward API fields whose value is known only when the pod exists.
RUNTIME_FIELDS = (
    "metadata.uid",
    "spec.nodeName",
    "status.podIP",
    "status.podIPs",
    "status.hostIP",
    "status.hostIPs",
)


def placeholder(field: str) -> str:
    """The text standing for a runtime-only downward API FIELD until play resolves it."""
    return "{{podctl:" + field + "}}"


def substitute(text: str, values: Mapping[str, str]) -> str:
    for fld, value in values.items():
        text = text.replace(placeholder(fld), value)
    return text


@dataclass(frozen=True)
class KubeWarning:
    file: str
    line: int
    column: int
    path: str  # field path inside the document, "" for the whole document
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class Role(StrEnum):
    INIT = "init"  # initContainers: run to completion, in order, before everything else
    SIDECAR = "sidecar"  # initContainers with restartPolicy Always: started in order, kept running
    APP = "app"  # containers


class ProbeKind(StrEnum):
    LIVENESS = "liveness"
    READINESS = "readiness"
    STARTUP = "startup"


class ProbeAction(StrEnum):
    EXEC = "exec"
    HTTP = "http"
    TCP = "tcp"


@dataclass(frozen=True)
class Probe:
    """A Kubernetes probe, kept structured (for generate) with its podman healthcheck form."""

    kind: ProbeKind
    action: ProbeAction
    command: tuple[str, ...] = ()  # exec
    host: str = ""  # http / tcp; "" = the pod's own address (localhost inside the pod)
    port: int = 0
    path: str = "/"
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    initial_delay: int = 0  # seconds
    period: int = 10
    timeout: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @property
    def test(self) -> tuple[str, ...]:
        """podman's `--health-cmd` form: ("CMD", argv...) or ("CMD-SHELL", script)."""
        if self.action == ProbeAction.EXEC:
            return ("CMD", *self.command)
        host = self.host or "localhost"
        if self.action == ProbeAction.TCP:
            return ("CMD-SHELL", f"nc -z {shlex.quote(host)} {self.port} </dev/null")
        url = f"{self.scheme.lower()}://{host}:{self.port}{self.path or '/'}"
        curl = ["curl", "-fsS", "-o", "/dev/null"] + (["-k"] if self.scheme == "HTTPS" else [])
        wget = ["wget", "-q", "-O", "/dev/null"]
        for name, value in self.headers:
            curl += ["-H", f"{name}: {value}"]
            wget += ["--header", f"{name}: {value}"]
        script = (f"if command -v curl >/dev/null 2>&1; then {shlex.join([*curl, url])};"
                  f" else {shlex.join([*wget, url])}; fi")  # fmt: skip
        return ("CMD-SHELL", script)

    @property
    def on_failure(self) -> str:
        """podman's `--health-on-failure`: Kubernetes restarts a container failing liveness."""
        return "none" if self.kind == ProbeKind.READINESS else "restart"


@dataclass(frozen=True)
class ContainerPort:
    """A declared container port; published when host_port is set (or by --publish)."""

    container_port: int
    protocol: str = "tcp"
    name: str = ""
    host_port: int = 0
    host_ip: str = ""


@dataclass(frozen=True)
class KubeContainer:
    """One container of a pod: its spec plus what spec.py cannot say yet."""

    name: str  # the Kubernetes name; spec.name is "<pod>-<name>"
    role: Role
    spec: ContainerSpec
    probes: tuple[Probe, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    group: int | None = None  # runAsGroup without runAsUser: keep the image's user, this gid

    @property
    def healthcheck(self) -> Probe | None:
        """The probe podman would make the healthcheck (liveness, else startup, else readiness)."""
        for kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP, ProbeKind.READINESS):
            for p in self.probes:
                if p.kind == kind:
                    return p
        return None


class VolumeKind(StrEnum):
    HOST_PATH = "hostPath"
    EMPTY_DIR = "emptyDir"
    PVC = "persistentVolumeClaim"
    CONFIG_MAP = "configMap"
    SECRET = "secret"
    DOWNWARD_API = "downwardAPI"
    PROJECTED = "projected"  # configMap / secret / downwardAPI sources merged into one volume


class HostPathType(StrEnum):
    ANY = ""  # no check
    DIRECTORY_OR_CREATE = "DirectoryOrCreate"
    DIRECTORY = "Directory"
    FILE_OR_CREATE = "FileOrCreate"
    FILE = "File"
    SOCKET = "Socket"
    CHAR_DEVICE = "CharDevice"
    BLOCK_DEVICE = "BlockDevice"


@dataclass(frozen=True)
class KeyToPath:
    key: str  # configMap/secret key, or the downward API field path / resource name
    path: str
    mode: int | None = None
    container: str = ""  # downward API resourceFieldRef: its containerName ...
    divisor: str = ""  # ... and divisor as written ("" = 1)


@dataclass(frozen=True)
class VolumeFile:
    """A file play writes into a configMap/secret/downwardAPI volume (path relative to it)."""

    path: str
    content: bytes
    mode: int


@dataclass(frozen=True)
class KubeVolume:
    """A pod volume. Mounts in the container specs refer to it by `volume_name` (or host path)."""

    name: str  # the name in the YAML
    kind: VolumeKind
    volume_name: str = ""  # the podctl volume backing it (all kinds but hostPath)
    host_path: str = ""
    host_path_type: HostPathType = HostPathType.ANY
    medium: str = ""  # emptyDir: "" or "Memory" (a tmpfs-backed volume)
    size_limit: str = ""
    ref: str = ""  # configMap / secret name
    items: tuple[KeyToPath, ...] = ()
    optional: bool = False
    default_mode: int = 0o644
    read_only: bool = False
    files: tuple[VolumeFile, ...] = ()  # configMap / secret / downwardAPI / projected content
    sources: tuple[KubeVolume, ...] = ()  # projected: its sources, in order

    @property
    def ephemeral(self) -> bool:
        """Created for this pod and removed with it (everything but hostPath and claims)."""
        return self.kind not in (VolumeKind.HOST_PATH, VolumeKind.PVC)


@dataclass(frozen=True)
class NamedVolume:
    """A persistent named volume: a PersistentVolumeClaim document or a claim a pod names."""

    name: str
    driver: str = "local"
    options: tuple[tuple[str, str], ...] = ()  # volume.podman.io/{type,device,mount-options,uid,gid}
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    declared: bool = True  # False: only named by a pod's claimName (created if missing)


@dataclass(frozen=True)
class HostAlias:
    ip: str
    hostnames: tuple[str, ...]


@dataclass(frozen=True)
class KubePod:
    spec: PodSpec  # containers in start order: init, sidecars (both in YAML order), then apps
    kind: str  # Pod | Deployment | DaemonSet | Job
    source_name: str  # metadata.name of the document
    containers: tuple[KubeContainer, ...]  # same order as spec.containers
    volumes: tuple[KubeVolume, ...] = ()
    namespace: str = "default"
    annotations: tuple[tuple[str, str], ...] = ()
    host_aliases: tuple[HostAlias, ...] = ()
    dns_servers: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    stop_timeout: int | None = None  # terminationGracePeriodSeconds
    replicas: int = 1

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def job(self) -> bool:
        """A Job runs to completion; play waits and records the exit code."""
        return self.kind == "Job"

    def by_role(self, role: Role) -> tuple[KubeContainer, ...]:
        return tuple(c for c in self.containers if c.role == role)

    def volume(self, name: str) -> KubeVolume | None:
        return next((v for v in self.volumes if v.name == name), None)


@dataclass(frozen=True)
class ConfigData:
    """A ConfigMap or Secret: string data and binary data (secrets are decoded here)."""

    name: str
    data: tuple[tuple[str, bytes], ...]
    file: str = field(default="", compare=False)
    binary_keys: tuple[str, ...] = ()  # a ConfigMap's binaryData: files only, never env

    def get(self, key: str) -> bytes | None:
        return next((v for k, v in self.data if k == key), None)

    def env_items(self) -> tuple[tuple[str, bytes], ...]:
        return tuple((k, v) for k, v in self.data if k not in self.binary_keys)


@dataclass(frozen=True)
class DownTargets:
    pods: tuple[str, ...]
    ephemeral_volumes: tuple[str, ...]
    claim_volumes: tuple[str, ...]


@dataclass(frozen=True)
class KubePlan:
    pods: tuple[KubePod, ...] = ()
    volumes: tuple[NamedVolume, ...] = ()
    configmaps: tuple[ConfigData, ...] = ()
    secrets: tuple[ConfigData, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (kind, name) of documents not acted on
    warnings: tuple[KubeWarning, ...] = ()

    def down_targets(self) -> DownTargets:
        """What `kube down` removes for this file: its pods and their ephemeral volumes
        always; the claims' named volumes only with --force (podman's semantics)."""
        return DownTargets(
            pods=tuple(p.name for p in self.pods),
            ephemeral_volumes=tuple(v.volume_name for p in self.pods for v in p.volumes
                                    if v.ephemeral),  # fmt: skip
            claim_volumes=tuple(v.name for v in self.volumes),
        )

    def runtime_fields(self) -> set[str]:
        """Runtime-only downward API fields used anywhere (nothing to resolve if empty)."""
        found: set[str] = set()
        text = repr(self.pods)
        for fld in RUNTIME_FIELDS:
            if placeholder(fld) in text:
                found.add(fld)
        return found

    def resolve_runtime(self, pod: str, values: Mapping[str, str]) -> KubePlan:
        """Replace the placeholders of pod POD with VALUES (field -> value, e.g.
        {"status.podIP": "10.0.2.100", "spec.nodeName": "host", "metadata.uid": POD_ID})."""
        pods = tuple(_resolve_pod(p, values) if p.name == pod else p for p in self.pods)
        return records.replace(self, pods=pods)


def _sub_all(items: tuple[str, ...] | None, values: Mapping[str, str]) -> tuple[str, ...] | None:
    return None if items is None else tuple(substitute(s, values) for s in items)


def _resolve_spec(spec: ContainerSpec, values: Mapping[str, str]) -> ContainerSpec:
    return spec.replace(
        env=tuple((k, substitute(v, values)) for k, v in spec.env),
        command=_sub_all(spec.command, values),
        entrypoint=_sub_all(spec.entrypoint, values),
    )


def _resolve_pod(pod: KubePod, values: Mapping[str, str]) -> KubePod:
    containers = tuple(
        records.replace(c, spec=_resolve_spec(c.spec, values)) for c in pod.containers
    )
    volumes = tuple(
        records.replace(
            v,
            files=tuple(
                records.replace(f, content=_substitute_bytes(f.content, values))
                for f in v.files
            ),
        )
        for v in pod.volumes
    )
    spec = records.replace(pod.spec, containers=tuple(c.spec for c in containers))
    return records.replace(pod, spec=spec, containers=containers, volumes=volumes)


def _substitute_bytes(content: bytes, values: Mapping[str, str]) -> bytes:
    for fld, value in values.items():
        content = content.replace(placeholder(fld).encode(), value.encode())
    return content


def mount_for(spec: ContainerSpec, destination: str) -> Mount | None:
    return next((m for m in spec.mounts if m.destination == destination), None)


def as_jsonable(obj: Any) -> Any:
    """A plan as plain JSON-able data (for debugging output and golden files)."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, bytes):
        try:
            return obj.decode()
        except UnicodeDecodeError:
            return {"base64": __import__("base64").b64encode(obj).decode()}
    if isinstance(obj, tuple | list):
        return [as_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): as_jsonable(v) for k, v in obj.items()}
    return obj
