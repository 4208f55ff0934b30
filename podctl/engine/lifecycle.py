"""Container lifecycle steps shared by the verbs: start, stop, cleanup, remove, state sync.

Each step takes the container's lock (a flock in the runroot), so a verb, a concurrent verb
and conmon's exit command (`podctl container cleanup`) never interleave on one container.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from podctl import procs
from podctl.config import Config, ensure_private_dir

# Re-exported: the verbs and pods call lc.empty_trash*, containers.py reads lc.TRASH.
from podctl.engine.trash import TRASH, empty_trash, empty_trash_detached  # noqa: F401
from podctl.errors import AlreadyExists, InvalidSpec, NotFound, PodctlError, StateError
from podctl.runtime.paths import ContainerPaths, secure_join
from podctl.state.containers import ContainerRecord, State, StateDB, VolumeRecord

# `ps`, `inspect` and `wait` only read state: the runtime modules (subprocess, ctypes, the
# seccomp and OCI code) load on first use, inside the functions that start or stop things.
# Not typing.TYPE_CHECKING either: importing typing costs ~2.5 ms of every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podctl.image.api import ImageRecord
    from podctl.runtime import ocispec
    from podctl.runtime.oci import Runc
    from podctl.spec import ContainerSpec


def warn(msg: str, *args: object) -> None:
    from podctl.log import warn as _warn

    _warn(msg, *args)


# Images this process already resolved (`run` = create + start): no second store lookup.
_images: dict[str, ImageRecord] = {}


def remember_image(image: ImageRecord) -> None:
    _images[image.id] = image


def join_userns(cfg: Config) -> None:
    """podctl.rootless.userns.join, loaded by the verbs that need it: `ps`, `inspect`, `wait`
    and `volume ls` never import the namespace code (subprocess, ctypes)."""
    from podctl.rootless import userns

    userns.join(cfg)


_dbs: dict[Path, StateDB] = {}


def open_db(cfg: Config) -> StateDB:
    """The state database of CFG's root, one connection per process."""
    db = _dbs.get(cfg.state_db)
    if db is None:
        db = _dbs[cfg.state_db] = StateDB(cfg.state_db)
    return db


