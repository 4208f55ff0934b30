"""Container verbs: one function per command, frozen Options in, frozen Reports out.

Commands that touch mounts or subuid-owned files join the user's namespace first
(`lifecycle.join_userns`), before any thread exists.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from podctl import procs
from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.errors import (
    AlreadyExists,
    Ambiguous,
    ContainerExit,
    InvalidSpec,
    NotFound,
    PodctlError,
    StateError,
)
from podctl.runtime.paths import ContainerPaths
from podctl.state.containers import ContainerRecord, State, StateDB

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import IO, Any

    from podctl.spec import ContainerSpec
else:
    from podctl.records import dataclass, field


def _hex(nbytes: int) -> str:
    return os.urandom(nbytes).hex()


def _pick(seq: Sequence[str]) -> str:
    return seq[int.from_bytes(os.urandom(2), "big") % len(seq)]


@dataclass(frozen=True)
class CreateOptions:
    spec: ContainerSpec
    replace: bool = False
    cidfile: str | None = None


@dataclass(frozen=True)
class RunOptions:
    create: CreateOptions
    detach: bool = False


@dataclass(frozen=True)
class ItemReport:
    """One container's outcome in a batch verb (podman reports per item and keeps going)."""

    ref: str
    id: str = ""
    error: PodctlError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class PsOptions:
    all: bool = False
    filters: tuple[str, ...] = ()
    last: int = -1
    no_trunc: bool = False


# -- helpers ------------------------------------------------------------------------------------

_ADJ = ("admiring", "brave", "clever", "dazzling", "eager", "festive", "gallant", "happy",
        "jolly", "keen", "lucid", "modest", "nifty", "optimistic", "peaceful", "quirky",
        "relaxed", "serene", "trusting", "upbeat", "vibrant", "wizardly", "youthful", "zealous")  # fmt: skip
_NOUN = ("albattani", "babbage", "curie", "darwin", "euclid", "fermat", "goodall", "hopper",
         "hypatia", "johnson", "kepler", "lovelace", "meitner", "noether", "pascal", "ritchie",
         "shannon", "tesla", "turing", "volhard", "wozniak", "yalow", "zhukovsky", "lamarr")  # fmt: skip


def _random_name(db: StateDB) -> str:
    for _ in range(20):
        name = f"{_pick(_ADJ)}_{_pick(_NOUN)}"
        if not db.name_taken(name):
            return name
    return f"{_pick(_ADJ)}_{_hex(3)}"


def _store(cfg: Config) -> Any:
    from podctl.image.store import open_store

    return open_store(cfg)


def find(db: StateDB, ref: str) -> ContainerRecord:
    return db.lookup_container(ref)


def each_locked(cfg: Config, db: StateDB, refs: Sequence[str], every: Sequence[Any], *,
                lookup: Callable[[str], Any], lock_key: Callable[[Any], str],
                reload: Callable[[Any], Any], missing: Callable[[str], PodctlError],
                fn: Callable[[StateDB, Any], Any], ok_ref: Callable[[str, Any], str]) -> list[ItemReport]:  # fmt: skip
    """The loop of the batch verbs, for containers and pods: EVERY (--all) and REFS resolved by
    LOOKUP, then FN(db, item) under the item's lock on the item reloaded by RELOAD (MISSING(ref)
    when it went meanwhile). Podman reports per item and keeps going."""
    targets: list[tuple[str, Any, PodctlError | None]] = [(item.id, item, None) for item in every]
    for ref in refs:
        try:
            targets.append((ref, lookup(ref), None))
        except PodctlError as e:
            targets.append((ref, None, e))
    out: list[ItemReport] = []
    for ref, target, err in targets:
        if target is None:
            out.append(ItemReport(ref, error=err))
            continue
        try:
            with lc.locked(cfg, lock_key(target)):
                current = reload(target)
                if current is None:
                    raise missing(ref)
                fn(db, current)
            out.append(ItemReport(ok_ref(ref, target), target.id))
        except PodctlError as e:
            out.append(ItemReport(ref, target.id, e))
    return out


