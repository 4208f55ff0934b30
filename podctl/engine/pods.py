"""Pod verbs: one function per command, frozen Options in, records/reports out.

PUBLIC CONTRACT (kube play, systemd generate): PodCreateOptions, create, start, stop, rm,
inspect, exists, find, members. Members are ordinary containers created with
`podctl.engine.containers.create(cfg, CreateOptions(spec=ContainerSpec(..., pod=POD_ID)))`
(POD_ID may also be the pod's name) and started with `containers.start`; starting a member
starts the pod's infra container first. The infra starts first and stops last; the members
start (and stop) at once, as podman's do.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence

from podctl import procs
from podctl.config import Config, ensure_private_dir
from podctl.engine import lifecycle as lc
from podctl.engine.containers import ItemReport, each_locked
from podctl.errors import AlreadyExists, InvalidSpec, NotFound, PodctlError, StateError
from podctl.state import pods as podstate
from podctl.state.containers import ContainerRecord, State, StateDB
from podctl.state.pods import PodRecord

# podctl.records and not typing.TYPE_CHECKING: start-up cost of `pod create`/`pod rm`
# (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any

    from podctl.spec import PodSpec
else:
    from podctl.records import dataclass


@dataclass(frozen=True)
class PodCreateOptions:
    spec: PodSpec
    replace: bool = False
    pod_id_file: str | None = None
    infra_conmon_pidfile: str | None = None
    infra_name: str | None = None


class PodRunningError(StateError):
    exit_code = 125


def _db(cfg: Config) -> StateDB:
    return lc.open_db(cfg)


def find(cfg: Config, ref: str) -> PodRecord:
    if not cfg.state_db.exists():
        raise NotFound(f"no pod with name or ID {ref} found: no such pod")
    return podstate.lookup(_db(cfg), ref)


def exists(cfg: Config, ref: str) -> bool:
    try:
        find(cfg, ref)
    except NotFound:
        return False
    return True


def members(cfg: Config, ref: str) -> list[ContainerRecord]:
    """The pod's member containers (not the infra) in creation order."""
    db = _db(cfg)
    pod = podstate.lookup(db, ref)
    return [r for r in podstate.members(db, pod.id) if r.id != pod.infra_id]


def pod_spec(pod: PodRecord) -> PodSpec:
    from podctl.spec import PodSpec

    return PodSpec.from_dict(pod.spec)


def read_id_file(path: str) -> str:
    try:
        with open(path) as f:
            ref = f.read().strip()
    except OSError as e:
        raise NotFound(f"reading pod ID file {path}: {e.strerror}") from e
    if not ref:
        raise NotFound(f"pod ID file {path} is empty")
    return ref


# -- create -----------------------------------------------------------------------------------


def create(cfg: Config, opts: PodCreateOptions) -> PodRecord:
    """Record the pod and its infra container. Nothing here needs the user namespace (the
    directories it makes belong to the user, who is root inside it), so a new pod's `create`
    does not join it (the ExecStartPre of every pod unit: ctypes and setns, ~2 ms); `rm` joins it
    for --replace."""
    ensure_private_dir(cfg.root)  # as joining would: the store stays the user's alone
    from podctl import net
    from podctl.engine import network
    from podctl.pods import infra as infra_mod
    from podctl.runtime import rootfs
    from podctl.runtime.paths import ContainerPaths

    spec = opts.spec
    net.parse_network(spec.network)
    if spec.infra:
        infra_mod.catatonit_path()
    for a in spec.add_hosts:
        from podctl.net import etc

        etc.parse_add_host(a)
    db = _db(cfg)
    if opts.replace and podstate.name_taken(db, spec.name):
        rm(cfg, [spec.name], force=True)
    if podstate.name_taken(db, spec.name):
        old = podstate.lookup(db, spec.name)
        raise AlreadyExists(f"{spec.name}: pod already exists (id {old.id[:12]}): use --replace to replace it")
    if spec.infra and spec.ports:
        network.check_ports(spec.network, spec.ports)  # a taken port: fail before anything exists
    pid = os.urandom(32).hex()
    infra_name = opts.infra_name or spec.infra_name or f"{pid[:12]}-infra"
    if spec.infra and db.name_taken(infra_name):
        raise AlreadyExists(f'the container name "{infra_name}" is already in use: that name is already in use')
    extra: dict[str, Any] = {}
    if opts.infra_conmon_pidfile:
        extra["infra_conmon_pidfile"] = os.path.abspath(opts.infra_conmon_pidfile)
    if opts.pod_id_file:
        extra["pod_id_file"] = os.path.abspath(opts.pod_id_file)
    rec = PodRecord(id=pid, name=spec.name, created=time.time(), spec=spec.to_dict(), extra=extra)
    podstate.add(db, rec)
    try:
        if spec.infra:
            ispec = infra_mod.infra_spec(spec, pid, infra_name)
            iid = os.urandom(32).hex()
            irec = ContainerRecord(
                id=iid, name=infra_name, created=time.time(), image=infra_mod.INFRA_IMAGE,
                spec=ispec.to_dict(), state=State.CREATED, image_name=infra_mod.INFRA_IMAGE,
                pod=pid, rootfs_driver="copy",
                extra={"infra": True, "command": [infra_mod.CATATONIT, "-P"], "pod_name": spec.name},
            )  # fmt: skip
            db.add_container(irec)
            rootfs.prepare_dirs(ContainerPaths.of(cfg, iid))
            rec = podstate.update(db, pid, infra_id=iid)
        if opts.pod_id_file:
            lc.write_id_file(opts.pod_id_file, pid, kind="pod", flag="--pod-id-file", replace=opts.replace)
        if opts.replace and opts.infra_conmon_pidfile:
            # A leftover PID file names no process of this pod: `pod start` writes the infra's.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(opts.infra_conmon_pidfile)
    except BaseException:
        with contextlib.suppress(Exception):
            _remove_pod(cfg, db, podstate.get(db, pid) or rec)
        raise
    return rec


