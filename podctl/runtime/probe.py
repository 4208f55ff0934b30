"""Which OCI runtime really runs a container on this host (cached per boot in the runroot).

`podctl doctor` and `podctl info` call probe_runtime(); the container commands call
select_runtime(). The probe starts a tiny container (the host's static busybox bind-mounted into
an empty rootfs) inside the user's namespace, so "crun: cgroups in hybrid mode not supported"
is caught here rather than on the user's first `run`.
"""

from __future__ import annotations

import os
from pathlib import Path

from podctl import fastjson as json
from podctl import run as gateway
from podctl.config import Config, ensure_private_dir
from podctl.errors import PodctlError, RuntimeFailed
from podctl.rootless import userns

CANDIDATES = ("crun", "runc")
CACHE = "runtime-probe.json"
CACHE_FORMAT = "2"  # part of each key: answers of older podctl versions are not reused
# crun on a hybrid host: it runs, with the cgroup v2 hierarchy hidden from it (podctl.runtime.crun)
CRUN_NOTE = "cgroups disabled: the hybrid cgroup v2 hierarchy is hidden from crun"
_STATIC_SHELLS = ("/bin/busybox", "/usr/bin/busybox")


def runtime_path(cfg: Config, name_or_path: str) -> str | None:
    if os.sep in name_or_path:
        return name_or_path if os.access(name_or_path, os.X_OK) else None
    for p in cfg.runtime_paths(name_or_path):
        if os.access(p, os.X_OK):
            return str(p)
    return gateway.which(name_or_path)


def _version(path: str) -> str:
    try:
        out = gateway.run([path, "--version"], timeout=10).stdout
    except RuntimeFailed:
        return ""
    return out.splitlines()[0].strip() if out else ""


def _cache_load(cfg: Config) -> dict[str, list[object]]:
    try:
        data = json.loads((cfg.runroot / CACHE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _cache_store(cfg: Config, data: dict[str, list[object]]) -> None:
    try:
        ensure_private_dir(cfg.runroot)
        tmp = cfg.runroot / f".{CACHE}.{os.getpid()}"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, cfg.runroot / CACHE)
    except OSError:
        pass


def _bundle_config(busybox: str) -> dict[str, object]:
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["/busybox", "true"],
            "env": ["PATH=/"],
            "cwd": "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": []},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "probe",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/busybox", "type": "bind", "source": busybox, "options": ["bind", "ro"]},
        ],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]},
    }


def _run_probe(cfg: Config, path: str) -> tuple[bool, str]:
    """Run the tiny container; (ok, reason). Must be called inside the user namespace."""
    busybox = next((b for b in _STATIC_SHELLS if os.access(b, os.X_OK)), None)
    if busybox is None:
        return True, "not started: no static busybox on the host to probe with"
    base = ensure_private_dir(cfg.runroot / "probe" / f"{os.path.basename(path)}-{os.getpid()}")
    try:
        (base / "rootfs").mkdir(exist_ok=True)
        for d in ("dev", "proc"):  # crun opens /dev of the (read-only) rootfs
            (base / "rootfs" / d).mkdir(exist_ok=True)
        (base / "rootfs" / "busybox").touch()
        (base / "config.json").write_text(json.dumps(_bundle_config(busybox)))
        cid = f"podctl-probe-{os.getpid()}"
        root = cfg.runroot / "probe" / "state"
        from podctl.runtime import crun

        # Real root has no mount namespace of podctl's own to hide the hierarchy in.
        hide = crun.is_crun(path) and crun.hybrid_host() and not userns.is_host_root()
        extra = list(crun.CGROUP_ARGS) if hide else []
        argv = [path, "--root", str(root), *extra, "run", "--bundle", str(base), cid]
        if hide and crun.mounts_at(crun.UNIFIED)[-1][0] == "cgroup2":
            # Hidden in a throwaway mount namespace: probing changes nothing for runc users.
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    f'mount -t tmpfs -o ro,size=4k {crun.HIDE_SOURCE} {crun.UNIFIED} && exec "$@"',
                    "sh", *argv]  # fmt: skip
        proc = gateway.run(argv, check=False, timeout=30, stdin=gateway.DEVNULL)
        gateway.run([path, "--root", str(root), *extra, "delete", "--force", cid], check=False)
        if proc.returncode == 0:
            return True, CRUN_NOTE if hide else ""
        err = " / ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        return False, err or f"exited with status {proc.returncode}"
    except (OSError, RuntimeFailed) as e:
        return False, str(e)
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def _probe_in_namespace(cfg: Config, path: str) -> tuple[bool, str]:
    try:
        ok, reason = userns.call_inside(cfg, lambda: _run_probe(cfg, path))
    except RuntimeFailed as e:
        return False, f"cannot enter the user namespace: {e}"
    return bool(ok), str(reason)


