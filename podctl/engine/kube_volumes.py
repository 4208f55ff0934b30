"""Pod volumes of `kube play`: check host paths, create and fill the volumes, remove them.

Every volume play creates carries labels saying so (`io.podctl.kube.*`), so `kube down`
removes exactly those and `kube generate` can tell a configMap volume from a claim.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.errors import InvalidSpec, PodctlError, StoreError

# Not typing's TYPE_CHECKING: typing itself costs start-up time on `kube down`.
TYPE_CHECKING = False
if TYPE_CHECKING:  # (not imported at run time: `kube down` needs none of them)
    from podctl.kube.model import KubePod, KubeVolume, NamedVolume
    from podctl.spec import ContainerSpec
    from podctl.state.containers import StateDB

# Kinds and hostPath types are StrEnums: plain strings compare and hash equal to them.
HOST_PATH = "hostPath"
DIRECTORY_OR_CREATE = "DirectoryOrCreate"
FILE_OR_CREATE = "FileOrCreate"
ANY_TYPE = ""

LABEL_PREFIX = "io.podctl.kube."
POD_LABEL = "io.podctl.kube.pod"  # an ephemeral volume: the pod it was made for
VOLUME_LABEL = "io.podctl.kube.volume"  # ... its name in the YAML
KIND_LABEL = "io.podctl.kube.kind"  # ... its kind (emptyDir, configMap, ...)
REF_LABEL = "io.podctl.kube.ref"  # ... the ConfigMap / Secret it holds
MEDIUM_LABEL = "io.podctl.kube.medium"  # ... an emptyDir's medium
SIZE_LABEL = "io.podctl.kube.size"  # ... and its sizeLimit
CLAIM_LABEL = "io.podctl.kube.claim"  # a PersistentVolumeClaim volume play created

_HOST_CHECKS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a regular file"),
    "Socket": (stat.S_ISSOCK, "a socket"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


def check_host_paths(pods: tuple[KubePod, ...]) -> None:
    """Before anything is created: each hostPath with a type must be what the type says."""
    problems: list[str] = []
    for pod in pods:
        for v in pod.volumes:
            if v.kind != HOST_PATH:
                continue
            where = f"pod {pod.name}: volume {v.name}: hostPath {v.host_path}"
            try:
                st = os.stat(v.host_path)
            except FileNotFoundError:
                if v.host_path_type in _HOST_CHECKS:
                    problems.append(f"{where}: does not exist (type {v.host_path_type.value})")
                elif v.host_path_type == ANY_TYPE:
                    problems.append(f"{where}: does not exist (set type: DirectoryOrCreate "
                                    "to create it)")  # fmt: skip
                continue
            except OSError as e:
                problems.append(f"{where}: {e.strerror}")
                continue
            check = _HOST_CHECKS.get(v.host_path_type)
            if check is not None and not check[0](st.st_mode):
                problems.append(f"{where}: is not {check[1]} (type {v.host_path_type.value})")
            if v.host_path_type == DIRECTORY_OR_CREATE and not stat.S_ISDIR(st.st_mode):
                problems.append(f"{where}: exists and is not a directory")
            if v.host_path_type == FILE_OR_CREATE and not stat.S_ISREG(st.st_mode):
                problems.append(f"{where}: exists and is not a regular file")
    if problems:
        raise InvalidSpec("\n".join(problems))


def create_host_paths(pod: KubePod) -> None:
    for v in pod.volumes:
        if v.kind != HOST_PATH:
            continue
        try:
            if v.host_path_type == DIRECTORY_OR_CREATE:
                os.makedirs(v.host_path, mode=0o755, exist_ok=True)
            elif v.host_path_type == FILE_OR_CREATE and not os.path.exists(v.host_path):
                os.makedirs(os.path.dirname(v.host_path), mode=0o755, exist_ok=True)
                os.close(os.open(v.host_path, os.O_WRONLY | os.O_CREAT, 0o644))
        except OSError as e:
            raise InvalidSpec(f"pod {pod.name}: volume {v.name}: cannot create hostPath "
                              f"{v.host_path}: {e.strerror}") from e  # fmt: skip


def _write_files(data: Path, vol: KubeVolume) -> None:
    for f in vol.files:
        target = data / f.path
        if not target.resolve().is_relative_to(data.resolve()):
            raise InvalidSpec(f"volume {vol.name}: file {f.path!r} escapes the volume")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, f.content)
            os.fchmod(fd, f.mode)
        finally:
            os.close(fd)


def create_pod_volumes(cfg: Config, db: StateDB, pod: KubePod, created: list[str]) -> None:
    """Create and fill POD's ephemeral volumes (inside the user namespace); names go to CREATED."""
    for v in pod.volumes:
        if not v.ephemeral:
            continue
        labels = {POD_LABEL: pod.name, VOLUME_LABEL: v.name, KIND_LABEL: v.kind.value}
        if v.ref:
            labels[REF_LABEL] = v.ref
        if v.medium:
            labels[MEDIUM_LABEL] = v.medium
        if v.size_limit:
            labels[SIZE_LABEL] = v.size_limit
        lc.new_volume(cfg, db, v.volume_name, labels=labels, options={"nocopy": ""})
        created.append(v.volume_name)
        data = lc.volume_path(cfg, v.volume_name)
        # Never filled from the image: an emptyDir starts empty, a configMap holds its files.
        (data.parent / ".copied-up").touch()
        try:
            if v.kind == "emptyDir":
                if v.medium == "Memory":
                    _mount_tmpfs(data, v.size_limit)
                os.chmod(data, 0o777)  # as the kubelet makes it: any container user may write
            _write_files(data, v)
        except OSError as e:
            raise StoreError(f"volume {v.volume_name}: cannot prepare it: {e}") from e