# -- batch helper ----------------------------------------------------------------------------


def _each(cfg: Config, refs: Sequence[str], fn: Callable[[StateDB, PodRecord], Any], *,
          all_: bool = False) -> list[ItemReport]:  # fmt: skip
    db = _db(cfg)
    return each_locked(
        cfg, db, refs, podstate.all_pods(db) if all_ else [], lookup=lambda ref: podstate.lookup(db, ref),
        lock_key=lambda p: f"pod-{p.id}", reload=lambda p: podstate.get(db, p.id),
        missing=lambda ref: NotFound(f"no pod with name or ID {ref} found: no such pod"),
        fn=fn, ok_ref=lambda _ref, p: p.id,
    )  # fmt: skip


def _ordered(db: StateDB, pod: PodRecord) -> tuple[ContainerRecord | None, list[ContainerRecord]]:
    recs = podstate.members(db, pod.id)
    infra = next((r for r in recs if r.id == pod.infra_id), None)
    return infra, [r for r in recs if r.id != pod.infra_id]


# -- start / stop / restart / kill -------------------------------------------------------------


def _start_one(cfg: Config, db: StateDB, pod: PodRecord) -> None:
    infra, mems = _ordered(db, pod)
    if infra is not None:
        with lc.locked(cfg, infra.id):
            current = db.get_container(infra.id)
            if current is not None:
                current = lc.sync(cfg, db, current)
                if current.state != State.RUNNING:
                    current = lc.start(cfg, db, current)
                _write_infra_pidfile(pod, current)
    errors = _start_members(cfg, db, mems)
    podstate.update(db, pod.id, state="running")
    if errors:
        raise StateError(f"starting pod {pod.name}: " + "; ".join(errors))


def _start_member(cfg: Config, db: StateDB, m: ContainerRecord) -> str | None:
    try:
        with lc.locked(cfg, m.id):
            current = db.get_container(m.id)
            if current is not None:
                lc.start(cfg, db, current)
    except PodctlError as e:
        return f"{m.name}: {e}"
    return None


def _start_members(cfg: Config, db: StateDB, mems: Sequence[ContainerRecord]) -> list[str]:
    """Start the members (the infra runs): at once, as podman does, since each one's time is
    mostly conmon and `runc create`/`start` processes. Errors in creation order."""
    todo = [m for m in mems if lc.observed(cfg, m).state != State.RUNNING]
    return [e for e in _at_once(cfg, db, todo, _start_member) if e]


