"""Pod command bodies (no click): pod create, start, stop, rm, ps, inspect, exists."""

from __future__ import annotations

import sys

from podctl.cli.common import Globals, echo, kv_pairs
from podctl.cli.output import emit, report_batch, to_json
from podctl.errors import InvalidSpec, NotFound

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

PS_HEADERS = {"ID": "POD ID", "InfraID": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS"}
PS_COLUMNS = ("ID", "Name", "Status", "Created", "InfraID", "NumberOfContainers")


def report_pods(items: Sequence[Any]) -> int:
    return report_batch(items, line=lambda it: it.id or it.ref)


def pod_refs(
    pods: Sequence[str], id_files: Sequence[str], all_: bool = False, latest: bool = False
) -> list[str]:
    from podctl.engine.pods import read_id_file

    refs = list(pods) + [read_id_file(f) for f in id_files]
    if not refs and not all_ and not latest:
        raise InvalidSpec("you must provide at least one pod name or id")
    return refs


def latest_pod(cfg: Any) -> list[str]:
    from podctl.engine import pods

    items = pods.ps(cfg)
    if not items:
        raise NotFound("no pods to act on: no such pod")
    return [items[0]["json"]["Id"]]


def share_list(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ("ipc", "net", "uts")
    if value in ("", "none"):
        return ()
    add = value.startswith("+")
    items = [s.strip() for s in value.lstrip("+").split(",") if s.strip()]
    base = ["ipc", "net", "uts"] if add else []
    return tuple(dict.fromkeys(base + items))


def readable(path: str) -> bool:
    try:
        with open(path) as f:
            return bool(f.read().strip())
    except OSError:
        return False


def create(g: Globals, *, name_arg: str | None, name: str | None, publish: tuple[str, ...],
           hostname: str | None, share: str | None, infra: bool, infra_name: str | None,
           infra_conmon_pidfile: str | None, labels: tuple[str, ...], exit_policy: str, replace: bool,
           pod_id_file: str | None, start: bool, network: str | None, add_host: tuple[str, ...], dns: tuple[str, ...],
           dns_search: tuple[str, ...], dns_option: tuple[str, ...], volumes: tuple[str, ...]) -> None:  # fmt: skip
    from podctl import net
    from podctl.engine import pods
    from podctl.spec import ExitPolicy, PodSpec, parse_volume

    cfg = g.config()
    if name and name_arg and name != name_arg:
        raise InvalidSpec("cannot specify the pod name both as an argument and with --name")
    pname = name or name_arg
    if not pname:
        from podctl.engine.containers import _random_name
        from podctl.engine.lifecycle import open_db

        pname = _random_name(open_db(cfg))
    ports = tuple(net.parse_publish_list(publish))
    spec = PodSpec(
        name=pname, hostname=hostname, labels=kv_pairs(labels, "--label"), ports=ports,
        network=network or cfg.rootless_network_cmd, share=share_list(share), infra=infra,
        exit_policy=ExitPolicy(exit_policy), add_hosts=add_host, dns_servers=dns,
        dns_search=dns_search, dns_options=dns_option,
        volumes=tuple(parse_volume(v) for v in volumes),
        create_command=("podctl", *sys.argv[1:]),
    )  # fmt: skip
    rec = pods.create(cfg, pods.PodCreateOptions(spec, replace=replace, pod_id_file=pod_id_file,
                                                 infra_conmon_pidfile=infra_conmon_pidfile,
                                                 infra_name=infra_name))  # fmt: skip
    echo(rec.id)
    if start:
        # `pod create && pod start` in one process: a generated pod unit's ExecStart (Type=forking,
        # the infra's conmon is the main process) pays one podctl start-up, not two. A failed
        # start leaves the pod created, as the two commands would (the unit's ExecStopPost
        # removes it).
        failed = [r.error for r in pods.start(cfg, [rec.id]) if r.error is not None]
        if failed:
            raise failed[0]


def start(
    g: Globals, *, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]
) -> int:
    from podctl.engine import pods as engine

    cfg = g.config()
    refs = pod_refs(pods, id_files, all_, latest) + (latest_pod(cfg) if latest else [])
    return report_pods(engine.start(cfg, refs, all_=all_))


def stop(g: Globals, *, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...],
         timeout: int | None, ignore: bool) -> int:  # fmt: skip
    from podctl.engine import pods as engine

    cfg = g.config()
    if ignore and id_files:
        id_files = tuple(f for f in id_files if readable(f))
    refs = pod_refs(pods, id_files, all_ or ignore, latest) + (latest_pod(cfg) if latest else [])
    return report_pods(engine.stop(cfg, refs, timeout=timeout, all_=all_, ignore=ignore))


def rm(g: Globals, *, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...],
       force: bool, ignore: bool, timeout: int | None) -> int:  # fmt: skip
    from podctl.engine import pods as engine

    cfg = g.config()
    if ignore and id_files:
        id_files = tuple(f for f in id_files if readable(f))
    refs = pod_refs(pods, id_files, all_ or ignore, latest) + (latest_pod(cfg) if latest else [])
    return report_pods(engine.rm(cfg, refs, force=force, all_=all_, ignore=ignore, timeout=timeout))


def ps(g: Globals, *, fmt: str, filters: tuple[str, ...], quiet: bool, noheading: bool,
       no_trunc: bool, ctr_names: bool) -> None:  # fmt: skip
    from podctl.engine import pods as engine

    items = engine.ps(g.config(), filters=filters)
    if quiet:
        for it in items:
            echo(it["json"]["Id"] if no_trunc else it["json"]["Id"][:12])
        return
    if fmt == "json":
        echo(to_json([it["json"] for it in items]))
        return
    views = [it["view"] for it in items]
    if no_trunc:
        for v in views:
            v["ID"], v["InfraID"] = v["Id"], v["InfraId"]
    cols = PS_COLUMNS + (("ContainerNames",) if ctr_names else ())
    emit(
        views,
        fmt,
        headers={**PS_HEADERS, "ContainerNames": "NAMES"},
        default_columns=cols,
        noheading=noheading,
    )


def inspect(g: Globals, *, pods: tuple[str, ...], fmt: str, latest: bool) -> None:
    from podctl.engine import pods as engine

    cfg = g.config()
    refs = list(pods) + (latest_pod(cfg) if latest else [])
    if not refs:
        raise InvalidSpec("you must provide at least one pod name or id")
    items = engine.inspect(cfg, refs)
    if fmt == "json":
        echo(to_json(items[0] if len(items) == 1 else items))
        return
    emit(items, fmt)


def exists(g: Globals, *, pod_ref: str) -> int:
    from podctl.engine import pods as engine

    return 0 if engine.exists(g.config(), pod_ref) else 1