@contextlib.contextmanager
def locked(cfg: Config, cid: str) -> Iterator[None]:
    d = ensure_private_dir(cfg.runroot / "locks")
    fd = os.open(d / cid, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def drop_lock(cfg: Config, cid: str) -> None:
    with contextlib.suppress(OSError):
        (cfg.runroot / "locks" / cid).unlink()


_runtime_cache: dict[str, Runc] = {}


def runtime(cfg: Config, rec: ContainerRecord | None = None) -> Runc:
    """The OCI runtime driver: the one REC was created with (as podman, a container keeps its
    runtime whatever --runtime later commands pass), else --runtime / containers.conf / probe."""
    path = rec.extra.get("runtime", "") if rec is not None else ""
    key = f"{cfg.runroot}\0{path}"
    if key not in _runtime_cache:
        from podctl.runtime.oci import make_runtime

        if not path:
            from podctl.runtime.probe import select_runtime

            path = select_runtime(cfg)
        _runtime_cache[key] = make_runtime(path, cfg.runroot / "runc")
    return _runtime_cache[key]


def spec_of(rec: ContainerRecord) -> ContainerSpec:
    from podctl.spec import ContainerSpec

    return ContainerSpec.from_dict(rec.spec)


def volume_path(cfg: Config, name: str) -> Path:
    return cfg.root / "volumes" / name / "_data"


# -- state sync ----------------------------------------------------------------------------


def observed(cfg: Config, rec: ContainerRecord) -> ContainerRecord:
    """The record as it really is: a running container whose exit file exists has exited.

    Only reads; `sync` writes the change back.
    """
    if rec.state not in (State.RUNNING, State.STOPPING):
        return rec
    paths = ContainerPaths.of(cfg, rec.id)
    code = paths.exit_code()
    if code is not None:
        return _exited(rec, code, paths.exit_file)
    if not rec.pid:  # started by `run_direct`, which does not wait to learn the pid
        from podctl.records import replace

        with contextlib.suppress(OSError, ValueError):
            rec = replace(rec, pid=int(paths.pidfile.read_text()))
    if rec.conmon_pid and not procs.alive(rec.conmon_pid):
        # The monitor is gone without an exit file (killed, or a reboot emptied the runroot).
        return _exited(rec, rec.exit_code if rec.exit_code else -1, None)
    return rec


def _exited(rec: ContainerRecord, code: int, exit_file: Path | None) -> ContainerRecord:
    from podctl.records import replace

    finished = time.time()
    if exit_file is not None:
        with contextlib.suppress(OSError):
            finished = exit_file.stat().st_mtime
    return replace(rec, state=State.EXITED, exit_code=code, finished_at=finished, pid=0)


def sync(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    new = observed(cfg, rec)
    if new is not rec:
        return db.update_container(
            rec.id, state=new.state, exit_code=new.exit_code, finished_at=new.finished_at, pid=new.pid
        )
    return rec


# -- start ------------------------------------------------------------------------------------


def _resolve_mounts(cfg: Config, db: StateDB, spec: ContainerSpec, rec: ContainerRecord,
                    merged: Path, uid: int, gid: int) -> tuple[ocispec.ResolvedMount, ...]:  # fmt: skip
    from podctl.runtime import ocispec
    from podctl.spec import MountType

    out = []
    anon = dict(rec.extra.get("anon", {}))
    for m in spec.mounts:
        opts: list[str] = ["ro" if m.read_only else "rw", *m.options]
        opts = [o for o in opts if o not in ("z", "Z", "U") and not o.startswith("subpath=")]
        if m.type == MountType.TMPFS:
            t_opts = [o for o in opts if o not in ("rw",)] or []
            if m.read_only:
                t_opts.append("ro")
            out.append(ocispec.ResolvedMount(m.destination, "tmpfs", "tmpfs",
                                             tuple(["rw", "nosuid", "nodev", *t_opts])))  # fmt: skip
            continue
        if m.type == MountType.VOLUME:
            name = m.source or anon.get(m.destination, "")
            if not name:
                raise StateError(f"anonymous volume for {m.destination} is missing")
            src = volume_path(cfg, name)
            src.mkdir(parents=True, exist_ok=True)
            _copy_up(cfg, db, name, merged, m.destination, src)
        else:
            src = Path(m.source)
            try:
                src.stat()
            except OSError as e:
                raise NotFound(f"statfs {src}: {(e.strerror or str(e)).lower()}") from e
        sub = m.effective_subpath
        if sub:
            src = secure_join(src, sub)
            if not src.exists():
                raise NotFound(f"mount {m.destination}: subpath {sub!r} does not exist in {m.source or 'the volume'}")
        if m.chown:
            _chown_tree(src, uid, gid)
        out.append(ocispec.ResolvedMount(m.destination, "bind", str(src), tuple(opts)))
    return tuple(out)


def _copy_up(cfg: Config, db: StateDB, name: str, merged: Path, dest: str, data: Path) -> None:
    """A new named volume starts with the image's content at its mount point, as in podman."""
    import shutil

    marker = data.parent / ".copied-up"
    if marker.exists():
        return
    try:
        if not any(data.iterdir()):
            src = secure_join(merged, dest)
            if src.is_dir():
                shutil.copytree(src, data, symlinks=True, dirs_exist_ok=True)
                shutil.copystat(src, data)
                st = src.stat()
                os.chown(data, st.st_uid, st.st_gid)
        marker.touch()
    except OSError as e:
        warn("volume %s: cannot copy the image's %s into it: %s", name, dest, e)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    try:
        os.lchown(path, uid, gid)
        if path.is_dir() and not path.is_symlink():
            for dirpath, dirnames, filenames in os.walk(path):
                for n in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, n), uid, gid)
    except OSError as e:
        raise PodctlError(f"cannot chown {path} for the U option: {e}") from e