def _at_once(cfg: Config, db: StateDB, recs: Sequence[ContainerRecord],
             fn: Callable[[Config, StateDB, ContainerRecord], str | None]) -> list[str | None]:  # fmt: skip
    """FN(cfg, db, rec) for every record, up to _PARALLEL at a time (threads: the work is
    mostly waiting for conmon/runc or for exits), each thread with its own database
    connection. Results in the order of RECS."""
    # A healthcheck's timer goes through the systemd bus client (asyncio): kept on this thread.
    if len(recs) < 2 or any(r.spec.get("healthcheck") for r in recs):
        return [fn(cfg, db, r) for r in recs]
    import threading

    results: list[str | None] = [None] * len(recs)
    lock = threading.Lock()
    queue = iter(range(len(recs)))

    def work(tdb: StateDB | None) -> None:
        own = tdb is None
        tdb = tdb or StateDB(cfg.state_db)  # an SQLite connection belongs to one thread
        try:
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                try:
                    results[i] = fn(cfg, tdb, recs[i])
                except BaseException as e:  # noqa: BLE001 - reported like any failed member
                    results[i] = f"{recs[i].name}: {e}"
        finally:
            if own:
                tdb.close()

    threads = [threading.Thread(target=work, args=(None,), name=f"pod-member-{n}")
               for n in range(min(len(recs), _PARALLEL) - 1)]  # fmt: skip
    for t in threads:
        t.start()
    work(db)
    for t in threads:
        t.join()
    return results


# Members started or stopped at once by `pod start` / `pod stop` / `kube play` (each is mostly
# conmon + runc processes, or waiting for an exit).
_PARALLEL = 4


def _write_infra_pidfile(pod: PodRecord, infra: ContainerRecord) -> None:
    path = pod.extra.get("infra_conmon_pidfile")
    if path and infra.conmon_pid:
        try:
            with open(path, "w") as f:
                f.write(str(infra.conmon_pid))
        except OSError as e:
            raise InvalidSpec(f"--infra-conmon-pidfile {path}: {e.strerror}") from e


def start(cfg: Config, refs: Sequence[str], *, all_: bool = False) -> list[ItemReport]:
    lc.join_userns(cfg)
    return _each(cfg, refs, lambda db, pod: _start_one(cfg, db, pod), all_=all_)


def _stop_member(timeout: int | None) -> Callable[[Config, StateDB, ContainerRecord], str | None]:
    def stop(cfg: Config, db: StateDB, m: ContainerRecord) -> str | None:
        with lc.locked(cfg, m.id):
            current = db.get_container(m.id)
            if current is not None:
                lc.stop(cfg, db, current, timeout)
        return None

    return stop


def _stop_one(cfg: Config, db: StateDB, pod: PodRecord, timeout: int | None) -> None:
    infra, mems = _ordered(db, pod)
    # At once (as podman): a pod of members that ignore SIGTERM stops in one timeout, not one
    # per member. Errors stop the pod's stop, as before, after every member was tried.
    errors = [e for e in _at_once(cfg, db, list(reversed(mems)), _stop_member(timeout)) if e]
    if errors:
        raise StateError(f"stopping pod {pod.name}: " + "; ".join(errors))
    if infra is not None:
        with lc.locked(cfg, infra.id):
            current = db.get_container(infra.id)
            if current is not None:
                lc.stop(cfg, db, current, timeout)
    podstate.update(db, pod.id, state="stopped")


def stop(cfg: Config, refs: Sequence[str], *, timeout: int | None = None, all_: bool = False,
         ignore: bool = False) -> list[ItemReport]:  # fmt: skip
    lc.join_userns(cfg)
    out = _each(cfg, refs, lambda db, pod: _stop_one(cfg, db, pod, timeout), all_=all_)
    return [r for r in out if not (ignore and isinstance(r.error, NotFound))]


def restart(cfg: Config, refs: Sequence[str], *, all_: bool = False) -> list[ItemReport]:
    lc.join_userns(cfg)

    def one(db: StateDB, pod: PodRecord) -> None:
        _stop_one(cfg, db, pod, None)
        _start_one(cfg, db, podstate.get(db, pod.id) or pod)

    return _each(cfg, refs, one, all_=all_)


def kill(cfg: Config, refs: Sequence[str], *, signal: str = "KILL", all_: bool = False) -> list[ItemReport]:
    from podctl.runtime.oci import parse_signal

    lc.join_userns(cfg)
    sig = parse_signal(signal)

    def one(db: StateDB, pod: PodRecord) -> None:
        infra, mems = _ordered(db, pod)
        sent = 0
        for m in [*reversed(mems), *([infra] if infra else [])]:
            with lc.locked(cfg, m.id):
                current = db.get_container(m.id)
                if current is None or lc.sync(cfg, db, current).state != State.RUNNING:
                    continue
                with contextlib.suppress(NotFound):
                    lc.kill(cfg, db, current, sig)
                    sent += 1
        if not sent:
            raise StateError(f"pod {pod.id} has no running containers to kill: container state improper")

    return _each(cfg, refs, one, all_=all_)