def _each(cfg: Config, refs: Sequence[str], fn: Callable[[StateDB, ContainerRecord], Any],
          *, all_: bool = False, only: Callable[[ContainerRecord], bool] | None = None) -> list[ItemReport]:  # fmt: skip
    db = lc.open_db(cfg)
    every = [r for r in db.containers() if only is None or only(lc.observed(cfg, r))] if all_ else []
    return each_locked(
        cfg, db, refs, every, lookup=lambda ref: find(db, ref), lock_key=lambda r: r.id,
        reload=lambda r: db.get_container(r.id),
        missing=lambda ref: NotFound(f"no container with name or ID \"{ref}\" found: no such container"),
        fn=fn, ok_ref=lambda ref, _r: ref,
    )  # fmt: skip


# -- create / run / start -------------------------------------------------------------------------


LOG_DRIVERS = ("k8s-file", "journald", "none", "passthrough")
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def _log_driver(spec: ContainerSpec) -> ContainerSpec:
    """Check --log-driver; journald where there is none falls back to k8s-file (as podman)."""
    if spec.log_driver not in LOG_DRIVERS:
        raise InvalidSpec(f"--log-driver {spec.log_driver!r}: must be one of {', '.join(LOG_DRIVERS)}")
    if spec.log_driver == "journald" and not os.path.exists(JOURNAL_SOCKET):
        lc.warn("--log-driver journald: no journald on this host (%s is missing): logging to k8s-file",
                JOURNAL_SOCKET)  # fmt: skip
        return spec.replace(log_driver="k8s-file")
    return spec


def create(cfg: Config, opts: CreateOptions) -> ContainerRecord:
    lc.join_userns(cfg)
    from podctl.image.api import PullPolicy
    from podctl.runtime import ocispec
    from podctl.spec import MountType

    spec = _log_driver(opts.spec)
    db = lc.open_db(cfg)
    pod_name = ""
    if spec.pod:
        spec, pod_name = _join_pod(db, spec)
    else:
        from podctl import net

        net.parse_network(spec.network or "slirp4netns")
    for a in spec.add_hosts:
        from podctl.net import etc

        etc.parse_add_host(a)
    store = _store(cfg)
    try:
        image = store.ensure(spec.image, PullPolicy(spec.pull))
    except ValueError as e:
        raise InvalidSpec(f"--pull={spec.pull}: must be always, missing, never or newer") from e
    lc.remember_image(image)
    img_cfg = image.config.get("config") or {}
    if spec.publish_all and not spec.pod:
        from podctl import net

        spec = spec.replace(ports=(*spec.ports, *net.publish_all(img_cfg.get("ExposedPorts") or {}, spec.ports)))
    if spec.ports and not spec.pod:
        from podctl.engine import network

        network.check_ports(spec.network, spec.ports)  # a taken port: fail before anything exists
    if spec.healthcheck is not None or spec.no_healthcheck or img_cfg.get("Healthcheck") or spec.sdnotify == "healthy":
        from podctl.engine import health

        spec = health.effective(spec, img_cfg)
        health.check_sdnotify(spec)
    args = ocispec.process_args(spec, img_cfg)
    caps = ocispec.capabilities(spec, cfg.default_capabilities)
    if opts.replace and spec.name and db.name_taken(spec.name):
        old = find(db, spec.name)
        rm(cfg, [old.id], force=True, volumes=False)
    name = spec.name or _random_name(db)
    if spec.name is None:
        spec = spec.replace(name=name)
    extra: dict[str, Any] = {
        "command": args, "caps": caps, "image_cmd": img_cfg.get("Cmd"),
        "image_entrypoint": img_cfg.get("Entrypoint"), "image_workdir": img_cfg.get("WorkingDir"),
        "image_user": img_cfg.get("User", ""), "image_digest": image.digest,
        "env": ocispec.environment(spec, img_cfg, "", spec.hostname or ""),
    }  # fmt: skip
    if pod_name:
        extra["pod_name"] = pod_name
    if opts.cidfile:  # removed with the container (lifecycle.remove_locked)
        extra["cidfile"] = os.path.abspath(opts.cidfile)
    netns_from = None
    if spec.network.startswith("container:") and not spec.pod:
        netns_from = find(db, spec.network.split(":", 1)[1]).id
        extra["netns_from"] = netns_from
    for m in spec.mounts:
        if m.type == MountType.BIND:
            try:
                os.stat(m.source)
            except OSError as e:
                raise InvalidSpec(f"statfs {m.source}: {(e.strerror or str(e)).lower()}") from e
    cid = _hex(32)
    anon = {m.destination: _hex(32) for m in spec.mounts
            if m.type == MountType.VOLUME and not m.source}  # fmt: skip
    extra["anon"] = anon
    extra["volumes"] = [m.source for m in spec.mounts if m.type == MountType.VOLUME and m.source]
    extra["volumes"] += list(anon.values())
    rec = ContainerRecord(
        id=cid, name=name, created=time.time(), image=spec.image, spec=spec.to_dict(),
        state=State.CONFIGURED if spec.mounts else State.CREATED, image_id=image.id, image_name=image.names[0] if image.names else spec.image,
        pod=spec.pod or "", extra=extra,
    )  # fmt: skip
    db.add_container(rec)  # first, so that a crash from here on leaves a record `rm` can clean
    try:
        for m in spec.mounts:
            if m.type == MountType.VOLUME and m.source:
                lc.new_volume(cfg, db, m.source, exist_ok=True)
        for vname in anon.values():
            lc.new_volume(cfg, db, vname, anonymous=True)
        from podctl.runtime import rootfs

        rootfs.prepare_dirs(ContainerPaths.of(cfg, cid))
        if rec.state != State.CREATED:
            rec = db.update_container(cid, state=State.CREATED)
        if opts.cidfile:
            lc.write_id_file(opts.cidfile, cid, kind="container", flag="--cidfile", replace=opts.replace)
    except BaseException:
        with contextlib.suppress(Exception), lc.locked(cfg, cid):
            lc.remove_locked(cfg, db, rec, volumes=True)
        raise
    return rec