def probe_runtime(cfg: Config, name_or_path: str, fresh: bool = False) -> tuple[bool, str, str]:
    """(ok, version, reason): can NAME_OR_PATH run a rootless container here? Cached per boot
    unless FRESH (`podctl doctor` always tries for real)."""
    path = runtime_path(cfg, name_or_path)
    if path is None:
        return False, "", f"{name_or_path}: not found"
    try:
        st = os.stat(path)
    except OSError as e:
        return False, "", f"{path}: {e.strerror}"
    key = f"{path}:{st.st_mtime_ns}:{st.st_size}:{CACHE_FORMAT}"
    cache = _cache_load(cfg)
    if key in cache and not fresh:
        ok, version, reason = cache[key]
        return bool(ok), str(version), str(reason)
    version = _version(path)
    ok, reason = _probe_in_namespace(cfg, path)
    cache[key] = [ok, version, reason]
    _cache_store(cfg, cache)
    return ok, version, reason


def select_runtime(cfg: Config) -> str:
    """The runtime to use: --runtime / containers.conf if set, else the first that really runs
    a container here, in podman's order (crun, then runc). On a hybrid-cgroup host crun runs
    with the cgroup v2 hierarchy hidden (podctl.runtime.crun): rootless containers get no
    cgroups there from runc either, and crun starts them in a third of runc's time."""
    chosen = cfg.runtime_name
    if chosen:
        path = runtime_path(cfg, chosen)
        if path is None:
            raise RuntimeFailed(
                f"OCI runtime {chosen!r} not found",
                hint="install runc (apt-get install runc) or set [engine] runtime in containers.conf",
            )
        return path
    reasons = []
    for name in CANDIDATES:
        ok, _version_s, reason = probe_runtime(cfg, name)
        if ok:
            path = runtime_path(cfg, name)
            assert path is not None
            return path
        reasons.append(f"{name}: {reason}")
    raise RuntimeFailed(
        "no OCI runtime can run containers here: " + "; ".join(reasons),
        hint="install runc (apt-get install runc)",
    )


def probe_file(cfg: Config) -> Path:
    return cfg.runroot / CACHE


def _try_rootfs(cfg: Config) -> tuple[str, str]:
    """Mount a one-file overlay the way containers get theirs; (driver, why others failed)."""
    import shutil

    from podctl.runtime import rootfs
    from podctl.runtime.paths import ContainerPaths

    base = ensure_private_dir(cfg.runroot / "probe" / f"rootfs-{os.getpid()}")
    paths = ContainerPaths(id="probe", storage=base / "c", bundle=base / "b", exits=base / "e",
                           runc_root=base / "r")  # fmt: skip
    layer = base / "layer"
    try:
        layer.mkdir()
        (layer / "file").write_text("x")
        errors: list[str] = []
        for drv in (rootfs.Driver.OVERLAY, rootfs.Driver.FUSE, rootfs.Driver.COPY):
            try:
                got = rootfs.mount(paths, [layer], str(drv), fallback=False)
                ok = (paths.merged / "file").read_text() == "x"
                rootfs.umount(paths, str(got))
                if ok:
                    return str(got), "; ".join(errors)
                errors.append(f"{drv}: the layer's file is not visible")
            except (OSError, PodctlError) as e:
                errors.append(f"{drv}: {e}")
            shutil.rmtree(paths.storage, ignore_errors=True)
        return "", "; ".join(errors)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def probe_rootfs(cfg: Config) -> tuple[str, str]:
    """(driver, reason): the first of overlay, fuse-overlayfs, copy that works here for
    container root filesystems (for `podctl info` / `doctor`); reason tells why others did not."""
    try:
        driver, reason = userns.call_inside(cfg, lambda: _try_rootfs(cfg))
    except RuntimeFailed as e:
        return "", f"cannot enter the user namespace: {e}"
    return str(driver), str(reason)