def pause(cfg: Config, refs: Sequence[str], *, unpause: bool = False, all_: bool = False) -> list[ItemReport]:
    """runc pause freezes the container's cgroup; rootless containers here have none."""
    lc.join_userns(cfg)
    verb = "unpause" if unpause else "pause"

    def one(db: StateDB, pod: PodRecord) -> None:
        _infra, mems = _ordered(db, pod)
        running = [m for m in mems if lc.observed(cfg, m).state == State.RUNNING]
        if not running and not unpause:
            raise StateError(f"pod {pod.name} has no running containers to {verb}")
        for m in running or mems:
            try:
                rt = lc.runtime(cfg)
                (rt.resume if unpause else rt.pause)(m.id)
            except PodctlError as e:
                raise StateError(
                    f"cannot {verb} pod {pod.name}: {verb} needs the freezer cgroup of each container, "
                    "and rootless containers get no cgroup of their own on this host (hybrid cgroups, no "
                    f"delegated cgroup v2 user slice): {e}"
                ) from e

    return _each(cfg, refs, one, all_=all_)


# -- rm / prune -------------------------------------------------------------------------------


def _remove_pod(cfg: Config, db: StateDB, pod: PodRecord, *, force: bool = True,
                timeout: int | None = 0) -> None:  # fmt: skip
    infra, mems = _ordered(db, pod)
    if not force:
        for m in mems:
            if lc.observed(cfg, m).state in (State.RUNNING, State.STOPPING):
                raise PodRunningError(
                    f"pod {pod.id} has containers that are not ready to be removed: cannot remove "
                    f"container {m.id} as it is running - running or paused containers cannot be "
                    "removed without force: container state improper"
                )
    order = [*reversed(mems), *([infra] if infra else [])]
    if force and timeout == 0:
        _kill_all(cfg, db, order)
    for m in order:
        with lc.locked(cfg, m.id):
            current = db.get_container(m.id)
            if current is None:
                continue
            current = lc.sync(cfg, db, current)
            if current.state in (State.RUNNING, State.STOPPING) or (
                current.conmon_pid and procs.alive(current.conmon_pid)
            ):
                lc.stop(cfg, db, current, timeout)
                fresh = db.get_container(m.id)
                if fresh is None:  # --rm: stopping removed it
                    continue
                current = fresh
            lc.remove_locked(cfg, db, current, volumes=True)
    podstate.remove(db, pod.id)
    lc.drop_lock(cfg, f"pod-{pod.id}")
    # The --pod-id-file goes with its pod, as a --cidfile with its container (podman >= 4.4
    # removes both): a pod unit leaves nothing in %t.
    lc.remove_id_file(pod.extra.get("pod_id_file"), pod.id)


def _kill_all(cfg: Config, db: StateDB, recs: Sequence[ContainerRecord]) -> None:
    """SIGKILL every running container of the pod at once, then wait for them all: removing a
    pod costs one exit wait, not one per container. (Inside the user namespace the container
    processes are ours to signal; no `runc kill` process per container.)"""
    from podctl.engine import network
    from podctl.runtime.paths import ContainerPaths

    for r in recs:
        if r.extra.get("infra"):
            # Every container is about to die: the pod's network helpers may go first. Their
            # exit (~20 ms of kernel teardown of slirp4netns's sandbox) overlaps all that follows.
            network.hasten_detach(db.get_container(r.id) or r)
    dying: list[ContainerRecord] = []
    for r in recs:
        with lc.locked(cfg, r.id):
            current = db.get_container(r.id)
            if current is None:
                continue
            killed = lc.kill_for_removal(cfg, db, current)  # _remove_pod cleans up
            if killed is not None:
                dying.append(killed)
    for r in dying:
        lc.wait_exit(ContainerPaths.of(cfg, r.id), 10, r.conmon_pid, pid=r.pid)


def rm(cfg: Config, refs: Sequence[str], *, force: bool = False, all_: bool = False,
       ignore: bool = False, timeout: int | None = None) -> list[ItemReport]:  # fmt: skip
    """Remove pods and their containers; -f stops running ones first (at once, or after TIMEOUT)."""
    lc.join_userns(cfg)
    out = _each(cfg, refs, lambda db, pod: _remove_pod(cfg, db, pod, force=force,
                                                       timeout=0 if timeout is None else timeout),
                all_=all_)  # fmt: skip
    lc.empty_trash(cfg)
    return [r for r in out if not (ignore and isinstance(r.error, NotFound))]


