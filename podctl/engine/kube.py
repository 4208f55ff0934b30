"""`kube play`, `kube down`, `kube generate`: one function per verb.

play validates the whole input first (YAML, fields, host paths, images, name clashes) and
creates nothing when anything is wrong; once it starts creating, a failure removes everything
this play made. What play makes is labelled (`io.podctl.kube.*` on the pod, its containers and
its volumes), so `down` removes exactly that and `generate` can rebuild the YAML.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from podctl import records
from podctl.config import Config
from podctl.engine import kube_volumes as kv
from podctl.errors import AlreadyExists, InvalidSpec, NotFound, PodctlError, RuntimeFailed

# podctl.records and not typing's TYPE_CHECKING: `kube down` needs none of dataclasses'
# start-up cost (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any

    from podctl.kube.model import KubeContainer, KubePlan, KubePod
    from podctl.spec import ContainerSpec, PodSpec
    from podctl.state.containers import StateDB
else:
    from podctl.records import dataclass, field

FILE_LABEL = "io.podctl.kube.file"  # on the pod: the file it was played from ("-" = stdin)
KIND_LABEL = "io.podctl.kube.kind"  # on the pod: Pod, Deployment, DaemonSet or Job
ROLE_ANN = "io.podctl.kube.role"  # on each container: init, sidecar or app
NAME_ANN = "io.podctl.kube.name"  # on each container: its name in the YAML
FIELDS_ANN = "io.podctl.kube.fieldrefs"  # on a container: {VAR: field} for run-time fieldRefs
EXTRA_ANN = "io.podctl.kube.extra"  # on a container: probes, declared ports, runAsGroup
INIT_ANN = "io.podctl.kube.init"  # on the pod: its init containers (run once, then removed)
SLIRP_POD_IP = "10.0.2.100"  # the address slirp4netns gives the pod's tap device
SLIRP_HOST_IP = "10.0.2.2"


@dataclass(frozen=True)
class PlayOptions:
    file: str  # a path, or "-" for stdin
    configmaps: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    replace: bool = False
    start: bool = True
    network: str | None = None
    log_driver: str | None = None
    build: bool = False


@dataclass(frozen=True)
class PlayedPod:
    name: str
    id: str
    containers: tuple[str, ...] = ()  # ids of sidecars and app containers, in start order
    init_containers: tuple[str, ...] = ()  # ids of the init containers that ran (now removed)
    job_exit_code: int | None = None  # a Job: its app containers' exit code


@dataclass(frozen=True)
class PlayReport:
    pods: tuple[PlayedPod, ...] = ()
    volumes: tuple[str, ...] = ()  # claim volumes this play created
    warnings: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DownOptions:
    file: str
    force: bool = False  # also remove the claims' volumes play created


@dataclass(frozen=True)
class DownReport:
    stopped: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()  # pod ids
    volumes: tuple[str, ...] = ()  # the pods' own volumes (emptyDir, configMap ...)
    claims: tuple[str, ...] = ()  # claim volumes (--force)
    errors: tuple[PodctlError, ...] = ()


@dataclass(frozen=True)
class GenerateOptions:
    names: tuple[str, ...]
    kind: str = "pod"
    service: bool = False


def _check(reports: Any) -> None:
    for r in reports or ():
        err = getattr(r, "error", None)
        if err is not None:
            raise err


# -- play ------------------------------------------------------------------------------------


@dataclass
class _Created:
    """What this play has made so far, to undo on failure."""

    pods: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def _translate(opts: PlayOptions) -> KubePlan:
    from podctl.kube import load_and_translate

    return load_and_translate(opts.file, opts.configmaps, opts.publish)


def _source_label(file: str) -> str:
    return "-" if file == "-" else str(Path(file).absolute())


def _validate_state(cfg: Config, db: StateDB, plan: KubePlan, replace: bool) -> None:
    """Clashes with what exists, checked before anything is created."""
    from podctl.engine import pods

    problems: list[str] = []
    for pod in plan.pods:
        exists = pods.exists(cfg, pod.name)
        if exists and not replace:
            problems.append(f"pod {pod.name} already exists: use --replace to replace it, or "
                            f"`podctl kube down` to remove it")  # fmt: skip
            continue
        for c in pod.containers:
            if c.spec.name and db.name_taken(c.spec.name) and not exists:
                problems.append(f"container name {c.spec.name} is already in use")
        mine = set(kv.pod_volumes(db, pod.name)) if replace else set()
        for v in pod.volumes:
            if v.ephemeral and kv.db_has_volume(db, v.volume_name) and v.volume_name not in mine:
                problems.append(f"volume {v.volume_name} (for pod {pod.name}) already exists: "
                                "remove it, or use --replace if an earlier play left it")  # fmt: skip
    if problems:
        raise AlreadyExists("\n".join(problems))
    for claim in plan.volumes:
        bad = [k for k, _v in claim.options if k not in ("uid", "gid")]
        if claim.driver != "local":
            bad.insert(0, "driver")
        if bad and not kv.db_has_volume(db, claim.name):
            raise InvalidSpec(f"PersistentVolumeClaim {claim.name}: annotation "
                              f"volume.podman.io/{bad[0]} is not supported rootless here (only "
                              "uid and gid); mount a device or tmpfs with a hostPath or emptyDir")  # fmt: skip


def _pull(cfg: Config, plan: KubePlan) -> dict[str, str]:
    """Every image per its pull policy, before anything is created; image -> its User."""
    from podctl.image.api import PullPolicy
    from podctl.image.store import open_store

    store = open_store(cfg)
    users: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    for pod in plan.pods:
        for c in pod.containers:
            key = (c.spec.image, c.spec.pull)
            if key in done:
                continue
            done.add(key)
            try:
                image = store.ensure(c.spec.image, PullPolicy(c.spec.pull))
            except PodctlError as e:
                raise type(e)(f"pod {pod.name}: container {c.name}: {e.message}",
                              hint=e.hint) from e  # fmt: skip
            users[c.spec.image] = str((image.config.get("config") or {}).get("User") or "")
    return users


def _pod_spec(pod: KubePod, opts: PlayOptions, default_network: str) -> PodSpec:
    import json

    from podctl.kube.model import Role

    labels = {**dict(pod.spec.labels), FILE_LABEL: _source_label(opts.file), KIND_LABEL: pod.kind}
    annotations = dict(pod.annotations)
    inits = [{"name": c.name, "spec": c.spec.to_dict()} for c in pod.by_role(Role.INIT)]
    if inits:  # for `kube generate`: they are removed once they ran
        annotations[INIT_ANN] = json.dumps(inits, separators=(",", ":"))
    hosts = tuple(f"{h}:{a.ip}" for a in pod.host_aliases for h in a.hostnames)
    changes: dict[str, Any] = {
        "labels": tuple(labels.items()), "annotations": tuple(annotations.items()),
        "add_hosts": hosts,
        "dns_servers": pod.dns_servers, "dns_search": pod.dns_search,
        "dns_options": pod.dns_options, "containers": (),
    }  # fmt: skip
    if pod.spec.network != "host":  # hostNetwork: true wins, as in podman
        changes["network"] = opts.network or default_network
    if changes.get("network", pod.spec.network) == "host":
        # No network namespace to share: each member uses the host's network itself.
        changes["share"] = tuple(s for s in pod.spec.share if s != "net")
    return records.replace(pod.spec, **changes)


def _field_refs(c: KubeContainer) -> dict[str, str]:
    """Variables holding a run-time downward API field (resolved at play time)."""
    from podctl.kube.model import RUNTIME_FIELDS, placeholder

    marks = {placeholder(f): f for f in RUNTIME_FIELDS}
    return {k: marks[v] for k, v in c.spec.env if v in marks}


def _extra(c: KubeContainer) -> str:
    """What a ContainerSpec cannot hold (probes, declared ports, runAsGroup alone), as JSON
    for `kube generate`."""
    import json

    data: dict[str, Any] = {}
    if c.probes:
        data["probes"] = [records.asdict(p) for p in c.probes]
    if c.ports:
        data["ports"] = [records.asdict(p) for p in c.ports]
    if c.group is not None:
        data["group"] = c.group
    return json.dumps(data, separators=(",", ":")) if data else ""


def _container_spec(cfg: Config, c: KubeContainer, pod: PodSpec, pod_id: str, opts: PlayOptions,
                    refs: dict[str, str], image_user: str) -> ContainerSpec:  # fmt: skip
    import json

    ann = {**dict(c.spec.annotations), ROLE_ANN: c.role.value, NAME_ANN: c.name}
    if refs:
        ann[FIELDS_ANN] = json.dumps(refs, separators=(",", ":"))
    extra = _extra(c)
    if extra:
        ann[EXTRA_ANN] = extra
    spec = c.spec.replace(pod=pod_id, annotations=tuple(ann.items()))
    if opts.log_driver:
        spec = spec.replace(log_driver=opts.log_driver)
    if pod.network == "host":
        spec = spec.replace(network="host")
    if c.group is not None and spec.user is None:  # runAsGroup alone: the image's user, that group
        spec = spec.replace(user=f"{image_user.partition(':')[0] or '0'}:{c.group}")
    return kv.subpath_mounts(cfg, spec)


def _wait(cfg: Config, cid: str) -> int:
    from podctl.engine import containers

    codes = containers.wait(cfg, [cid], interval=0.02)
    return int(codes[0])


def _runtime_values(pod: KubePod, pod_id: str) -> dict[str, str]:
    import socket

    host_net = pod.spec.network == "host"
    ip = "127.0.0.1" if host_net else SLIRP_POD_IP
    host_ip = "127.0.0.1" if host_net else SLIRP_HOST_IP
    return {"status.podIP": ip, "status.podIPs": ip, "status.hostIP": host_ip,
            "status.hostIPs": host_ip, "spec.nodeName": socket.gethostname(),
            "metadata.uid": pod_id}  # fmt: skip


def _play_pod(cfg: Config, db: StateDB, plan: KubePlan, pod: KubePod, opts: PlayOptions,
              made: _Created, users: dict[str, str]) -> PlayedPod:  # fmt: skip
    from podctl.engine import containers as ctrs
    from podctl.engine import pods
    from podctl.engine.containers import CreateOptions
    from podctl.kube.model import Role

    kv.create_host_paths(pod)
    refs = {c.name: _field_refs(c) for c in pod.containers}
    pspec = _pod_spec(pod, opts, cfg.rootless_network_cmd)
    rec = pods.create(cfg, pods.PodCreateOptions(spec=pspec))
    made.pods.append(rec.id)
    if plan.runtime_fields():
        plan = plan.resolve_runtime(pod.name, _runtime_values(pod, rec.id))
        pod = next(p for p in plan.pods if p.name == pod.name)
    kv.create_pod_volumes(cfg, db, pod, made.volumes)

    def create(c: KubeContainer) -> str:
        crec = ctrs.create(cfg, CreateOptions(spec=_container_spec(cfg, c, pspec, rec.id, opts,
                                                                refs[c.name], users[c.spec.image])))  # fmt: skip
        made.containers.append(crec.id)
        return str(crec.id)

    inits: list[str] = []
    if opts.start:
        for c in pod.by_role(Role.INIT):  # (starting a member starts the infra container first)
            cid = create(c)
            inits.append(cid)
            _check(ctrs.start(cfg, [cid]))
            code = _wait(cfg, cid)
            if code != 0:
                raise RuntimeFailed(f"pod {pod.name}: init container {c.name} exited with code "
                                    f"{code}; the pod is not started")  # fmt: skip
            # Run once, as podman's default init containers: a later `pod start` must not
            # run them again beside the app containers.
            _check(ctrs.rm(cfg, [cid], force=True))
            made.containers.remove(cid)
    else:
        if pod.by_role(Role.INIT):
            from podctl.log import warn

            warn("pod %s: with --start=false its init containers are created as ordinary members: "
                 "`pod start` starts them beside the others, not before", pod.name)  # fmt: skip
        for c in pod.by_role(Role.INIT):
            inits.append(create(c))
    members: list[str] = []
    for role in (Role.SIDECAR, Role.APP):
        for c in pod.by_role(role):
            cid = create(c)
            members.append(cid)
            if opts.start and role == Role.SIDECAR:
                _check(ctrs.start(cfg, [cid]))
    if opts.start:
        _check(pods.start(cfg, [rec.id]))  # the app containers, in order (running ones stay)
    job_code: int | None = None
    if pod.job and opts.start:
        apps = [cid for cid, c in zip(members, [*pod.by_role(Role.SIDECAR), *pod.by_role(Role.APP)],
                                      strict=True) if c.role == Role.APP]  # fmt: skip
        codes = [_wait(cfg, cid) for cid in apps]
        job_code = next((c for c in codes if c != 0), 0)
    return PlayedPod(pod.name, rec.id, tuple(members), tuple(inits), job_code)


def _undo(cfg: Config, db: StateDB, made: _Created) -> None:
    from podctl.engine import containers, pods

    with contextlib.suppress(Exception):
        pods.rm(cfg, list(reversed(made.pods)), force=True)
    with contextlib.suppress(Exception):
        containers.rm(cfg, list(reversed(made.containers)), force=True, ignore=True)
    with contextlib.suppress(Exception):
        kv.remove_volumes(cfg, db, made.volumes)


def _remove_pod(cfg: Config, db: StateDB, name: str) -> tuple[str, list[str]]:
    """Remove pod NAME (made by play) and its ephemeral volumes: (pod id, volumes)."""
    from podctl.engine import pods

    rec = pods.find(cfg, name)
    _check(pods.rm(cfg, [rec.id], force=True))
    return rec.id, kv.remove_volumes(cfg, db, kv.pod_volumes(db, name))


def play(cfg: Config, opts: PlayOptions) -> PlayReport:
    from podctl.engine import lifecycle as lc
    from podctl.engine import pods
    from podctl.rootless import userns

    if opts.build:
        raise InvalidSpec("--build: building images from a Containerfile is not supported; "
                          "push the image to a registry or use --build=false")  # fmt: skip
    plan = _translate(opts)  # every document is checked here; nothing exists yet
    if plan.warnings:
        from podctl.log import warn

        for w in plan.warnings:  # now, so that they show even when a later step fails
            warn("%s", w)
    kv.check_host_paths(plan.pods)
    userns.join(cfg)
    db = lc.open_db(cfg)
    _validate_state(cfg, db, plan, opts.replace)
    users = _pull(cfg, plan)
    if opts.replace:
        for pod in plan.pods:
            if pods.exists(cfg, pod.name):
                _remove_pod(cfg, db, pod.name)
            else:  # volumes an interrupted play left behind
                kv.remove_volumes(cfg, db, kv.pod_volumes(db, pod.name))
    made = _Created()
    played: list[PlayedPod] = []
    try:
        kv.create_claims(cfg, db, plan.volumes, made.volumes)
        claims = tuple(made.volumes)
        for pod in plan.pods:
            played.append(_play_pod(cfg, db, plan, pod, opts, made, users))
    except BaseException:
        _undo(cfg, db, made)
        raise
    return PlayReport(pods=tuple(played), volumes=claims,
                      warnings=tuple(str(w) for w in plan.warnings), skipped=plan.skipped)  # fmt: skip


# -- down ------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(file: str) -> tuple[list[str], list[str]]:
    """Pod names and claim names a file makes, read leniently (down must work even when
    the file's ConfigMaps came from --configmap files that are not given now)."""
    from podctl.kube import loader

    pods: list[str] = []
    claims: list[str] = []
    for doc in loader.load(file):
        d = doc.value
        if not isinstance(d, dict):
            continue
        meta = _dict(d.get("metadata"))
        name = meta.get("name") if isinstance(meta.get("name"), str) else None
        kind = d.get("kind")
        spec = _dict(d.get("spec"))
        if kind == "PersistentVolumeClaim" and name:
            claims.append(name)
            continue
        if kind == "Pod":
            pod_spec = spec
        elif kind in ("Deployment", "DaemonSet", "Job"):
            pod_spec = _dict(_dict(spec.get("template")).get("spec"))
            name = f"{name}-pod" if name else None
        else:
            continue
        if name:
            pods.append(name)
        for v in pod_spec.get("volumes") or ():
            pvc = v.get("persistentVolumeClaim") if isinstance(v, dict) else None
            if isinstance(pvc, dict) and isinstance(pvc.get("claimName"), str):
                claims.append(pvc["claimName"])
    return pods, claims


def down(cfg: Config, opts: DownOptions) -> DownReport:
    from podctl.engine import lifecycle as lc
    from podctl.engine import pods
    from podctl.rootless import userns

    pod_names, claims = _names(opts.file)
    if not cfg.state_db.exists():
        return DownReport()
    userns.join(cfg)
    db = lc.open_db(cfg)
    removed: list[str] = []
    volumes: list[str] = []
    errors: list[PodctlError] = []
    for name in pod_names:
        try:
            rec = pods.find(cfg, name)
        except NotFound:  # only volumes an interrupted play left behind, if anything
            volumes += kv.remove_volumes(cfg, db, kv.pod_volumes(db, name))
            continue
        if FILE_LABEL not in rec.labels:
            errors.append(InvalidSpec(f"pod {name} was not created by kube play; left alone"))
            continue
        try:
            pid, vols = _remove_pod(cfg, db, name)
            removed.append(pid)
            volumes += vols
        except PodctlError as e:
            errors.append(e)
    gone: list[str] = []
    if opts.force:
        mine = [c for c in dict.fromkeys(claims) if kv.db_has_volume(db, c)
                and db.get_volume(c).labels.get(kv.CLAIM_LABEL) == "true"]  # fmt: skip
        gone = kv.remove_volumes(cfg, db, mine)
    return DownReport(stopped=tuple(removed), removed=tuple(removed), volumes=tuple(volumes),
                      claims=tuple(gone), errors=tuple(errors))  # fmt: skip


# -- generate --------------------------------------------------------------------------------


def _strip(pairs: Sequence[tuple[str, str]] | dict[str, str]) -> tuple[tuple[str, str], ...]:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return tuple((k, v) for k, v in items if not k.startswith("io.podctl.kube."))


def _unbind_subpaths(cfg: Config, spec: ContainerSpec) -> ContainerSpec:
    """Undo `subpath_mounts`: a bind of part of a volume is that volume with a subPath."""
    from podctl.spec import Mount, MountType

    root = str(cfg.root / "volumes") + "/"
    mounts = []
    for m in spec.mounts:
        if m.type == MountType.BIND and m.source.startswith(root) and "/_data/" in m.source:
            vol, _, sub = m.source[len(root):].partition("/_data/")
            m = Mount(MountType.VOLUME, m.destination, vol, m.read_only, m.chown,
                      (*m.options, f"subpath={sub}"))  # fmt: skip
        mounts.append(m)
    return spec.replace(mounts=tuple(mounts))


def _read_volume(cfg: Config, db: StateDB, name: str) -> tuple[Any, Any] | None:
    """A volume play made for a pod -> (KubeVolume, ConfigData or None)."""
    from podctl.engine import lifecycle as lc
    from podctl.kube.model import ConfigData, KeyToPath, KubeVolume, VolumeFile, VolumeKind

    try:
        rec = db.get_volume(name)
    except NotFound:
        return None
    labels = rec.labels
    if kv.POD_LABEL not in labels:
        return None
    kind = VolumeKind(labels.get(kv.KIND_LABEL, "emptyDir"))
    yaml_name = labels.get(kv.VOLUME_LABEL, name)
    if kind == VolumeKind.EMPTY_DIR:
        return KubeVolume(yaml_name, kind, volume_name=name, medium=labels.get(kv.MEDIUM_LABEL, ""),
                          size_limit=labels.get(kv.SIZE_LABEL, "")), None  # fmt: skip
    data_dir = lc.volume_path(cfg, name)
    files: list[VolumeFile] = []
    for dirpath, _dirs, fnames in os.walk(data_dir):
        for fn in sorted(fnames):
            p = Path(dirpath) / fn
            with contextlib.suppress(OSError):
                files.append(VolumeFile(str(p.relative_to(data_dir)), p.read_bytes(),
                                        p.stat().st_mode & 0o777))  # fmt: skip
    if kind == VolumeKind.DOWNWARD_API or kind == VolumeKind.PROJECTED:
        kind = VolumeKind.CONFIG_MAP  # their values are frozen now: carried as a ConfigMap
    ref = labels.get(kv.REF_LABEL) or name
    keyed = [(f.path.replace("/", "-"), f) for f in files]
    items = tuple(KeyToPath(k, f.path, f.mode) for k, f in keyed)
    vol = KubeVolume(yaml_name, kind, volume_name=name, ref=ref, items=items, read_only=True,
                     files=tuple(files))  # fmt: skip
    return vol, ConfigData(ref, tuple((k, f.content) for k, f in keyed))


def _kube_container(name: str, role: Any, spec: ContainerSpec) -> KubeContainer:
    """A KubeContainer again, from a stored spec and its EXTRA_ANN."""
    import json

    from podctl.kube.model import ContainerPort, KubeContainer, Probe, ProbeAction, ProbeKind

    extra = json.loads(dict(spec.annotations).get(EXTRA_ANN) or "{}")
    probes = tuple(
        Probe(**{**p, "kind": ProbeKind(p["kind"]), "action": ProbeAction(p["action"]),
                 "command": tuple(p["command"]),
                 "headers": tuple(tuple(h) for h in p["headers"])})
        for p in extra.get("probes", ())
    )  # fmt: skip
    ports = tuple(ContainerPort(**p) for p in extra.get("ports", ()))
    group = extra.get("group")
    clean = _clean_spec(spec)
    if group is not None:
        clean = clean.replace(user=None)  # (play set the image's user with this group)
    return KubeContainer(name=name, role=role, spec=clean, probes=probes, ports=ports,
                         group=group)  # fmt: skip


def _clean_spec(spec: ContainerSpec) -> ContainerSpec:
    """A member's stored spec as kube generate should see it (no podctl bookkeeping)."""
    import json

    from podctl.kube.model import placeholder

    ann = dict(spec.annotations)
    refs = json.loads(ann.get(FIELDS_ANN, "{}"))
    env = tuple((k, placeholder(refs[k]) if k in refs else v) for k, v in spec.env)
    pull = "always" if spec.pull == "newer" else spec.pull
    return spec.replace(annotations=_strip(spec.annotations), pull=pull, env=env, pod=None)


def _grace(containers: Sequence[KubeContainer]) -> int | None:
    """terminationGracePeriodSeconds: the stop timeout all containers share, unless the default."""
    timeouts = {c.spec.stop_timeout for c in containers}
    return timeouts.pop() if len(timeouts) == 1 and 10 not in timeouts else None


def _kube_pod(cfg: Config, db: StateDB, prec: Any, members: list[Any]) -> Any:
    import json

    from podctl.kube.model import HostAlias, KubePod, Role, VolumeKind
    from podctl.spec import ContainerSpec, PodSpec

    pspec = PodSpec.from_dict(prec.spec)
    kind = prec.labels.get(KIND_LABEL, "Pod")
    containers: list[KubeContainer] = []
    volumes: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    for init in json.loads(dict(pspec.annotations).get(INIT_ANN, "[]")):
        spec = ContainerSpec.from_dict(init["spec"])
        containers.append(_kube_container(init["name"], Role.INIT, spec))
    for m in sorted(members, key=lambda r: r.created):
        if m.id == prec.infra_id:
            continue
        spec = _unbind_subpaths(cfg, ContainerSpec.from_dict(m.spec))
        ann = dict(spec.annotations)
        role = Role(ann.get(ROLE_ANN, "app"))
        if role == Role.INIT:  # (--start=false keeps them; the pod's INIT_ANN lists them)
            continue
        short = m.name[len(prec.name) + 1:] if m.name.startswith(prec.name + "-") else m.name
        name = ann.get(NAME_ANN, short)
        containers.append(_kube_container(name, role, spec))
    for mnt in (mnt for c in containers for mnt in c.spec.mounts):
        if mnt.source and mnt.source not in volumes:
            found = _read_volume(cfg, db, mnt.source)
            if found is not None:
                volumes[mnt.source] = found[0]
                if found[1] is not None:
                    configs[found[1].name] = (found[0].kind, found[1])
    aliases: dict[str, list[str]] = {}
    for entry in pspec.add_hosts:
        host, _, ip = entry.partition(":")
        aliases.setdefault(ip, []).append(host)
    podspec = records.replace(pspec, labels=_strip(pspec.labels),
                                  containers=tuple(c.spec for c in containers))  # fmt: skip
    pod = KubePod(spec=podspec, kind=kind, source_name=prec.name, containers=tuple(containers),
                  volumes=tuple(volumes.values()), annotations=_strip(pspec.annotations),
                  host_aliases=tuple(HostAlias(ip, tuple(h)) for ip, h in aliases.items()),
                  dns_servers=pspec.dns_servers, dns_search=pspec.dns_search,
                  dns_options=pspec.dns_options, stop_timeout=_grace(containers))  # fmt: skip
    cms = [c for k, c in configs.values() if k == VolumeKind.CONFIG_MAP]
    secrets = [c for k, c in configs.values() if k == VolumeKind.SECRET]
    return pod, cms, secrets


def generate(cfg: Config, opts: GenerateOptions) -> str:
    """Kubernetes YAML for the pods, containers and volumes named in OPTS."""
    from podctl.engine import lifecycle as lc
    from podctl.engine import pods
    from podctl.kube import generate as kube_generate

    if not opts.names:
        raise InvalidSpec("provide at least one pod, container or volume name")
    if not cfg.state_db.exists():
        raise NotFound(f"{opts.names[0]}: no such pod, container or volume")
    db = lc.open_db(cfg)
    found: list[Any] = []
    configmaps: list[Any] = []
    secrets: list[Any] = []
    for name in opts.names:
        if pods.exists(cfg, name):
            prec = pods.find(cfg, name)
            pod, cms, secs = _kube_pod(cfg, db, prec, pods.members(cfg, prec.id))
            found.append(pod)
            configmaps += cms
            secrets += secs
            continue
        try:
            crec = db.lookup_container(name)
        except NotFound:
            crec = None
        if crec is not None:
            found.append(_clean_spec(_unbind_subpaths(cfg, lc.spec_of(crec))))
            continue
        try:
            found.append(db.get_volume(name))
        except NotFound as e:
            raise NotFound(f"{name}: no such pod, container or volume") from e
    return str(kube_generate(found, kind=opts.kind, service=opts.service,
                             configmaps=configmaps, secrets=secrets))  # fmt: skip
