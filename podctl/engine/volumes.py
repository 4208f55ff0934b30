"""Volume verbs: create, ls, inspect, rm, prune, exists. Volumes live in ROOT/volumes/NAME/_data."""

from __future__ import annotations

import os
from collections.abc import Sequence

from podctl.config import Config
from podctl.engine import lifecycle as lc
from podctl.errors import InvalidSpec, NotFound, PodctlError, StateError
from podctl.spec import check_name
from podctl.state.containers import StateDB, VolumeRecord

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import Any
else:
    from podctl.records import dataclass

@dataclass(frozen=True)
class VolumeCreateOptions:
    name: str | None = None
    driver: str = "local"
    labels: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    ignore: bool = False


@dataclass(frozen=True)
class VolumeReport:
    name: str
    error: PodctlError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class VolumeInUse(StateError):
    exit_code = 2


def _db(cfg: Config) -> StateDB:
    return lc.open_db(cfg)


def create(cfg: Config, opts: VolumeCreateOptions) -> VolumeRecord:
    if opts.driver != "local":
        raise InvalidSpec(f"--driver {opts.driver}: only the local driver is supported")
    owner: dict[str, int] = {}
    for k, v in opts.options:
        if k in ("uid", "gid"):
            if not v.isdigit():
                raise InvalidSpec(f"--opt {k}={v}: must be a number")
            owner[k] = int(v)
        elif k in ("type", "device", "o", "size", "inodes"):
            raise InvalidSpec(f"--opt {k}: mounting a device or tmpfs as a volume is not supported "
                              "rootless here; use --tmpfs or a bind mount")  # fmt: skip
        elif k not in ("copy", "nocopy"):
            raise InvalidSpec(f"--opt {k}: unknown volume option (supported: uid, gid, copy, nocopy)")
    name = check_name(opts.name, "volume") if opts.name else os.urandom(32).hex()
    lc.join_userns(cfg)
    db = _db(cfg)
    vol = lc.new_volume(cfg, db, name, labels=dict(opts.labels), options=dict(opts.options),
                        exist_ok=opts.ignore)  # fmt: skip
    data = lc.volume_path(cfg, name)
    if owner:
        try:
            os.chown(data, owner.get("uid", -1), owner.get("gid", -1))
        except OSError as e:
            lc.remove_volume_dir(cfg, db, name)
            raise InvalidSpec(f"--opt uid/gid: cannot chown the volume: {e.strerror}") from e
    if dict(opts.options).keys() & {"nocopy"}:
        (data.parent / ".copied-up").touch()  # never filled from an image
    return vol


def _users(db: StateDB) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for rec in db.containers():
        for v in rec.extra.get("volumes", []):
            users.setdefault(v, []).append(rec.id)
    return users


def _matches(vol: VolumeRecord, filters: Sequence[str], users: dict[str, list[str]]) -> bool:
    for f in filters:
        key, sep, val = f.partition("=")
        if not sep:
            raise InvalidSpec(f"--filter {f}: expected KEY=VALUE")
        if key == "name":
            ok = val in vol.name
        elif key == "label":
            k, s, v = val.partition("=")
            ok = k in vol.labels and (not s or vol.labels[k] == v)
        elif key == "driver":
            ok = vol.driver == val
        elif key == "dangling":
            ok = (not users.get(vol.name)) == (val.lower() in ("true", "1"))
        else:
            raise InvalidSpec(f"--filter {key}: invalid volume filter")
        if not ok:
            return False
    return True


def ls(cfg: Config, filters: Sequence[str] = ()) -> list[VolumeRecord]:
    if not cfg.state_db.exists():
        return []
    db = _db(cfg)
    users = _users(db) if any(f.startswith("dangling") for f in filters) else {}
    return [v for v in db.volumes() if _matches(v, filters, users)]


def inspect_one(cfg: Config, db: StateDB, vol: VolumeRecord, users: dict[str, list[str]]) -> dict[str, Any]:
    from podctl.engine.container_views import iso

    return {
        "Name": vol.name,
        "Driver": vol.driver,
        "Mountpoint": vol.mountpoint,
        "CreatedAt": iso(vol.created),
        "Labels": vol.labels,
        "Scope": "local",
        "Options": vol.options,
        "MountCount": 0,
        "NeedsCopyUp": not (lc.volume_path(cfg, vol.name).parent / ".copied-up").exists(),
        "NeedsChown": True,
        "Anonymous": vol.anonymous,
        "ContainerCount": len(users.get(vol.name, [])),
    }


def inspect(cfg: Config, names: Sequence[str], all_: bool = False) -> tuple[list[dict[str, Any]], list[PodctlError]]:
    db = _db(cfg)
    users = _users(db)
    out: list[dict[str, Any]] = []
    errs: list[PodctlError] = []
    vols = db.volumes() if all_ else []
    for n in names:
        try:
            vols.append(db.get_volume(n))
        except NotFound as e:
            errs.append(e)
    for v in vols:
        out.append(inspect_one(cfg, db, v, users))
    return out, errs


def exists(cfg: Config, name: str) -> bool:
    if not cfg.state_db.exists():
        return False
    try:
        _db(cfg).get_volume(name)
    except NotFound:
        return False
    return True


def rm(cfg: Config, names: Sequence[str], *, force: bool = False, all_: bool = False) -> list[VolumeReport]:
    from podctl.engine import containers as ctr

    lc.join_userns(cfg)
    db = _db(cfg)
    targets = [v.name for v in db.volumes()] if all_ else list(names)
    out = []
    for name in targets:
        try:
            db.get_volume(name)
            users = _users(db).get(name, [])
            if users:
                if not force:
                    raise VolumeInUse(f"volume {name} is being used by the following container(s): "
                                      f"{', '.join(users)}: volume is being used")  # fmt: skip
                for r in ctr.rm(cfg, users, force=True):
                    if r.error:
                        raise r.error
            lc.remove_volume_dir(cfg, db, name)
            out.append(VolumeReport(name))
        except PodctlError as e:
            out.append(VolumeReport(name, e))
    return out


def prune(cfg: Config, filters: Sequence[str] = ()) -> list[VolumeReport]:
    lc.join_userns(cfg)
    db = _db(cfg)
    users = _users(db)
    out = []
    for v in db.volumes():
        if users.get(v.name) or not _matches(v, filters, users):
            continue
        lc.remove_volume_dir(cfg, db, v.name)
        out.append(VolumeReport(v.name))
    return out
