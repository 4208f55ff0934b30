"""exec, top and cp: verbs that reach into a container's processes or files."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from podctl import fastjson as json
from podctl import run as gateway
from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.errors import InvalidSpec, NotFound, PodctlError
from podctl.runtime import etcfiles, rootfs
from podctl.runtime.paths import ContainerPaths, secure_join
from podctl.spec import MountType
from podctl.state.containers import ContainerRecord, State, StateDB

if TYPE_CHECKING:
    from podctl.engine.containers import ExecOptions


def exec_in(cfg: Config, rec: ContainerRecord, opts: ExecOptions) -> int:
    paths = ContainerPaths.of(cfg, rec.id)
    try:
        full = json.loads(paths.config_json.read_text())
        base = full["process"]
    except (OSError, ValueError, KeyError) as e:
        raise PodctlError(f"container {rec.name}: cannot read its OCI config: {e}") from e
    if not opts.command:
        raise InvalidSpec("exec requires a command to run")
    env: dict[str, str] = {}
    for item in base.get("env", []):
        k, _, v = item.partition("=")
        env[k] = v
    env.update(dict(opts.env))
    if opts.tty:
        env.setdefault("TERM", "xterm")
    user = base["user"]
    if opts.user:
        eu = etcfiles.resolve_user(paths.merged, opts.user)
        user = {"uid": eu.uid, "gid": eu.gid, "umask": 0o022}
        if eu.additional_gids:
            user["additionalGids"] = list(eu.additional_gids)
    cwd = opts.workdir or base.get("cwd", "/")
    etcfiles.find_executable(paths.merged, opts.command[0], env.get("PATH", ""), cwd, full.get("mounts", ()))
    caps = dict(base.get("capabilities", {}))
    if opts.privileged:
        from podctl.runtime.ocispec import known_caps

        every = [f"CAP_{c}" for c in known_caps()]
        caps = {"bounding": every, "effective": every, "permitted": every}
    if user.get("uid", 0) != 0:
        caps["effective"] = caps["permitted"] = []
    process: dict[str, Any] = {
        "terminal": opts.tty,
        "user": user,
        "args": list(opts.command),
        "env": [f"{k}={v}" for k, v in env.items()],
        "cwd": cwd,
        "capabilities": caps,
        "rlimits": base.get("rlimits", []),
        "noNewPrivileges": base.get("noNewPrivileges", False),
    }
    spec_file = paths.bundle / f"exec-{secrets.token_hex(8)}.json"
    spec_file.write_text(json.dumps(process))
    try:
        argv = lc.runtime(cfg, rec).exec_argv(rec.id, spec_file, tty=opts.tty, detach=opts.detach)
        if opts.detach:
            # The detached process keeps whatever stdio it gets: never our caller's pipes.
            import tempfile

            with tempfile.TemporaryFile() as err:
                code = gateway.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=err).wait()  # fmt: skip
                if code != 0:
                    err.seek(0)
                    raise gateway.failure(argv, code, err.read())
                return 0
        stdin = None if opts.interactive else subprocess.DEVNULL
        proc = gateway.spawn(argv, stdin=stdin, stdout=None, stderr=None)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue
    finally:
        with contextlib.suppress(OSError):
            spec_file.unlink()


# -- top -------------------------------------------------------------------------------------------

DEFAULT_TOP = ("user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args")
TOP_HEADERS = {
    "user": "USER", "pid": "PID", "ppid": "PPID", "pcpu": "%CPU", "etime": "ELAPSED", "tty": "TTY",
    "time": "TIME", "args": "COMMAND", "comm": "COMMAND", "uid": "UID", "gid": "GID",
    "group": "GROUP", "nice": "NI", "vsz": "VSZ", "rss": "RSS", "stat": "STAT", "hpid": "HPID",
    "huser": "HUSER",
}  # fmt: skip
_ALIASES = {"%cpu": "pcpu", "command": "args", "cmd": "args", "etime": "etime", "elapsed": "etime"}


def _container_pids(init_pid: int) -> list[int]:
    try:
        ns = os.readlink(f"/proc/{init_pid}/ns/pid")
    except OSError:
        return []
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{d}/ns/pid") == ns:
                out.append(int(d))
    return sorted(out)


def _fmt_secs(s: float) -> str:
    s = int(s)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    base = f"{h:02d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
    return f"{d}-{base}" if d else base


def top_rows(cfg: Config, rec: ContainerRecord, descriptors: Sequence[str]) -> list[list[str]]:
    descs: list[str] = []
    for d in descriptors or DEFAULT_TOP:
        for part in d.split(","):
            key = _ALIASES.get(part.strip().lower(), part.strip().lower())
            if key not in TOP_HEADERS:
                raise InvalidSpec(f"unknown top descriptor {part!r}: supported are "
                                  + ", ".join(sorted(TOP_HEADERS)))  # fmt: skip
            descs.append(key)
    rootfs_dir = ContainerPaths.of(cfg, rec.id).merged
    users = {int(f[2]): f[0] for f in etcfiles._read_db(rootfs_dir, "passwd") if len(f) > 2 and f[2].isdigit()}
    groups = {int(f[2]): f[0] for f in etcfiles._read_db(rootfs_dir, "group") if len(f) > 2 and f[2].isdigit()}
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    rows = [[TOP_HEADERS[d] for d in descs]]
    for pid in _container_pids(rec.pid):
        try:
            info = _proc_info(pid)
        except OSError:
            continue
        stat = info["stat"]
        start = int(stat[19]) / hz
        elapsed = max(uptime - start, 0.0)
        cpu_secs = (int(stat[11]) + int(stat[12])) / hz
        values = {
            "user": users.get(info["uid"], str(info["uid"])),
            "uid": str(info["uid"]),
            "gid": str(info["gid"]),
            "group": groups.get(info["gid"], str(info["gid"])),
            "pid": str(info["nspid"]),
            "hpid": str(pid),
            "huser": str(os.stat(f"/proc/{pid}").st_uid),
            "ppid": str(info["nsppid"]),
            "pcpu": f"{(100.0 * cpu_secs / elapsed) if elapsed > 0 else 0.0:.3f}",
            "etime": _fmt_secs(elapsed) if elapsed else "0s",
            "tty": "?" if int(stat[4]) == 0 else f"pts/{int(stat[4]) & 0xff}",
            "time": _fmt_secs(cpu_secs) if cpu_secs >= 1 else "0s",
            "args": info["args"],
            "comm": info["comm"],
            "nice": stat[16],
            "vsz": str(int(stat[20]) // 1024),
            "rss": str(int(stat[21]) * os.sysconf("SC_PAGE_SIZE") // 1024),
            "stat": stat[0],
        }
        rows.append([values[d] for d in descs])
    return rows


def _proc_info(pid: int) -> dict[str, Any]:
    raw = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    stat = raw[raw.rindex(")") + 2 :].split()
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    nspid = fields.get("NSpid", str(pid)).split()[-1]
    args = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    ppid_host = int(stat[1])
    nsppid = "0"
    with contextlib.suppress(OSError, KeyError, ValueError):
        pfields = dict(
            line.split(":", 1) for line in Path(f"/proc/{ppid_host}/status").read_text().splitlines() if ":" in line
        )
        if os.readlink(f"/proc/{ppid_host}/ns/pid") == os.readlink(f"/proc/{pid}/ns/pid"):
            nsppid = pfields["NSpid"].split()[-1]
    return {
        "stat": stat,
        "comm": comm,
        "uid": int(fields["Uid"].split()[1]),
        "gid": int(fields["Gid"].split()[1]),
        "nspid": nspid,
        "nsppid": nsppid,
        "args": args or f"[{comm}]",
    }


# -- cp --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _rootfs_of(cfg: Config, db: StateDB, rec: ContainerRecord) -> Iterator[Path]:
    """The container's merged rootfs, mounted for the duration when it is not running."""
    paths = ContainerPaths.of(cfg, rec.id)
    if rootfs.is_mounted(paths.merged) or rec.rootfs_driver == rootfs.Driver.COPY:
        yield paths.merged
        return
    from podctl.image.store import open_store

    image = open_store(cfg).resolve(rec.image_id or rec.image)
    driver = rootfs.mount(paths, image.layer_dirs, rec.rootfs_driver)
    try:
        yield paths.merged
    finally:
        if lc.observed(cfg, db.get_container(rec.id) or rec).state != State.RUNNING:
            rootfs.umount(paths, str(driver))


