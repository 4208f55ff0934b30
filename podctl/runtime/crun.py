"""What crun needs on this kind of host: no view of a hybrid cgroup v2 tree, and a cache of
compiled seccomp filters.

crun 1.8 refuses every container while the v2 hierarchy of a hybrid host
(/sys/fs/cgroup/unified) has controllers, even with `--cgroup-manager=disabled`. Rootless
podctl gets no cgroups here anyway, so when crun is selected podctl covers that hierarchy
with an empty tmpfs inside its own (pause process) mount namespace, which nothing else in
podctl uses, and passes `--cgroup-manager=disabled` to every crun call. On other hosts crun
runs as it is.

crun compiles the seccomp profile on every container start (~14 ms); Debian's crun has no
cache of its own. The compiled filter it leaves in its state dir is kept under
`<runroot>/seccomp-bpf/<key>`, the key hashing every input of the compilation (the profile as
written, `crun --version`, the libseccomp library and the kernel), and later containers get it
through crun's `run.oci.seccomp_bpf_data` annotation.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from podctl import fastjson as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

UNIFIED = "/sys/fs/cgroup/unified"
HIDE_SOURCE = "podctl-nocgroup"  # the tmpfs's source name in mountinfo: ours
CGROUP_ARGS = ("--cgroup-manager=disabled",)
BPF_ANNOTATION = "run.oci.seccomp_bpf_data"
BPF_DIR = "seccomp-bpf"


def is_crun(path: str) -> bool:
    return os.path.basename(path).startswith("crun")


def mounts_at(target: str) -> list[tuple[str, str]]:
    """(fstype, source) of each mount on TARGET, bottom to top, in this mount namespace."""
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields = left.split()
                if len(fields) > 4 and fields[4] == target:
                    r = right.split()
                    out.append((r[0], r[1] if len(r) > 1 else ""))
    except OSError:
        pass
    return out


def _controllers() -> bool:
    try:
        with open(f"{UNIFIED}/cgroup.controllers") as f:
            return bool(f.read().strip())
    except OSError:
        return False


def hybrid_host() -> bool:
    """A cgroup v2 hierarchy with controllers at UNIFIED (covered by our tmpfs or not)."""
    mounts = mounts_at(UNIFIED)
    if not any(t == "cgroup2" for t, _ in mounts):
        return False
    return mounts[-1] == ("tmpfs", HIDE_SOURCE) or (mounts[-1][0] == "cgroup2" and _controllers())


def hide_unified(lock_dir: Path) -> bool:
    """Cover a hybrid host's cgroup v2 hierarchy with an empty read-only tmpfs in this mount
    namespace (only inside the user namespace: never the host's); idempotent. True when crun
    will not see controllers there."""
    mounts = mounts_at(UNIFIED)
    if not mounts or mounts[-1][0] != "cgroup2" or not _controllers():
        return True
    from podctl.rootless import kernel, userns

    if not userns.in_child_userns() or os.geteuid() != 0:
        return False
    import fcntl

    fd = os.open(lock_dir / "cgroup-hide.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        top = mounts_at(UNIFIED)[-1]
        if top[0] == "cgroup2":
            flags = kernel.MS_RDONLY | kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC
            kernel.mount(HIDE_SOURCE, UNIFIED, "tmpfs", flags, "mode=0555,size=4k")
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


# -- the seccomp filter cache --------------------------------------------------------------------


def _identity(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.realpath(path)}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def crun_version(crun: str, cache_dir: Path) -> str:
    """The whole `crun --version` output, remembered per binary (path, inode, size, times)."""
    ident = _identity(crun)
    memo = cache_dir / "crun-version.json"
    try:
        data = json.loads(memo.read_text())
        if isinstance(data, dict) and isinstance(data.get(ident), str):
            return str(data[ident])
    except (OSError, ValueError):
        pass
    from podctl import run as gateway

    out = gateway.run([crun, "--version"], timeout=10).stdout
    _remember(memo, {ident: out})
    return out


def _remember(memo: Path, data: dict[str, str]) -> None:
    """Write a memo file whole (renamed into place) or not at all: a cache, never an error."""
    tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(data))
        os.replace(tmp, memo)


_SONAME = "libseccomp.so.2"


def libseccomp_version(cache_dir: Path | None = None) -> str:
    """libseccomp's version and the identity of the library file this process loads (the one
    crun links: same dynamic linker, same search path).

    Loading it and reading /proc/self/maps costs ~2 ms, on every container start: with
    CACHE_DIR the answer is remembered with the identity of the soname link's target
    (libseccomp.so.2), and reused while that target is the same file."""
    memo = cache_dir / "libseccomp-version.json" if cache_dir is not None else None
    if memo is not None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(memo.read_text())
            if _identity(data["link"]) == data["target"]:
                return str(data["value"])
    import ctypes

    try:
        lib = ctypes.CDLL(_SONAME)
    except OSError:
        return "none"
    lib.seccomp_version.restype = ctypes.POINTER(ctypes.c_uint * 3)  # major, minor, micro
    major, minor, micro = lib.seccomp_version().contents
    where = ""
    with open("/proc/self/maps") as f:
        for line in f:
            if "libseccomp.so" in line:
                where = line.split(None, 5)[-1].strip()
                break
    with contextlib.suppress(OSError):
        where = _identity(where) if where else ""
    value = f"{major}.{minor}.{micro} {where}"
    if memo is not None and where:
        link = os.path.join(os.path.dirname(where.split(":", 1)[0]), _SONAME)
        with contextlib.suppress(OSError):
            _remember(memo, {"link": link, "target": _identity(link), "value": value})
    return value


def _sha256() -> Any:
    # hashlib loads OpenSSL (~3 ms of every `run`); the builtin module does the same digest.
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from hashlib import sha256
    return sha256()


def bpf_key(profile_json: str, crun: str, cache_dir: Path) -> str:
    u = os.uname()
    h = _sha256()
    for part in (profile_json, crun_version(crun, cache_dir), libseccomp_version(cache_dir),
                 u.release, u.version, u.machine):  # fmt: skip
        h.update(part.encode())
        h.update(b"\0")
    return str(h.hexdigest())


def cached_bpf(path: Path) -> bytes | None:
    """The compiled filter, if it is there and well formed (whole 8-byte BPF instructions)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data or len(data) % 8:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return data


