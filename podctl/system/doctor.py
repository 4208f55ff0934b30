"""`podctl doctor`: check every rootless prerequisite for the calling user.

Each check really exercises the thing (maps a user namespace, opens the tun device, starts a
container with the OCI runtime, mounts overlay inside the namespace, asks systemd over D-Bus)
and, when it fails, names the exact command that fixes it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podctl import run as gateway
from podctl.config import Config, ensure_private_dir, xdg_runtime_dir
from podctl.errors import PodctlError
from podctl.rootless import subid, userns
from podctl.system import host

MIN_IDS = 65536


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"

    def as_dict(self) -> dict[str, object]:
        return {"Name": self.name, "OK": self.ok, "Detail": self.detail, "Fix": self.fix}


def _user() -> str:
    return userns.user_name()


def check_idmap_tool(name: str) -> Check:
    path = gateway.which(name)
    pkg = "uidmap"
    if not path:
        return Check(name, False, "not found", f"sudo apt-get install {pkg}")
    st = os.stat(path)
    setuid = bool(st.st_mode & stat.S_ISUID) and st.st_uid == 0
    has_caps = False
    if not setuid:
        try:
            has_caps = bool(os.getxattr(path, "security.capability"))
        except OSError:
            has_caps = False
    if setuid or has_caps:
        how = "setuid root" if setuid else "file capabilities"
        return Check(name, True, f"{path} ({how})")
    return Check(name, False, f"{path} is neither setuid root nor has file capabilities",
                 f"sudo chmod u+s {path}")  # fmt: skip


def check_subids(kind: str, path: Path) -> Check:
    user = _user()
    rngs = subid.ranges(path)
    flag = "--add-subuids" if kind == "subuid" else "--add-subgids"
    fix = f"sudo usermod {flag} 100000-165535 {user}"
    if not rngs:
        return Check(f"{kind} range", False, f"no range for {user} in {path}", fix)
    total = subid.total(rngs)
    desc = ", ".join(f"{r.start}:{r.count}" for r in rngs)
    if total < MIN_IDS:
        return Check(f"{kind} range", False,
                     f"{user} has only {total} ids in {path} ({desc}); need at least {MIN_IDS}", fix)  # fmt: skip
    return Check(f"{kind} range", True, f"{user} has {total} ids in {path} ({desc})")


def check_userns(cfg: Config) -> Check:
    try:
        pid = userns.ensure_pause(cfg)
        mapped = sum(n for _, _, n in userns.uid_map(pid))
    except PodctlError as e:
        return Check("user namespace", False, e.message, (e.hint or "").removeprefix("fix: "))
    except OSError as e:
        return Check("user namespace", False, str(e),
                     "sudo sysctl -w kernel.unprivileged_userns_clone=1")  # fmt: skip
    return Check("user namespace", True, f"{mapped} uids mapped (pause process {pid})")


def check_tun() -> Check:
    path = "/dev/net/tun"
    fix = (f"sudo chmod 0666 {path} && echo 'KERNEL==\"tun\", MODE=\"0666\"' | "
           "sudo tee /etc/udev/rules.d/99-podctl-tun.rules")  # fmt: skip
    try:
        fd = os.open(path, os.O_RDWR)
        os.close(fd)
    except FileNotFoundError:
        return Check(path, False, "missing (slirp4netns needs it)", "sudo modprobe tun")
    except PermissionError:
        mode = oct(os.stat(path).st_mode & 0o777)
        return Check(path, False, f"permission denied (mode {mode}); slirp4netns cannot start", fix)
    except OSError as e:
        return Check(path, False, f"cannot open: {e.strerror}", fix)
    return Check(path, True, "usable by this user")


def check_tool(name: str, pkg: str | None = None, args: tuple[str, ...] = ("--version",)) -> Check:
    t = host.tool(name, args)
    if not t.path:
        return Check(name, False, "not found", f"sudo apt-get install {pkg or name}")
    if not t.version:
        return Check(name, False, f"{t.path} does not run", f"sudo apt-get install --reinstall {pkg or name}")
    return Check(name, True, f"{t.path} ({t.version})")


def _bundle(dir: Path) -> Path:
    """A bundle whose rootfs borrows the host's /usr read-only: no image needed."""
    rootfs = dir / "rootfs"
    rootfs.mkdir(parents=True)
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    ]
    for d in ("usr", "bin", "lib", "lib64", "sbin"):
        p = Path("/") / d
        if p.is_symlink():
            (rootfs / d).symlink_to(os.readlink(p))
        elif p.is_dir():
            (rootfs / d).mkdir()
            mounts.append({"destination": f"/{d}", "type": "bind", "source": f"/{d}",
                           "options": ["rbind", "ro", "nosuid"]})  # fmt: skip
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "args": ["/bin/sh", "-c", "exit 0"],
            "cwd": "/",
            "env": ["PATH=/usr/bin:/bin"],
            "user": {"uid": 0, "gid": 0},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "doctor",
        "mounts": mounts,
        "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")]},
    }
    (dir / "config.json").write_text(json.dumps(config))
    return dir