def _mount_tmpfs(data: Path, size_limit: str) -> None:
    """emptyDir medium Memory: a tmpfs on the volume's directory, in the user's mount
    namespace (kept by the pause process), so every member's bind mount sees the same one."""
    from podctl.kube.quantity import parse_quantity
    from podctl.rootless import kernel

    opts = "mode=0777"
    if size_limit:
        opts += f",size={int(-(-parse_quantity(size_limit) // 1))}"
    kernel.mount("tmpfs", str(data), "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, opts)


def _unmount(data: Path) -> None:
    from podctl.rootless import kernel

    if os.path.ismount(data):
        with contextlib.suppress(OSError):
            kernel.umount(str(data), kernel.MNT_DETACH)


def create_claims(cfg: Config, db: StateDB, claims: tuple[NamedVolume, ...], created: list[str]) -> None:
    """PersistentVolumeClaims become named volumes; existing ones are reused as they are."""
    for claim in claims:
        if db_has_volume(db, claim.name):
            continue
        labels = {**dict(claim.labels), CLAIM_LABEL: "true"}
        options = {k: v for k, v in claim.options if k in ("uid", "gid")}
        lc.new_volume(cfg, db, claim.name, labels=labels, options=options)
        created.append(claim.name)
        data = lc.volume_path(cfg, claim.name)
        if options:
            with contextlib.suppress(OSError):
                os.chown(data, int(options.get("uid", -1)), int(options.get("gid", -1)))


def db_has_volume(db: StateDB, name: str) -> bool:
    from podctl.errors import NotFound

    try:
        db.get_volume(name)
    except NotFound:
        return False
    return True


def remove_volumes(cfg: Config, db: StateDB, names: list[str]) -> list[str]:
    """Remove volumes NAMES (their users are gone already); the names removed."""
    out: list[str] = []
    for name in names:
        if not db_has_volume(db, name):
            continue
        try:
            _unmount(lc.volume_path(cfg, name))
            lc.remove_volume_dir(cfg, db, name)
            out.append(name)
        except (OSError, PodctlError):
            continue
    return out


def pod_volumes(db: StateDB, pod: str) -> list[str]:
    """The ephemeral volumes play made for the pod named POD."""
    return [v.name for v in db.volumes() if v.labels.get(POD_LABEL) == pod]


def subpath_mounts(cfg: Config, spec: ContainerSpec) -> ContainerSpec:
    """A volume mount with `subpath=X` becomes a bind mount of that part of the volume (made
    if missing, as the kubelet does), so the runtime needs no sub-path support."""
    from podctl.records import replace
    from podctl.spec import Mount, MountType

    mounts: list[Mount] = []
    changed = False
    for m in spec.mounts:
        sub = next((o[len("subpath="):] for o in m.options if o.startswith("subpath=")), "")
        if m.type != MountType.VOLUME or not sub or not m.source:
            mounts.append(m)
            continue
        data = lc.volume_path(cfg, m.source)
        source = data / sub
        if not source.resolve().is_relative_to(data.resolve()):
            raise InvalidSpec(f"container {spec.name}: subPath {sub!r} escapes volume {m.source}")
        if not source.exists():
            source.mkdir(parents=True, mode=0o755)
        rest = tuple(o for o in m.options if not o.startswith("subpath="))
        mounts.append(Mount(MountType.BIND, m.destination, str(source), m.read_only, m.chown, rest))
        changed = True
    return replace(spec, mounts=tuple(mounts)) if changed else spec