def _host_path_in(cfg: Config, rec: ContainerRecord, root: Path, path: str) -> Path:
    """A path inside the container, seen through its volume and bind mounts where it lies in one."""
    if not path.startswith("/"):
        path = "/" + path
    spec = lc.spec_of(rec)
    best = None
    for m in spec.mounts:
        d = m.destination.rstrip("/") or "/"
        if (path == d or path.startswith(d + "/")) and (best is None or len(d) > len(best[0])):
            best = (d, m)
    if best is not None and best[1].type != MountType.TMPFS:
        d, m = best
        if m.type == MountType.VOLUME:
            name = m.source or rec.extra.get("anon", {}).get(m.destination, "")
            src = lc.volume_path(cfg, name)
        else:
            src = Path(m.source)
        rest = path[len(d):]
        return secure_join(src, rest) if rest else src
    return secure_join(root, path)


def copy(cfg: Config, db: StateDB, src: str, dest: str, stdin: IO[bytes] | None = None,
         stdout: IO[bytes] | None = None) -> None:  # fmt: skip
    """podman's cp: CTR:SRC DEST or SRC CTR:DEST; `-` as DEST writes a tar archive to STDOUT,
    as SRC reads one from STDIN (podctl.engine.cp_tar)."""
    from podctl.engine.containers import find, parse_cp_arg

    sctr, spath = parse_cp_arg(src)
    dctr, dpath = parse_cp_arg(dest)
    if (sctr is None) == (dctr is None):
        raise InvalidSpec("copying is only supported between a container and the host: "
                          "exactly one of SRC and DEST must be CONTAINER:PATH")  # fmt: skip
    if sctr is not None:
        rec = find(db, sctr)
        with lc.locked(cfg, rec.id), _rootfs_of(cfg, db, rec) as root:
            source = _host_path_in(cfg, rec, root, spath)
            if not source.exists() and not source.is_symlink():
                raise NotFound(f'"{spath}" could not be found on container {sctr}: no such file or directory')
            if dpath == "-":
                from podctl.engine import cp_tar

                assert stdout is not None, "cp CTR:PATH -: no stdout given"
                cp_tar.write(source, spath, spath.endswith("/."), stdout)
                return
            _copy(source, Path(os.path.abspath(dpath)), spath.endswith("/."))
        return
    assert dctr is not None
    rec = find(db, dctr)
    if spath == "-":
        from podctl.engine import cp_tar

        assert stdin is not None, "cp - CTR:DIR: no stdin given"
        with lc.locked(cfg, rec.id), _rootfs_of(cfg, db, rec) as root:
            cp_tar.extract(stdin, dpath if dpath.startswith("/") else "/" + dpath, dctr,
                           lambda p: _host_path_in(cfg, rec, root, p))  # fmt: skip
        return
    source = Path(os.path.abspath(spath))
    if not source.exists() and not source.is_symlink():
        raise NotFound(f'"{spath}" could not be found on the host: no such file or directory')
    with lc.locked(cfg, rec.id), _rootfs_of(cfg, db, rec) as root:
        target = _host_path_in(cfg, rec, root, dpath)
        if not target.parent.exists():
            raise NotFound(f'"{dpath}" could not be found on container {dctr}: no such file or directory')
        _copy(source, target, spath.endswith("/."), owner=(0, 0))


def _copy(src: Path, dest: Path, contents_only: bool, owner: tuple[int, int] | None = None) -> None:
    if dest.is_dir() and not contents_only:
        dest = dest / src.name
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    else:
        if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
            dest.unlink()
        shutil.copy2(src, dest, follow_symlinks=False)
    if owner is not None:
        with contextlib.suppress(OSError):
            os.lchown(dest, *owner)
            if dest.is_dir() and not dest.is_symlink():
                for dirpath, dirnames, filenames in os.walk(dest):
                    for n in dirnames + filenames:
                        os.lchown(os.path.join(dirpath, n), *owner)