def prepare(cfg: Config, db: StateDB, rec: ContainerRecord) -> tuple[ContainerRecord, ContainerPaths]:
    """Mount the rootfs and write config.json (the caller holds the lock, inside the userns)."""
    rec, paths, _config = prepare_config(cfg, db, rec)
    return rec, paths


def prepare_config(cfg: Config, db: StateDB, rec: ContainerRecord) -> tuple[ContainerRecord, ContainerPaths, dict[str, Any]]:
    """`prepare`, also returning the config.json it wrote."""
    from podctl.runtime import ocispec, rootfs
    from podctl.spec import SdNotify

    spec = spec_of(rec)
    paths = ContainerPaths.of(cfg, rec.id)
    infra = bool(rec.extra.get("infra"))
    image_config: dict[str, Any] = {}
    if infra:
        from podctl.pods import infra as infra_mod

        driver = infra_mod.make_rootfs(paths)
    else:
        image = _images.get(rec.image_id)
        if image is None:
            from podctl.image.store import open_store  # not for an infra container: no image

            store = open_store(cfg)
            try:
                image = store.resolve(rec.image_id or rec.image)
            finally:
                close = getattr(store, "close", None)
                if close:
                    close()
        image_config = image.config.get("config") or {}
        driver = rootfs.mount(paths, image.layer_dirs, rec.rootfs_driver)
    if driver != rec.rootfs_driver:
        from podctl.records import replace

        rec = replace(rec, rootfs_driver=str(driver))  # stored with the next state change
    netns = None
    ns_paths: dict[str, str] = {}
    etc_text: dict[str, str] = {}
    etc_sources: dict[str, str] = {}
    extra_mounts: list[ocispec.ResolvedMount] = []
    member = None
    if rec.pod and not infra:
        from podctl.pods import join

        member = join.member_context(cfg, db, rec)
        ns_paths.update(member.ns_paths)
        etc_sources.update(member.etc_sources)
        if member.hostname and not spec.hostname:
            spec = spec.replace(hostname=member.hostname)
        if member.host_network:
            spec = spec.replace(network="host")
    if spec.network.startswith("container:") and "network" not in ns_paths:
        other = db.lookup_container(spec.network.split(":", 1)[1])
        other = sync(cfg, db, other)
        if other.state != State.RUNNING or not other.pid:
            raise StateError(f"--network {spec.network}: container {other.name} is not running")
        netns = f"/proc/{other.pid}/ns/net"
    elif spec.network.startswith("ns:") and "network" not in ns_paths:
        netns = spec.network.split(":", 1)[1]
    elif "network" not in ns_paths and _network_helper(spec):
        from podctl.engine import network

        att = network.attach(cfg, db, rec, spec)
        if att.netns_path:
            ns_paths["network"] = att.netns_path
            fresh = db.get_container(rec.id)
            if fresh is not None:
                from podctl.records import replace

                rec = replace(rec, extra=fresh.extra)
            members: list[str] = []
            if infra:
                from podctl.pods import join

                members = join.member_names(db, rec.pod)
            etc_text = network.etc_texts(
                att.state, hostname=spec.hostname or rec.id[:12],
                names=[] if infra else [rec.name], members=members, dns=spec.dns_servers,
                dns_search=spec.dns_search, dns_options=spec.dns_options, add_hosts=spec.add_hosts,
            )  # fmt: skip
    if infra:
        from podctl.pods import infra as infra_mod

        extra_mounts.append(infra_mod.catatonit_mount())
    from podctl.runtime.etcfiles import resolve_user

    user_str = spec.user if spec.user is not None else (image_config.get("User") or "")
    try:
        user = resolve_user(paths.merged, user_str) if spec.userns != "keep-id" else None
    except PodctlError:
        user = None
    uid, gid = (user.uid, user.gid) if user else (0, 0)
    mounts = (*_resolve_mounts(cfg, db, spec, rec, paths.merged, uid, gid), *extra_mounts)
    # --sdnotify=container under systemd: conmon relays READY=1 from a socket in the bundle.
    notify = spec.sdnotify == SdNotify.CONTAINER and bool(os.environ.get("NOTIFY_SOCKET"))
    launch = ocispec.Launch(
        cid=rec.id, name=rec.name, spec=spec, image_config=image_config,
        image_name=rec.image_name or rec.image, image_id=rec.image_id, paths=paths, mounts=mounts,
        default_caps=cfg.default_capabilities, netns_path=netns,
        defaults={k: v for k, v in cfg.section("containers").items()
                  if k in ("no_new_privileges", "seccomp_profile", "default_ulimits")},
        notify_dir=paths.bundle / "notify" if notify else None,
        ns_paths=ns_paths, etc_text=etc_text, etc_sources=etc_sources,
    )  # fmt: skip
    if member is not None:
        member.refresh_hosts()
    config = ocispec.write(launch, finish=lambda c: runtime(cfg, rec).finish_config(c, rec.id, cfg.runroot))
    return rec, paths, config