def use_bpf_cache(config: dict[str, Any], crun: str, runtime_root: Path, cid: str, runroot: Path) -> bool:
    """Before the bundle is written: give CONFIG the compiled filter of its seccomp profile
    (True), or a poststart hook that keeps the filter crun compiles for this container (crun
    has written it to its state dir once the container's process runs; the hook renames it
    into place atomically and can never fail the container)."""
    profile = (config.get("linux") or {}).get("seccomp")
    if not profile:
        return False
    cache_dir = runroot / BPF_DIR
    cache_dir.mkdir(mode=0o700, exist_ok=True)
    key = bpf_key(json.dumps(profile, sort_keys=True, separators=(",", ":")), crun, cache_dir)
    target = cache_dir / key
    bpf = cached_bpf(target)
    annotations = config.setdefault("annotations", {})
    if bpf is not None:
        import binascii  # not base64: it imports re (~5 ms)

        annotations[BPF_ANNOTATION] = binascii.b2a_base64(bpf, newline=False).decode()
        return True
    annotations.pop(BPF_ANNOTATION, None)
    src = runtime_root / cid / "seccomp.bpf"
    tmp = cache_dir / f".{key}.{cid[:12]}"
    script = 'cp "$1" "$2" 2>/dev/null && mv -f "$2" "$3" 2>/dev/null; rm -f "$2"; exit 0'
    hook = {"path": "/bin/sh", "args": ["sh", "-c", script, "sh", str(src), str(tmp), str(target)]}
    hooks = config.setdefault("hooks", {})
    hooks["poststart"] = [*hooks.get("poststart", []), hook]
    return False
