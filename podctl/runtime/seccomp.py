"""containers-common's seccomp.json (docker's format) turned into the OCI runtime-spec form.

Rules are kept or dropped by the container's capabilities, the host architecture and the
kernel version, exactly as podman filters them; the result is cached per capability set.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from podctl import fastjson as json
from podctl.errors import InvalidSpec

# Not typing.TYPE_CHECKING / platform: both cost start-up time on every `run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PROFILES = (
    Path("/usr/share/containers/seccomp.json"),
    Path("/etc/containers/seccomp.json"),
)

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}  # fmt: skip
_SCMP_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "386": "SCMP_ARCH_X86",
              "arm": "SCMP_ARCH_ARM", "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
              "riscv64": "SCMP_ARCH_RISCV64"}  # fmt: skip


def default_profile_path() -> Path | None:
    for p in reversed(DEFAULT_PROFILES):
        if p.is_file():
            return p
    return None


def _kernel_version() -> tuple[int, ...]:
    rel = os.uname().release.split("-")[0]
    out = []
    for part in rel.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def _version(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.split(".")[:2] if x.isdigit())


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict[str, Any]:
    try:
        with open(path) as f:
            data = json.loads(f.read())
    except (OSError, ValueError) as e:
        raise InvalidSpec(f"{path}: cannot read seccomp profile: {e}") from e
    if not isinstance(data, dict):
        raise InvalidSpec(f"{path}: a seccomp profile must be a JSON object")
    return data


def load_profile(path: Path, caps: frozenset[str]) -> dict[str, Any]:
    """The OCI `linux.seccomp` object for a container holding CAPS ("CAP_..." names)."""
    try:
        mtime = path.stat().st_mtime
    except OSError as e:
        raise InvalidSpec(f"seccomp profile {path}: {e.strerror}") from e
    return convert(_load(str(path), mtime), caps)


def convert(profile: dict[str, Any], caps: frozenset[str]) -> dict[str, Any]:
    if "syscalls" in profile and "archMap" not in profile and "architectures" in profile:
        return profile  # already in OCI form
    machine = os.uname().machine
    goarch = _GOARCH.get(machine, machine)
    native = _SCMP_ARCH.get(goarch)
    arches: list[str] = []
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            arches = [str(native), *entry.get("subArchitectures", [])]
    if not arches and native:
        arches = [native]
    kernel = _kernel_version()
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ERRNO")}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    out["architectures"] = arches
    syscalls = []
    for rule in profile.get("syscalls") or []:
        inc = rule.get("includes") or {}
        exc = rule.get("excludes") or {}
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if exc.get("arches") and goarch in exc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        if inc.get("minKernel") and kernel < _version(inc["minKernel"]):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        if not names:
            continue
        item: dict[str, Any] = {"names": names, "action": rule["action"]}
        if rule.get("args"):
            item["args"] = [
                {k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a} for a in rule["args"]
            ]
        if rule.get("errnoRet") is not None:
            item["errnoRet"] = rule["errnoRet"]
        syscalls.append(item)
    out["syscalls"] = syscalls
    return out