def _network_helper(spec: ContainerSpec) -> bool:
    """Whether network.attach has anything to do (none, host: not even loading it)."""
    from podctl import net

    return net.parse_network(spec.network or "slirp4netns").needs_helper


def create_in_runtime(cfg: Config, db: StateDB, rec: ContainerRecord) -> tuple[ContainerRecord, ContainerPaths]:
    """Mount, write the bundle and have conmon run `runtime create` (not started yet)."""
    from podctl.runtime import conmon
    from podctl.runtime.claim import claim_path
    from podctl.spec import SdNotify

    rec, paths = prepare(cfg, db, rec)
    spec = spec_of(rec)
    rt = runtime(cfg, rec)
    if (paths.runc_root / rec.id).exists():
        rt.forget(rec.id)
    notify = os.environ.get("NOTIFY_SOCKET") if spec.sdnotify == SdNotify.CONTAINER else None
    opts = conmon.MonitorOptions(
        name=rec.name, tty=spec.tty, stdin=spec.interactive, log_driver=spec.log_driver,
        exit_command=conmon.exit_command(cfg, rec.id, claim_file=claim_path(paths)),
        sdnotify_socket=notify,
    )  # fmt: skip
    rt.prepare()
    pid, conmon_pid = conmon.create(conmon.conmon_path(cfg), rt.path, rt.root, paths, opts,
                                    runtime_args=rt.runtime_args)  # fmt: skip
    rec = db.update_container(rec.id, pid=pid, conmon_pid=conmon_pid, state=State.CREATED,
                              rootfs_driver=rec.rootfs_driver, extra={**rec.extra, "runtime": rt.path},
                              exit_code=0, error="", stopped_by_user=False)  # fmt: skip
    return rec, paths


def settle_network(rec: ContainerRecord) -> None:
    """Wait for the network helpers that started while REC was created (network.attach): just
    before its process starts. RuntimeFailed when one failed; the caller undoes the start.
    Without a helper (--network none, host) nothing is imported."""
    if "network" in rec.extra:
        from podctl.engine import network

        network.settle(rec)