def _join_pod(db: StateDB, spec: ContainerSpec) -> tuple[ContainerSpec, str]:
    """A member: the pod's id, its shared volumes; ports belong to the pod."""
    from podctl.state import pods as podstate

    pod = podstate.lookup(db, spec.pod or "")
    shares = pod.spec.get("share") or ()
    if "net" in shares and pod.infra_id and (spec.ports or spec.publish_all):
        raise InvalidSpec("invalid config provided: published or exposed ports must be defined when "
                          "the pod is created: network cannot be configured when it is shared with a pod")  # fmt: skip
    from podctl.spec import mounts_from_dicts

    dests = {m.destination for m in spec.mounts}
    shared = tuple(m for m in mounts_from_dicts(pod.spec.get("volumes") or ()) if m.destination not in dests)
    changes: dict[str, Any] = {"pod": pod.id}
    if shared:
        changes["mounts"] = (*spec.mounts, *shared)
    return spec.replace(**changes), pod.name


def start(cfg: Config, refs: Sequence[str], *, all_: bool = False) -> list[ItemReport]:
    lc.join_userns(cfg)
    return _each(cfg, refs, lambda db, rec: lc.start(cfg, db, rec), all_=all_,
                 only=lambda r: r.state != State.RUNNING)  # fmt: skip


def run(cfg: Config, opts: RunOptions) -> ContainerRecord:
    """Create and start. Detached: return at once. Attached: stream, then raise ContainerExit."""
    rec = create(cfg, opts.create)
    db = lc.open_db(cfg)
    spec = opts.create.spec
    if opts.detach:
        with lc.locked(cfg, rec.id):
            try:
                started = lc.start(cfg, db, rec)
            except PodctlError:
                if spec.remove:
                    with contextlib.suppress(Exception):
                        lc.remove_locked(cfg, db, rec, volumes=True)
                raise
        if spec.sdnotify == "healthy" and os.environ.get("NOTIFY_SOCKET"):
            from podctl.engine import health

            health.wait_healthy(cfg, started)
        return started
    try:
        from podctl.engine import direct_run

        if direct_run.direct_run_ok(rec):
            raise ContainerExit(direct_run.run_direct(cfg, db, rec))
        return _run_attached(cfg, db, rec)
    finally:
        if spec.remove:
            sys.stdout.flush()
            sys.stderr.flush()
            lc.empty_trash_detached(cfg)