def prune(cfg: Config) -> list[ItemReport]:
    """Remove every pod none of whose containers runs."""
    lc.join_userns(cfg)
    db = _db(cfg)
    targets = [p.id for p in podstate.all_pods(db)
               if not any(lc.observed(cfg, m).state in (State.RUNNING, State.STOPPING)
                          for m in podstate.members(db, p.id))]  # fmt: skip
    return rm(cfg, targets, force=True)


# -- views --------------------------------------------------------------------------------------


def status(cfg: Config, db: StateDB, pod: PodRecord) -> str:
    """podman's pod status: Created, Running, Degraded, Exited, Stopped."""
    _infra, mems = _ordered(db, pod)
    recs = [lc.observed(cfg, m) for m in mems]
    if not recs:
        infra = db.get_container(pod.infra_id) if pod.infra_id else None
        if infra is not None and lc.observed(cfg, infra).state == State.RUNNING:
            return "Running"
        return "Created"
    running = sum(1 for r in recs if r.state in (State.RUNNING, State.STOPPING))
    if running == len(recs):
        return "Running"
    if running:
        return "Degraded"
    if all(r.state in (State.CREATED, State.CONFIGURED) for r in recs):
        return "Created"
    if all(r.state == State.EXITED for r in recs):
        return "Exited"
    return "Stopped"


def ps(cfg: Config, *, filters: Sequence[str] = ()) -> list[dict[str, Any]]:
    from podctl.engine.pod_views import ps_item

    if not cfg.state_db.exists():
        return []
    db = _db(cfg)
    items = []
    for pod in podstate.all_pods(db):
        item = ps_item(cfg, db, pod, status(cfg, db, pod))
        if _matches(item["json"], filters):
            items.append(item)
    items.reverse()
    return items


def _matches(item: dict[str, Any], filters: Sequence[str]) -> bool:
    for f in filters:
        key, sep, val = f.partition("=")
        if not sep:
            raise InvalidSpec(f"--filter {f}: expected KEY=VALUE")
        if key == "name":
            ok = val in item["Name"]
        elif key == "id":
            ok = item["Id"].startswith(val)
        elif key == "status":
            ok = item["Status"].lower() == val.lower()
        elif key == "label":
            k, _, v = val.partition("=")
            ok = k in item["Labels"] and (not v or item["Labels"][k] == v)
        else:
            raise InvalidSpec(f"--filter {key}: invalid filter")
        if not ok:
            return False
    return True


def inspect(cfg: Config, refs: Sequence[str]) -> list[dict[str, Any]]:
    """podman `pod inspect` objects; a missing pod raises NotFound."""
    from podctl.engine.pod_views import inspect_item

    db = _db(cfg)
    out = []
    for ref in refs:
        pod = podstate.lookup(db, ref)
        out.append(inspect_item(cfg, db, pod, status(cfg, db, pod)))
    return out


def logs_targets(cfg: Config, ref: str, container: str | None = None) -> list[ContainerRecord]:
    recs = members(cfg, ref)
    if container:
        recs = [r for r in recs if container in (r.name, r.id) or r.id.startswith(container)]
        if not recs:
            raise NotFound(f"container {container} is not in pod {ref}: no such container")
    return recs


def top(cfg: Config, ref: str, descriptors: Sequence[str]) -> list[list[str]]:
    from podctl.engine.container_ops import top_rows

    lc.join_userns(cfg)
    db = _db(cfg)
    pod = podstate.lookup(db, ref)
    rows: list[list[str]] = []
    for m in podstate.members(db, pod.id):
        m = lc.sync(cfg, db, m)
        if m.state != State.RUNNING:
            continue
        got = top_rows(cfg, m, descriptors)
        if not rows:
            rows.append(got[0])
        rows.extend(got[1:])
    if not rows:
        raise StateError(f"pod {pod.name} has no running containers: container state improper")
    return rows


def pod_ip(cfg: Config, ref: str) -> str:
    """The pod's address in its network namespace ("" before the infra has started, or for
    modes without one): kube play's `status.podIP`."""
    db = _db(cfg)
    pod = podstate.lookup(db, ref)
    infra = db.get_container(pod.infra_id) if pod.infra_id else None
    if infra is None:
        return ""
    return str((infra.extra.get("network") or {}).get("ip") or "")
