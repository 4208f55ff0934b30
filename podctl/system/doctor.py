"""`podctl doctor`: check every rootless prerequisite for the calling user.

Each check really exercises the thing (maps a user namespace, opens the tun device, starts a
container with the OCI runtime, mounts overlay inside the namespace, asks systemd over D-Bus)
and, when it fails, names the exact command that fixes it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podctl import run as gateway
from podctl.config import Config, xdg_runtime_dir
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
        return Check(path, False, "missing (pasta and slirp4netns need it)", "sudo modprobe tun")
    except PermissionError:
        mode = oct(os.stat(path).st_mode & 0o777)
        return Check(path, False, f"permission denied (mode {mode}); pasta and slirp4netns cannot start", fix)
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


def check_runtime(cfg: Config) -> Check:
    """Start a real container with the configured runtime, or else crun then runc."""
    from podctl.runtime import probe

    wanted = cfg.runtime_name
    candidates = [wanted] if wanted else list(probe.CANDIDATES)
    notes: list[str] = []
    for name in candidates:
        ok, version, reason = probe.probe_runtime(cfg, name, fresh=True)
        if ok:
            if reason:
                notes.insert(0, reason)
            extra = f" ({'; '.join(notes)})" if notes else ""
            return Check("OCI runtime", True, f"{name} ({version}) starts a container here{extra}")
        notes.append(f"{name} cannot run containers here: {reason}")
    others = [r for r in probe.CANDIDATES if r not in candidates and probe.runtime_path(cfg, r)]
    if wanted and others:
        fix = (f"use {others[0]}: podctl --runtime {others[0]}, or set runtime = \"{others[0]}\" "
               f"under [engine] in ~/.config/containers/containers.conf")  # fmt: skip
    else:
        fix = "sudo apt-get install runc"
    return Check("OCI runtime", False, "; ".join(notes), fix)


def check_overlay(cfg: Config) -> Check:
    """Mount a root filesystem the way containers get theirs, inside the user namespace."""
    from podctl.runtime import probe

    name = "kernel overlay in user namespace"
    driver, reason = probe.probe_rootfs(cfg)
    if driver == "overlay":
        return Check(name, True, "containers get kernel overlay root filesystems (userxattr)")
    fallback = f"; podctl uses {driver} instead" if driver else ""
    return Check(name, False, f"{reason}{fallback}",
                 "use a kernel >= 5.11 (overlay with userxattr in user namespaces); "
                 "meanwhile podctl falls back to fuse-overlayfs: sudo apt-get install fuse-overlayfs")  # fmt: skip


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
        lambda: check_tool("pasta", "passt"),
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