def _nsenter(cfg: Config) -> list[str]:
    if userns.is_host_root():
        return []
    pid = userns.ensure_pause(cfg)
    return ["nsenter", "-t", str(pid), "-U", "-m", "--preserve-credentials", "--"]


def try_runtime(cfg: Config, name: str) -> tuple[bool, str]:
    """Start a real container with runtime NAME inside the user namespace."""
    path = gateway.which(name)
    if not path:
        return False, "not installed"
    work = Path(tempfile.mkdtemp(prefix="doctor-", dir=ensure_private_dir(cfg.runroot)))
    try:
        bundle = _bundle(work / "bundle")
        cid = f"podctl-doctor-{uuid.uuid4().hex[:8]}"
        argv = [*_nsenter(cfg), path, "--root", str(work / "state"), "run", "--bundle", str(bundle), cid]
        t0 = time.monotonic()
        proc = gateway.run(argv, check=False, timeout=30, stdin=gateway.subprocess_devnull())
        ms = (time.monotonic() - t0) * 1000
        if proc.returncode == 0:
            return True, f"{path} started a container in {ms:.0f} ms"
        err = (proc.stderr or proc.stdout).strip().splitlines()
        reason = err[-1] if err else f"exit status {proc.returncode}"
        return False, reason[:300]
    except PodctlError as e:
        return False, e.message
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_runtime(cfg: Config) -> Check:
    wanted = cfg.runtime_name
    candidates = [wanted] if wanted else ["crun", "runc"]
    notes: list[str] = []
    for name in candidates:
        ok, detail = try_runtime(cfg, name)
        if ok:
            extra = f" ({'; '.join(notes)})" if notes else ""
            return Check("OCI runtime", True, f"{name}: {detail}{extra}")
        notes.append(f"{name} cannot run containers here: {detail}")
    others = [r for r in ("runc", "crun") if r not in candidates and gateway.which(r)]
    if wanted and others:
        fix = (f"use {others[0]}: podctl --runtime {others[0]}, or set runtime = \"{others[0]}\" "
               f"under [engine] in ~/.config/containers/containers.conf")  # fmt: skip
    else:
        fix = "sudo apt-get install runc"
    return Check("OCI runtime", False, "; ".join(notes), fix)


