"""Kubernetes YAML <-> podctl specs. Pure translators: nothing here spawns or writes.

For the integrator (kube play / kube down / kube generate):

    from podctl.kube import load_and_translate, generate

    plan = load_and_translate("web.yaml", configmaps=["cm.yaml"], publish=["8080:80"])
    for w in plan.warnings:          # KubeWarning; str(w) = "FILE:LINE:COL: field.path: message"
        warn(str(w))
    for vol in plan.volumes:         # NamedVolume: PersistentVolumeClaims (create if missing)
        ...
    for pod in plan.pods:            # KubePod
        pod.spec                     # PodSpec; .containers are ContainerSpecs in start order
        pod.containers               # KubeContainer: .role (init/sidecar/app), .probes, .spec
        pod.volumes                  # KubeVolume: ephemeral ones (emptyDir, configMap, secret,
                                     # downwardAPI) are created as `volume_name` and filled
                                     # with `.files`; hostPath ones are checked/created per type
        pod.job                      # a Job: wait for the app containers, record the exit code
    if plan.runtime_fields():        # downward API values known only at run time
        plan = plan.resolve_runtime(pod.name, {"status.podIP": ip, "spec.nodeName": host,
                                               "metadata.uid": pod_id})
    plan.down_targets()              # kube down: pods, their ephemeral volumes, claim volumes

    # kube generate: records are KubePod, PodSpec, ContainerSpec, container records (dict or
    # object with a `spec` dict), podman-style inspect dicts, NamedVolume / volume records.
    text = generate(records, kind="pod" | "deployment" | "daemonset" | "job", service=True)

Play-time duties the translator leaves to its caller: create each `KubeVolume` with
`ephemeral` true as volume `volume_name` (emptyDir `medium == "Memory"`: tmpfs-backed) and
write its `files` (path relative to the volume, mode); check or create hostPath sources per
`host_path_type`; honour `Mount.options` `subpath=X`; run `Role.INIT` containers one by one
to completion (a failure fails the pod), start `Role.SIDECAR` ones in order, then the apps;
turn `KubeContainer.healthcheck` into the container's healthcheck; apply `host_aliases`,
`dns_*` and `KubeContainer.group`.

Errors are `podctl.errors.InvalidSpec` whose message holds one `FILE:LINE:COLUMN: path: msg`
line per problem of the whole input (nothing should be created when it is raised).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

# Not typing's TYPE_CHECKING: `kube down` (which only reads YAML) skips typing's start-up cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podctl.kube.context import TranslateOptions
    from podctl.kube.model import KubePlan


def load_and_translate(
    path_or_dash: str | Path,
    configmaps: Iterable[str | Path] = (),
    publish: Sequence[str] = (),
    *,
    cgroup_limits: bool = False,
    options: TranslateOptions | None = None,
) -> KubePlan:
    """Read PATH (`-` = stdin) and the `--configmap` FILES, validate and translate them.

    cgroup_limits: whether resource limits can be enforced (else each limit warns).
    options: full TranslateOptions (overrides publish and cgroup_limits).
    """
    from podctl import records
    from podctl.kube import loader
    from podctl.kube.context import TranslateOptions
    from podctl.kube.translate import translate

    docs = loader.load(path_or_dash)
    cm_docs = [d for f in configmaps for d in loader.load(f)]
    if options is None:
        options = TranslateOptions(publish=tuple(publish), cgroup_limits=cgroup_limits)
    elif publish:
        options = records.replace(options, publish=tuple(publish))
    return translate(docs, configmaps=cm_docs, options=options)


def translate_text(text: str, file: str = "<string>", **kwargs: Any) -> KubePlan:
    """Like load_and_translate, for YAML already in memory."""
    from podctl.kube import loader
    from podctl.kube.translate import translate

    return translate(loader.parse(text, file), **kwargs)


def generate(records: Sequence[Any], kind: str = "pod", service: bool = False, **kw: Any) -> str:
    """Kubernetes YAML for pods / containers / volumes; see podctl.kube.generate.generate."""
    from podctl.kube.generate import generate as _generate

    return _generate(records, kind=kind, service=service, **kw)
