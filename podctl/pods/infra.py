"""The infra container: catatonit from the host in an empty rootfs, holding the pod's namespaces."""

from __future__ import annotations

from podctl import run as gateway
from podctl.errors import RuntimeFailed
from podctl.runtime.paths import ContainerPaths

# Not typing's TYPE_CHECKING: typing costs start-up time on the infra's start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from podctl.runtime.ocispec import ResolvedMount
    from podctl.spec import ContainerSpec, PodSpec

INFRA_IMAGE = "localhost/podctl-infra:latest"  # a name only: nothing is pulled
CATATONIT = "/catatonit"


def catatonit_path() -> str:
    path = gateway.which("catatonit")
    if not path:
        raise RuntimeFailed("catatonit is not installed: the pod's infra container needs it "
                            "(apt-get install catatonit)")  # fmt: skip
    return path


def make_rootfs(paths: ContainerPaths) -> str:
    """An empty directory as the rootfs (the runtime creates the mount points it needs)."""
    from podctl.runtime import rootfs

    rootfs.prepare_dirs(paths)
    for d in ("etc", "dev", "proc", "sys", "tmp", "run"):
        (paths.merged / d).mkdir(exist_ok=True, mode=0o755)
    return "copy"  # nothing mounted: nothing to unmount


def catatonit_mount() -> ResolvedMount:
    from podctl.runtime.ocispec import ResolvedMount

    return ResolvedMount(CATATONIT, "bind", catatonit_path(), ("ro", "nosuid", "nodev"))


def infra_spec(pod: PodSpec, pod_id: str, name: str) -> ContainerSpec:
    from podctl.spec import ContainerSpec

    return ContainerSpec(
        image=INFRA_IMAGE, name=name, entrypoint=(CATATONIT, "-P"), command=(),
        hostname=pod.hostname or pod.name, network=pod.network, ports=pod.ports,
        dns_servers=pod.dns_servers, dns_search=pod.dns_search, dns_options=pod.dns_options,
        add_hosts=pod.add_hosts, pod=pod_id, stop_timeout=10, read_only=False,
    )  # fmt: skip