def start_created(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    """Start what create_in_runtime created, once its network helpers are ready (they started
    meanwhile: network.attach); a helper that failed raises here, before the process runs."""
    from podctl.spec import SdNotify

    settle_network(rec)
    runtime(cfg, rec).start(rec.id)
    rec = db.update_container(rec.id, state=State.RUNNING, started_at=time.time(), finished_at=0.0)
    if rec.spec.get("healthcheck"):
        from podctl.engine import health

        rec = health.schedule(cfg, db, rec)
    spec = spec_of(rec)
    if spec.sdnotify == SdNotify.CONMON and os.environ.get("NOTIFY_SOCKET"):
        notify_ready(os.environ["NOTIFY_SOCKET"], rec.conmon_pid)
    return rec


def notify_ready(sock_path: str, mainpid: int) -> None:
    from podctl.systemd.notify import notify

    if not notify(f"MAINPID={mainpid}\nREADY=1\n", sock_path=sock_path):
        warn("cannot notify systemd at %s", sock_path)


def start(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    """Start a created or exited container (detached). The caller holds the lock."""
    rec = sync(cfg, db, rec)
    if rec.state == State.RUNNING:
        return rec
    if rec.state in (State.CONFIGURED, State.REMOVING):
        raise StateError(f"container {rec.name} is not fully created (state {rec.state}): remove it")
    try:
        rec, _paths = create_in_runtime(cfg, db, rec)
        return start_created(cfg, db, rec)
    except BaseException:
        after_failed_start(cfg, db, rec)
        raise


def after_failed_start(cfg: Config, db: StateDB, rec: ContainerRecord) -> None:
    """Undo a start that failed part-way: runtime state, rootfs mount, network (best effort)."""
    from podctl.runtime import rootfs

    paths = ContainerPaths.of(cfg, rec.id)
    with contextlib.suppress(Exception):
        runtime(cfg, rec).forget(rec.id)
    with contextlib.suppress(Exception):
        rootfs.umount(paths, rec.rootfs_driver)
    _detach_network(cfg, db, rec)
    with contextlib.suppress(Exception):
        db.update_container(rec.id, state=State.EXITED if rec.started_at else State.CREATED,
                            pid=0, conmon_pid=0)  # fmt: skip


# -- stop / cleanup / remove ------------------------------------------------------------------


def wait_exit(paths: ContainerPaths, timeout: float, conmon_pid: int = 0, *, pid: int = 0) -> int | None:
    """The exit code conmon writes for the container, or None after TIMEOUT seconds.

    With PID (the container's init), sleep in poll(2) on its pidfd until it ends instead of
    polling the exit file: conmon writes the file right after reaping it.
    """
    deadline = time.monotonic() + timeout
    fd = procs.pidfd(pid) if pid else -1
    # Short adaptive polling otherwise: a read of the exit file costs microseconds, while a
    # 100 ms step added up to ~half a step of latency to every stop/rm.
    delay = 0.002
    try:
        while True:
            code = paths.exit_code()
            if code is not None:
                return code
            if conmon_pid and not procs.alive(conmon_pid):
                return paths.exit_code()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if fd >= 0:
                # Slices: a pid reused since the record was read must not hide the exit file.
                if procs.readable(fd, min(left, 0.1)):
                    os.close(fd)
                    fd, delay = -1, 0.0005
                continue
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, 0.02)
    finally:
        if fd >= 0:
            os.close(fd)


# -- claiming the cleanup ------------------------------------------------------------------------


def claim_cleanup(cfg: Config, rec: ContainerRecord) -> bool:
    """Call before signalling REC when this process will clean it up itself (stop, rm -f, pod
    stop/rm, kube down; the caller holds the lock): conmon's exit command then starts no
    second podctl to redo the cleanup (see podctl.runtime.claim). The claim holds while this
    process lives; cleanup_locked/remove_locked release it, release_claim after a failure."""
    if not rec.conmon_pid or not procs.alive(rec.conmon_pid):
        return False
    from podctl.runtime import claim

    return claim.claim(ContainerPaths.of(cfg, rec.id))


def release_claim(cfg: Config, rec: ContainerRecord, *, wait: bool = True) -> None:
    """Drop this process's claim. With WAIT, once conmon (running the guard) has exited:
    dropped earlier, the guard would find no claim and start the cleanup process after all."""
    from podctl.runtime import claim

    paths = ContainerPaths.of(cfg, rec.id)
    owner = claim.owner(paths)
    if not owner and not claim.claim_path(paths).exists():
        return
    # conmon exits a few ms after the exit file. Another process's claim is stale or not ours
    # to wait for (the exit command's podctl is conmon's child), and an older podctl's monitor
    # runs the cleanup process unguarded, which waits for our lock: no waiting for those.
    if (wait and owner == os.getpid() and rec.conmon_pid and paths.exit_code() is not None
            and claim.is_guarded(rec.conmon_pid, paths)):  # fmt: skip
        procs.wait_gone(rec.conmon_pid, 5)
    claim.unclaim(paths)


def _signal(cfg: Config, rec: ContainerRecord, sig: int, *, running: bool) -> None:
    """Signal a running container's init process.

    Inside the user namespace (after `userns.join`) the container processes are ours: one
    kill(2) instead of a `runc kill` process (10-25 ms). runc kill does the same kill(2) on the
    init pid; it stays the path for anything else (created containers, no pid, outside the ns).
    """
    if running and rec.pid and os.getuid() == 0 and procs.alive(rec.pid):
        try:
            os.kill(rec.pid, sig)
            return
        except ProcessLookupError:
            raise NotFound(f"container {rec.id} is not running") from None
        except PermissionError:
            pass
    runtime(cfg, rec).kill(rec.id, sig)


def kill(cfg: Config, db: StateDB, rec: ContainerRecord, sig: int) -> None:
    """`kill`: send SIG to a running container. INT, TERM and KILL count as a stop by the user,
    so the exit command does not restart it. The caller holds the lock."""
    if sig in (9, 15, 2):
        db.update_container(rec.id, stopped_by_user=True)
    _signal(cfg, rec, sig, running=rec.state == State.RUNNING)


def kill_for_removal(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord | None:
    """SIGKILL a running REC that this process then removes (pod rm -f, kube down), claiming
    its cleanup first; the record to wait_exit for, None when it was not running. The caller
    holds the lock."""
    import signal

    rec = sync(cfg, db, rec)
    if rec.state not in (State.RUNNING, State.STOPPING) or not rec.pid:
        return None
    rec = db.update_container(rec.id, state=State.STOPPING, stopped_by_user=True)
    claim_cleanup(cfg, rec)
    with contextlib.suppress(PodctlError):  # gone meanwhile: wait_exit sees it
        _signal(cfg, rec, signal.SIGKILL, running=True)
    return rec


def stop(cfg: Config, db: StateDB, rec: ContainerRecord, timeout: int | None, sig: int | None = None,
         *, exit_policy: bool = False) -> ContainerRecord:  # fmt: skip
    """SIGTERM (or the stop signal), then SIGKILL after TIMEOUT seconds, then the cleanup
    conmon's exit command would have done. Caller holds the lock. EXIT_POLICY: apply the pod's
    --exit-policy as podman's `stop` does (not restart, rm or pod verbs)."""
    from podctl.runtime.oci import parse_signal

    rec = sync(cfg, db, rec)
    if rec.state not in (State.RUNNING, State.STOPPING):
        if rec.state == State.CREATED and rec.conmon_pid and procs.alive(rec.conmon_pid):
            pass  # created in the runtime but never started: kill it below
        else:
            # It exited on its own just now: a pending exit command must not restart it.
            return db.update_container(rec.id, stopped_by_user=True)
    spec = spec_of(rec)
    running = rec.state in (State.RUNNING, State.STOPPING)
    rec = db.update_container(rec.id, state=State.STOPPING, stopped_by_user=True)
    paths = ContainerPaths.of(cfg, rec.id)
    t = spec.stop_timeout if timeout is None else timeout
    first = sig or parse_signal(spec.stop_signal or "TERM")
    code = None
    # This process cleans up below, as podman's stop does: no exit-command process for it.
    claim_cleanup(cfg, rec)
    try:
        if t > 0:
            with contextlib.suppress(NotFound):
                _signal(cfg, rec, first, running=running)
            prepare_cleanup(cfg)  # while the container shuts down (on another core)
            code = wait_exit(paths, t, rec.conmon_pid, pid=rec.pid if running else 0)
            if code is None:
                warn("StopSignal %s failed to stop container %s in %d seconds, resorting to SIGKILL",
                     first, rec.name, t)  # fmt: skip
        if code is None:
            with contextlib.suppress(NotFound):
                _signal(cfg, rec, 9, running=running)
            prepare_cleanup(cfg)
            code = wait_exit(paths, 10, rec.conmon_pid, pid=rec.pid if running else 0)
    except BaseException:
        release_claim(cfg, rec, wait=False)  # the exit command cleans up after all
        raise
    rec = cleanup_locked(cfg, db, rec, code, from_exit_command=False, exit_policy=exit_policy)
    if spec.remove:
        empty_trash(cfg)  # the rootfs mount and bytes, as the exit command did before
    return rec


def prepare_cleanup(cfg: Config) -> None:
    """Load what cleanup_locked needs (modules, the runtime probe)."""
    from podctl.engine import network  # noqa: F401
    from podctl.runtime import claim, fsutil, rootfs  # noqa: F401

    with contextlib.suppress(Exception):  # cleanup_locked copes without one
        runtime(cfg)


def cleanup_locked(cfg: Config, db: StateDB, rec: ContainerRecord, code: int | None,
                   *, from_exit_command: bool, exit_policy: bool | None = None) -> ContainerRecord:  # fmt: skip
    """After the container process ended: record it, release the runtime and the rootfs,
    then remove (--rm) or restart (restart policy, only FROM_EXIT_COMMAND). The caller holds
    the lock. EXIT_POLICY (default: FROM_EXIT_COMMAND) applies the pod's --exit-policy, as a
    stop that claimed the cleanup must (the exit command does not run for it)."""
    from podctl.log import log
    from podctl.runtime import rootfs

    paths = ContainerPaths.of(cfg, rec.id)
    if code is None:
        code = paths.exit_code()
    if rec.spec.get("healthcheck"):
        from podctl.engine import health

        health.unschedule(rec)
    spec = spec_of(rec)
    if rec.state in (State.RUNNING, State.STOPPING, State.CREATED) and not spec.remove:
        rec = db.update_container(
            rec.id, state=State.EXITED, exit_code=code if code is not None else -1,
            finished_at=time.time(), pid=0,
        )  # fmt: skip
    with contextlib.suppress(Exception):
        runtime(cfg, rec).forget(rec.id)
    _detach_network(cfg, db, rec)
    policy = from_exit_command if exit_policy is None else exit_policy
    if spec.remove:
        remove_locked(cfg, db, rec, volumes=True, keep_exit_file=True, released=True)
        _after_member_exit(cfg, db, rec, policy)
        return rec
    with contextlib.suppress(Exception):
        rootfs.umount(paths, rec.rootfs_driver)
    release_claim(cfg, rec)
    _after_member_exit(cfg, db, rec, policy)
    if from_exit_command and should_restart(spec, rec):
        rec = db.update_container(rec.id, restart_count=rec.restart_count + 1)
        try:
            return start(cfg, db, rec)
        except PodctlError as e:
            log.error("restarting container %s failed: %s", rec.name, e)
    return rec


def _detach_network(cfg: Config, db: StateDB, rec: ContainerRecord) -> None:
    from podctl.engine import network

    current = db.get_container(rec.id) or rec
    with contextlib.suppress(Exception):
        network.detach(cfg, db, current)


def _after_member_exit(cfg: Config, db: StateDB, rec: ContainerRecord, apply: bool) -> None:
    """--exit-policy stop: the pod stops when its last member has exited (or was stopped)."""
    if not apply or not rec.pod or rec.extra.get("infra"):
        return
    from podctl.pods import policy

    with contextlib.suppress(Exception):
        policy.after_member_exit(cfg, db, rec)


def should_restart(spec: ContainerSpec, rec: ContainerRecord) -> bool:
    from podctl.spec import RestartPolicy

    if rec.stopped_by_user:
        return False
    policy = spec.restart_policy
    if policy in (RestartPolicy.ALWAYS, RestartPolicy.UNLESS_STOPPED):
        return True
    if policy == RestartPolicy.ON_FAILURE and rec.exit_code != 0:
        return not spec.restart_retries or rec.restart_count < spec.restart_retries
    return False


def remove_locked(cfg: Config, db: StateDB, rec: ContainerRecord, *, volumes: bool,
                  keep_exit_file: bool = False, released: bool = False) -> None:  # fmt: skip
    """Remove REC's record, bundle and storage (the caller holds the lock). RELEASED: the
    caller has just released its runtime state and network (cleanup_locked)."""
    from podctl.runtime import rootfs
    from podctl.runtime.fsutil import rmtree

    paths = ContainerPaths.of(cfg, rec.id)
    if rec.spec.get("healthcheck"):
        from podctl.engine import health

        health.unschedule(rec)
    if not released:
        with contextlib.suppress(Exception):
            runtime(cfg, rec).forget(rec.id)
        _detach_network(cfg, db, rec)
    code = paths.exit_code()
    release_claim(cfg, rec)  # it lives in the bundle
    rmtree(paths.bundle)
    # Unmounting (the kernel syncs the upper dir) and deleting the overlay dirs take tens of
    # ms: the name is freed now, the mount and the bytes by empty_trash (run by rm, prune and
    # conmon's exit command, off the `run --rm` path). A mount moves with its renamed parent.
    trash = cfg.root / TRASH
    try:
        trash.mkdir(exist_ok=True, mode=0o700)
        os.rename(paths.storage, trash / f"{rec.id}-{os.getpid()}")
    except FileNotFoundError:
        pass
    except OSError:
        rootfs.umount(paths, rec.rootfs_driver)
        rmtree(paths.storage)
    if not keep_exit_file or code is None:
        with contextlib.suppress(OSError):
            paths.exit_file.unlink()
    db.remove_container(rec.id)
    _remove_cidfile(rec)
    if volumes:
        for name in rec.extra.get("anon", {}).values():
            remove_volume_dir(cfg, db, name)
    drop_lock(cfg, rec.id)


def _remove_cidfile(rec: ContainerRecord) -> None:
    """The --cidfile of `create`/`run` goes with its container (podman >= 4.4 does so too):
    a unit's ExecStopPost then finds nothing to remove without starting podctl."""
    remove_id_file(rec.extra.get("cidfile"), rec.id)


def write_id_file(path: str, ident: str, *, kind: str, flag: str, replace: bool = False) -> None:
    """Write IDENT to the ID file PATH (FLAG: --cidfile, --pod-id-file), which must not exist
    (podman's rule), unless REPLACE (`--replace`): then a leftover file is overwritten, so
    generated units need no `rm -f` before them. KIND ("container", "pod") names the owner in
    the error."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL), 0o644)
    except FileExistsError as e:
        raise AlreadyExists(f"{kind} id file {path} exists: ensure another {kind} is not using it "
                            "or delete it") from e  # fmt: skip
    except OSError as e:
        raise InvalidSpec(f"{flag} {path}: {e.strerror}") from e
    with os.fdopen(fd, "w") as f:
        f.write(ident)


def remove_id_file(path: object, ident: str) -> None:
    """Remove the ID file PATH (a --cidfile, a --pod-id-file) only while it still names IDENT:
    a new container or pod may have taken the path."""
    if not isinstance(path, str) or not path:
        return
    try:
        with open(path) as f:
            if f.read(200).strip() != ident:
                return
        os.unlink(path)
    except OSError:
        pass


def remove_volume_dir(cfg: Config, db: StateDB, name: str) -> None:
    import shutil

    shutil.rmtree(cfg.root / "volumes" / name, ignore_errors=True)
    db.remove_volume(name)


def new_volume(cfg: Config, db: StateDB, name: str, *, anonymous: bool = False,
               labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
               exist_ok: bool = False) -> VolumeRecord:  # fmt: skip
    data = volume_path(cfg, name)
    vol = VolumeRecord(name=name, mountpoint=str(data), created=time.time(),
                       labels=labels or {}, options=options or {}, anonymous=anonymous)  # fmt: skip
    vol = db.add_volume(vol, exist_ok=exist_ok)
    data.mkdir(parents=True, exist_ok=True, mode=0o755)
    return vol