def start_attached(cfg: Config, ref: str) -> ContainerRecord:
    """`start --attach`: start one container and stream its output until it exits."""
    lc.join_userns(cfg)
    db = lc.open_db(cfg)
    rec = lc.sync(cfg, db, find(db, ref))
    if rec.state == State.RUNNING:
        raise StateError(f"container {rec.name} is already running: attach to it with logs -f")
    if rec.state in (State.CONFIGURED, State.REMOVING):
        raise StateError(f"container {rec.name} is not fully created (state {rec.state}): remove it")
    return _run_attached(cfg, db, rec)


def _run_attached(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    from podctl.runtime import attach

    spec = lc.spec_of(rec)
    with lc.locked(cfg, rec.id):
        try:
            rec, paths = lc.create_in_runtime(cfg, db, rec)
            sock = attach.connect(paths.bundle)
            rec = lc.start_created(cfg, db, rec)
        except BaseException:
            lc.after_failed_start(cfg, db, rec)
            if spec.remove:
                with contextlib.suppress(Exception):
                    lc.remove_locked(cfg, db, rec, volumes=True)
            raise
    import signal

    def proxy(sig: int, _frame: object) -> None:  # podman's --sig-proxy
        with contextlib.suppress(PodctlError):
            lc.runtime(cfg, rec).kill(rec.id, sig)

    proxied = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
    old = {s: signal.signal(s, proxy) for s in proxied}
    try:
        attach.stream(sock, paths.bundle, stdin=spec.interactive, tty=spec.tty)
    finally:
        sock.close()
        for s, h in old.items():
            signal.signal(s, h)
    code = lc.wait_exit(paths, 3600 * 24 * 365, rec.conmon_pid)
    with lc.locked(cfg, rec.id):
        current = db.get_container(rec.id)
        if current is not None:
            lc.cleanup_locked(cfg, db, current, code, from_exit_command=False)
    if code is None:
        code = -1
    with contextlib.suppress(OSError):
        if db.get_container(rec.id) is None:
            paths.exit_file.unlink()
    raise ContainerExit(code)


# -- stop / kill / restart / rm -------------------------------------------------------------------


def _any_exists(cfg: Config, refs: Sequence[str]) -> bool:
    """Whether any of REFS names a container (ambiguous prefixes count as existing)."""
    db = lc.open_db(cfg)
    for ref in refs:
        try:
            find(db, ref)
            return True
        except Ambiguous:
            return True
        except NotFound:
            pass
    return False


def _trash_empty(cfg: Config) -> bool:
    try:
        return not os.listdir(cfg.root / lc.TRASH)
    except OSError:
        return True


def stop(cfg: Config, refs: Sequence[str], *, timeout: int | None = None, all_: bool = False,
         ignore: bool = False) -> list[ItemReport]:  # fmt: skip
    # Only names that exist need the namespace (and its ~5 ms): `stop --ignore` of a
    # container that is gone (systemd's ExecStop after the exit) just reports it.
    if all_ or _any_exists(cfg, refs):
        lc.join_userns(cfg)

    def one(db: StateDB, rec: ContainerRecord) -> None:
        lc.join_userns(cfg)  # a no-op once joined; here for a container created since the check
        lc.stop(cfg, db, rec, timeout, exit_policy=True)

    out = _each(cfg, refs, one, all_=all_, only=lambda r: r.state in (State.RUNNING, State.STOPPING))
    if ignore:
        out = [r for r in out if not isinstance(r.error, NotFound)]
    return out


def kill(cfg: Config, refs: Sequence[str], *, signal: str = "KILL", all_: bool = False) -> list[ItemReport]:
    from podctl.runtime.oci import parse_signal

    lc.join_userns(cfg)
    sig = parse_signal(signal)

    def one(db: StateDB, rec: ContainerRecord) -> None:
        rec = lc.sync(cfg, db, rec)
        if rec.state != State.RUNNING:
            raise StateError(f"can only kill running containers. {rec.id} is in state {rec.state}: "
                             "container state improper")  # fmt: skip
        lc.kill(cfg, db, rec, sig)

    return _each(cfg, refs, one, all_=all_, only=lambda r: r.state == State.RUNNING)


def restart(cfg: Config, refs: Sequence[str], *, timeout: int | None = None, all_: bool = False) -> list[ItemReport]:
    lc.join_userns(cfg)

    def one(db: StateDB, rec: ContainerRecord) -> None:
        rec = lc.stop(cfg, db, rec, timeout)
        current = db.get_container(rec.id)
        if current is None:
            raise NotFound(f"container {rec.name} was removed when it stopped (--rm)")
        lc.start(cfg, db, current)

    return _each(cfg, refs, one, all_=all_)


class RunningError(StateError):
    """rm of a running container without --force (podman's exit status 2)."""

    exit_code = 2


def rm(cfg: Config, refs: Sequence[str], *, force: bool = False, volumes: bool = False,
       all_: bool = False, ignore: bool = False, timeout: int | None = None) -> list[ItemReport]:  # fmt: skip
    from podctl.state import pods as podstate

    # Nothing to remove and no trash to empty (systemd's ExecStopPost `rm -f --ignore` after
    # the container is gone): no namespace to join, no storage to touch.
    busy = all_ or _any_exists(cfg, refs) or not _trash_empty(cfg)
    if busy:
        lc.join_userns(cfg)

    def one(db: StateDB, rec: ContainerRecord) -> None:
        nonlocal busy
        if not busy:  # created since the check
            busy = True
            lc.join_userns(cfg)
        if rec.extra.get("infra") and podstate.get(db, rec.pod) is not None:
            raise StateError(f"container {rec.id} is the infra container of pod {rec.pod} and cannot be "
                             "removed without removing the pod")  # fmt: skip
        rec = lc.sync(cfg, db, rec)
        if rec.state in (State.RUNNING, State.STOPPING):
            if not force:
                raise RunningError(
                    f"cannot remove container {rec.id} as it is running - running or paused "
                    "containers cannot be removed without force: container state improper"
                )
            rec = lc.stop(cfg, db, rec, 0 if timeout is None else timeout)
            if db.get_container(rec.id) is None:
                return
        elif rec.state == State.CREATED and rec.conmon_pid and procs.alive(rec.conmon_pid):
            lc.stop(cfg, db, rec, 0)
            if db.get_container(rec.id) is None:
                return
        lc.remove_locked(cfg, db, rec, volumes=volumes)

    pod_reports: list[ItemReport] = []
    if all_ and force:
        # --all --force leaves nothing: pods go whole (members, then the infra holding the network).
        from podctl.engine import pods

        pod_reports = [r for r in pods.rm(cfg, [], force=True, all_=True, timeout=timeout) if not r.ok]
    # --all: a pod's infra container goes with its pod (`pod rm`), not alone.
    out = pod_reports + _each(cfg, refs, one, all_=all_, only=lambda r: not r.extra.get("infra"))
    if busy:
        lc.empty_trash(cfg)
    if ignore:
        out = [r for r in out if not isinstance(r.error, NotFound)]
    return out


def cleanup(cfg: Config, ref: str) -> None:
    """conmon's exit command: record the exit, release the rootfs, then --rm or restart."""
    lc.join_userns(cfg)
    db = lc.open_db(cfg)
    with contextlib.suppress(NotFound):
        rec = find(db, ref)
        with lc.locked(cfg, rec.id):
            current = db.get_container(rec.id)
            if current is not None:
                paths = ContainerPaths.of(cfg, rec.id)
                code = paths.exit_code()
                # The exit command of an earlier run of a container that was restarted since:
                # its current monitor is alive and has not written an exit file.
                stale = code is None and procs.alive(current.conmon_pid)
                if not stale and (current.state in (State.RUNNING, State.STOPPING, State.CREATED) or code is not None):
                    lc.cleanup_locked(cfg, db, current, code, from_exit_command=True)
    _prune_stale_exit_files(cfg, db)
    if not _trash_empty(cfg):  # most exits leave none: no shutil, no rootfs module to load
        lc.empty_trash(cfg)


def _prune_stale_exit_files(cfg: Config, db: StateDB) -> None:
    """Exit files kept for `run --rm` readers; drop those of removed containers after a minute."""
    exits = cfg.runroot / "exits"
    now = time.time()
    with contextlib.suppress(OSError):
        for f in exits.iterdir():
            with contextlib.suppress(OSError):
                if now - f.stat().st_mtime > 60 and db.get_container(f.name) is None:
                    f.unlink()


def prune(cfg: Config) -> list[ItemReport]:
    lc.join_userns(cfg)
    db = lc.open_db(cfg)
    targets = [r.id for r in db.containers() if lc.observed(cfg, r).state not in (State.RUNNING, State.STOPPING)]
    return rm(cfg, targets)


def rename(cfg: Config, ref: str, new_name: str) -> None:
    from podctl.spec import check_name

    check_name(new_name, "container")
    db = lc.open_db(cfg)
    rec = find(db, ref)
    if db.name_taken(new_name):
        raise AlreadyExists(f"name {new_name!r} is in use: container already exists")
    spec = lc.spec_of(rec).replace(name=new_name)
    with lc.locked(cfg, rec.id):
        db.update_container(rec.id, name=new_name, spec=spec.to_dict())


def exists(cfg: Config, ref: str) -> bool:
    if not cfg.state_db.exists():
        return False
    try:
        find(lc.open_db(cfg), ref)
    except NotFound:
        return False
    return True


def wait(cfg: Config, refs: Sequence[str], *, interval: float = 0.25) -> list[int]:
    db = lc.open_db(cfg)
    recs = [find(db, r) for r in refs]
    codes = []
    for rec in recs:
        while True:
            current = db.get_container(rec.id)
            if current is None:
                code = ContainerPaths.of(cfg, rec.id).exit_code()
                if code is None:
                    raise NotFound(f"no container with ID {rec.id} found in database: no such container")
                codes.append(code)
                break
            current = lc.observed(cfg, current)
            if current.state in (State.EXITED, State.CONFIGURED) or (
                current.state == State.CREATED and not current.started_at
            ):
                codes.append(current.exit_code)
                break
            time.sleep(interval)
    return codes


# -- listing ---------------------------------------------------------------------------------


def ps(cfg: Config, opts: PsOptions) -> list[dict[str, Any]]:
    from podctl.engine.container_views import ps_item

    if not cfg.state_db.exists():
        return []
    db = lc.open_db(cfg)
    now = time.time()
    items = []
    recs = [lc.observed(cfg, r) for r in db.containers()]
    if opts.last >= 0:
        recs = recs[-opts.last:] if opts.last else []
    for rec in recs:
        if not opts.all and not opts.filters and rec.state not in (State.RUNNING, State.STOPPING):
            continue
        if not _matches(rec, opts.filters):
            continue
        items.append(ps_item(rec, now, opts.no_trunc))
    items.reverse()  # newest first, as podman
    return items


def _matches(rec: ContainerRecord, filters: Sequence[str]) -> bool:
    import re

    by_key: dict[str, list[str]] = {}
    for f in filters:
        key, sep, val = f.partition("=")
        if not sep:
            raise InvalidSpec(f"--filter {f}: expected KEY=VALUE")
        by_key.setdefault(key, []).append(val)
    for key, vals in by_key.items():
        if key == "id":
            ok = any(rec.id.startswith(v) for v in vals)
        elif key == "name":
            ok = any(re.search(v, rec.name) for v in vals)
        elif key == "label":
            labels = {k: v for k, v in rec.spec.get("labels") or ()}
            ok = all(
                (k in labels and (not s or labels[k] == v))
                for k, s, v in (x.partition("=") for x in vals)
            )
        elif key == "status":
            ok = any(v == _status_word(rec) for v in vals)
        elif key == "exited":
            ok = rec.state == State.EXITED and any(str(rec.exit_code) == v for v in vals)
        elif key == "ancestor":
            ok = any(v in (rec.image, rec.image_name) or rec.image_id.startswith(v) for v in vals)
        elif key == "pod":
            ok = any(v in (rec.pod, rec.extra.get("pod_name", "")) for v in vals)
        elif key == "restart-policy":
            ok = any(v == rec.spec.get("restart_policy", "no") for v in vals)
        else:
            raise InvalidSpec(f"--filter {key}: invalid filter")
        if not ok:
            return False
    return True


def _status_word(rec: ContainerRecord) -> str:
    return {State.RUNNING: "running", State.STOPPING: "stopping", State.EXITED: "exited",
            State.CREATED: "created", State.CONFIGURED: "created", State.REMOVING: "removing"}[rec.state]  # fmt: skip


def inspect(cfg: Config, refs: Sequence[str]) -> tuple[list[dict[str, Any]], list[PodctlError]]:
    from podctl.engine.container_views import inspect as view

    db = lc.open_db(cfg)
    out, errs = [], []
    rt = cfg.runtime_name or "runc"
    with contextlib.suppress(PodctlError):
        from podctl.runtime.probe import CACHE

        if (cfg.runroot / CACHE).exists():
            rt = lc.runtime(cfg).path
    for ref in refs:
        try:
            rec = lc.observed(cfg, find(db, ref))
            out.append(view(cfg, rec, lc.spec_of(rec), rec.extra.get("runtime") or rt,
                            network_of=_network_owner(cfg, db, rec)))  # fmt: skip
        except PodctlError as e:
            errs.append(e)
    return out, errs


def _network_owner(cfg: Config, db: StateDB, rec: ContainerRecord) -> ContainerRecord:
    """The container whose network REC uses: its pod's infra for a member, else itself."""
    if rec.pod and not rec.extra.get("infra"):
        from podctl.state import pods as podstate

        pod = podstate.get(db, rec.pod)
        infra = db.get_container(pod.infra_id) if pod and pod.infra_id else None
        if infra is not None:
            return lc.observed(cfg, infra)
    return rec


def port(cfg: Config, ref: str) -> list[str]:
    from podctl.engine import network

    db = lc.open_db(cfg)
    rec = _network_owner(cfg, db, lc.observed(cfg, find(db, ref)))
    if rec.state not in (State.RUNNING, State.STOPPING):
        return []
    return [f"{p['container_port']}/{p.get('protocol', 'tcp')} -> {p.get('host_ip') or '0.0.0.0'}:{p['host_port']}"
            for p in network.ports_view(rec)]  # fmt: skip


def log_path(cfg: Config, ref: str) -> tuple[ContainerRecord, Path]:
    rec = find(lc.open_db(cfg), ref)
    return rec, ContainerPaths.of(cfg, rec.id).log_path


def is_running(cfg: Config, cid: str) -> bool:
    db = lc.open_db(cfg)
    rec = db.get_container(cid)
    return rec is not None and lc.observed(cfg, rec).state in (State.RUNNING, State.STOPPING)


# -- exec / top / cp ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecOptions:
    command: tuple[str, ...]
    interactive: bool = False
    tty: bool = False
    env: tuple[tuple[str, str], ...] = ()
    user: str | None = None
    workdir: str | None = None
    detach: bool = False
    privileged: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def exec_(cfg: Config, ref: str, opts: ExecOptions) -> int:
    from podctl.engine.container_ops import exec_in

    lc.join_userns(cfg)
    db = lc.open_db(cfg)
    rec = lc.sync(cfg, db, find(db, ref))
    if rec.state != State.RUNNING:
        raise StateError("can only create exec sessions on running containers: container state improper")
    return exec_in(cfg, rec, opts)


def top(cfg: Config, ref: str, descriptors: Sequence[str]) -> list[list[str]]:
    from podctl.engine.container_ops import top_rows

    lc.join_userns(cfg)
    db = lc.open_db(cfg)
    rec = lc.sync(cfg, db, find(db, ref))
    if rec.state != State.RUNNING:
        raise StateError("top can only be used on running containers: container state improper")
    return top_rows(cfg, rec, descriptors)


def cp(cfg: Config, src: str, dest: str, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> None:
    from podctl.engine.container_ops import copy

    lc.join_userns(cfg)
    copy(cfg, lc.open_db(cfg), src, dest, stdin=stdin, stdout=stdout)


def parse_cp_arg(arg: str) -> tuple[str | None, str]:
    """`CTR:/path` -> (CTR, /path); a plain path (or one starting with / or .) -> (None, path)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    ctr, _, path = arg.partition(":")
    return ctr, path
