"""State shared while translating: options, diagnostics, ConfigMaps/Secrets, the current pod."""

from __future__ import annotations

import os

from podctl.kube.fields import Diagnostics
from podctl.kube.model import ConfigData, KubeVolume
from podctl.spec import RestartPolicy

# podctl.records and not typing's TYPE_CHECKING: `kube play` start-up (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:
    from podctl.records import dataclass, field


def _node_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


@dataclass(frozen=True)
class TranslateOptions:
    """What the caller knows that the YAML does not.

    publish: `--publish` values, `[[ip:][hostPort]:]containerPort[/protocol]`, overriding or adding
    port mappings. cgroup_limits: whether resource limits can be enforced here (if not, each limit
    gives a warning; the values stay in the spec). node_cpus / node_memory: what the downward API
    reports for a limit that is not set (the node's allocatable resources).
    """

    publish: tuple[str, ...] = ()
    cgroup_limits: bool = False
    node_cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    node_memory: int = field(default_factory=_node_memory)


@dataclass
class Scope:
    diag: Diagnostics
    options: TranslateOptions
    configmaps: dict[str, ConfigData] = field(default_factory=dict)
    secrets: dict[str, ConfigData] = field(default_factory=dict)


@dataclass
class PodInfo:
    """The pod being translated, as its containers need to see it."""

    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    restart: RestartPolicy
    stop_timeout: int | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    security_opt: tuple[str, ...] = ()
    volumes: dict[str, KubeVolume] = field(default_factory=dict)
    unsupported_volumes: dict[str, str] = field(default_factory=dict)  # name -> its type
    # containerName -> {"limits.cpu": Fraction, ...} for the downward API's resourceFieldRef
    resources: dict[str, dict[str, object]] = field(default_factory=dict)