def check_overlay(cfg: Config) -> Check:
    name = "kernel overlay in user namespace"
    work = Path(tempfile.mkdtemp(prefix="doctor-ovl-", dir=ensure_private_dir(cfg.runroot)))
    fix = "podctl falls back to fuse-overlayfs: sudo apt-get install fuse-overlayfs"
    try:
        for d in ("lower", "upper", "work", "merged"):
            (work / d).mkdir()
        (work / "lower" / "gone").write_text("x")
        # nsenter moves the cwd to the namespace's root, so every path is absolute.
        script = (
            'set -e; cd "$1"; mount -t overlay overlay '
            '-o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work,userxattr" "$1/merged"; '
            'echo hi > merged/new; rm merged/gone; test -c upper/gone; umount "$1/merged"'
        )
        argv = [*_nsenter(cfg), "unshare", "-m", "sh", "-c", script, "sh", str(work)]
        proc = gateway.run(argv, check=False, timeout=30)
        if proc.returncode == 0:
            return Check(name, True, "mount with userxattr, write and whiteout work")
        err = (proc.stderr or "").strip().splitlines()
        return Check(name, False, err[-1] if err else f"exit status {proc.returncode}", fix)
    except PodctlError as e:
        return Check(name, False, e.message, fix)
    finally:
        if not userns.is_host_root():
            # Files created inside as subordinate ids (the whiteout) need the namespace to go.
            gateway.run([*_nsenter(cfg), "rm", "-rf", str(work)], check=False, timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def check_runtime_dir() -> Check:
    d = xdg_runtime_dir()
    uid = os.getuid()
    fix = f"sudo install -d -m 0700 -o {uid} -g {os.getgid()} /run/user/{uid} && export XDG_RUNTIME_DIR=/run/user/{uid}"
    try:
        st = d.stat()
    except OSError:
        return Check("XDG_RUNTIME_DIR", False, f"{d} does not exist", fix)
    if st.st_uid != uid:
        return Check("XDG_RUNTIME_DIR", False, f"{d} is owned by uid {st.st_uid}, not {uid}", fix)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        return Check("XDG_RUNTIME_DIR", False, "not set (systemctl --user and D-Bus need it)",
                     f"export XDG_RUNTIME_DIR={d}")  # fmt: skip
    return Check("XDG_RUNTIME_DIR", True, str(d))


def check_systemd_user() -> Check:
    from podctl.systemd import bus

    name = "systemd user manager"
    try:
        version = bus.manager_version()
    except PodctlError as e:
        return Check(name, False, e.message, (e.hint or "").removeprefix("fix: "))
    return Check(name, True, f"reachable over D-Bus (systemd {version})")


def check_linger() -> Check:
    user = _user()
    path = Path("/var/lib/systemd/linger") / user
    if path.exists():
        return Check("lingering", True, f"enabled for {user}: units start at boot")
    return Check("lingering", False, f"not enabled for {user}: user units stop at logout and do not start at boot",
                 f"sudo loginctl enable-linger {user}")  # fmt: skip


def run_checks(cfg: Config, quick: bool = False) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        lambda: check_idmap_tool("newuidmap"),
        lambda: check_idmap_tool("newgidmap"),
        lambda: check_subids("subuid", subid.SUBUID),
        lambda: check_subids("subgid", subid.SUBGID),
        check_runtime_dir,
        lambda: check_userns(cfg),
        check_tun,
        lambda: check_tool("conmon"),
        lambda: check_tool("slirp4netns"),
        lambda: check_tool("catatonit"),
        check_systemd_user,
        check_linger,
    ]
    if userns.is_host_root():
        # Real root needs no subordinate ids, user namespace or lingering.
        rootless_only = {"subuid range", "subgid range", "user namespace", "lingering", "XDG_RUNTIME_DIR"}
        results = []
        for c in checks:
            r = c()
            if r.name in rootless_only and not r.ok:
                r = Check(r.name, True, "not needed: running as root")
            results.append(r)
    else:
        results = [c() for c in checks]
    userns_ok = next(r.ok for r in results if r.name == "user namespace")
    if not quick:
        if userns_ok or userns.is_host_root():
            results.insert(7, check_runtime(cfg))
            results.insert(8, check_overlay(cfg))
        else:
            results.insert(7, Check("OCI runtime", False, "not tried: no user namespace", "fix the user namespace first"))
            results.insert(8, Check("kernel overlay in user namespace", False, "not tried: no user namespace",
                                    "fix the user namespace first"))  # fmt: skip
    return results
