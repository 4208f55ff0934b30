"""`podctl pod ...`: pod commands with podman's names, flags and output shapes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

import click

from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import emit, report_batch, to_json
from podctl.errors import InvalidSpec, NotFound

PS_HEADERS = {"ID": "POD ID", "InfraID": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS"}
PS_COLUMNS = ("ID", "Name", "Status", "Created", "InfraID", "NumberOfContainers")


def _cfg(ctx: click.Context) -> Any:
    return globals_of(ctx).config()


def _report(items: Sequence[Any]) -> int:
    return report_batch(items, line=lambda it: it.id or it.ref)


def _refs(pods: Sequence[str], id_files: Sequence[str], all_: bool = False, latest: bool = False) -> list[str]:
    from podctl.engine.pods import read_id_file

    refs = list(pods) + [read_id_file(f) for f in id_files]
    if not refs and not all_ and not latest:
        raise InvalidSpec("you must provide at least one pod name or id")
    return refs


def _latest(cfg: Any) -> list[str]:
    from podctl.engine import pods

    items = pods.ps(cfg)
    if not items:
        raise NotFound("no pods to act on: no such pod")
    return [items[0]["json"]["Id"]]


@click.group(context_settings=CONTEXT)
def pod() -> None:
    """Manage pods: groups of containers sharing network, IPC and UTS namespaces."""


def _kv(items: Sequence[str], flag: str) -> tuple[tuple[str, str], ...]:
    out = []
    for it in items:
        k, _, v = it.partition("=")
        if not k:
            raise InvalidSpec(f"{flag} {it!r}: expected KEY=VALUE")
        out.append((k, v))
    return tuple(out)


def _share(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ("ipc", "net", "uts")
    if value in ("", "none"):
        return ()
    add = value.startswith("+")
    items = [s.strip() for s in value.lstrip("+").split(",") if s.strip()]
    base = ["ipc", "net", "uts"] if add else []
    return tuple(dict.fromkeys(base + items))


@pod.command("create", context_settings={**CONTEXT, "help_option_names": ["--help"]})
@click.argument("name_arg", required=False, metavar="[NAME]")
@click.option("-n", "--name", help="Assign a name to the pod")
@click.option("-p", "--publish", multiple=True, metavar="[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]",
              help="Publish a port or a range of ports of the pod to the host")  # fmt: skip
@click.option("--hostname", help="Set the pod's hostname")
@click.option("--share", help="Namespaces to share: ipc, net, uts, pid (default ipc,net,uts; +pid adds)")
@click.option("--infra/--no-infra", default=True, show_default=True, help="Create an infra container for the pod")
@click.option("--infra-name", help="The name of the pod's infra container")
@click.option("--infra-conmon-pidfile", metavar="FILE", help="Write the infra container's conmon PID to FILE")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata on the pod")
@click.option("--exit-policy", type=click.Choice(["continue", "stop"]), default="continue", show_default=True,
              help="What the pod does when its last container exits")  # fmt: skip
@click.option("--replace", is_flag=True, help="Replace a pod with the same name")
@click.option("--pod-id-file", metavar="FILE", help="Write the pod ID to FILE")
@click.option("--network", "--net", "network", default=None,
              help="Network mode: slirp4netns[:OPTIONS] (default), pasta[:OPTIONS], none, host, ns:PATH")  # fmt: skip
@click.option("--add-host", multiple=True, metavar="HOST:IP", help="Add a custom host-to-IP mapping")
@click.option("--dns", multiple=True, metavar="IP", help="Set custom DNS servers")
@click.option("--dns-search", multiple=True, metavar="DOMAIN", help="Set custom DNS search domains")
@click.option("--dns-option", multiple=True, metavar="OPTION", help="Set custom DNS options")
@click.option("-v", "--volume", "volumes", multiple=True, metavar="[SRC:]DST[:OPTS]",
              help="Bind mount a host path or named volume into every container of the pod")  # fmt: skip
@click.pass_context
def create(ctx: click.Context, name_arg: str | None, name: str | None, publish: tuple[str, ...],
           hostname: str | None, share: str | None, infra: bool, infra_name: str | None,
           infra_conmon_pidfile: str | None, labels: tuple[str, ...], exit_policy: str, replace: bool,
           pod_id_file: str | None, network: str | None, add_host: tuple[str, ...], dns: tuple[str, ...],
           dns_search: tuple[str, ...], dns_option: tuple[str, ...], volumes: tuple[str, ...]) -> None:  # fmt: skip
    """Create a new empty pod. Prints the pod ID."""
    from podctl import net
    from podctl.engine import pods
    from podctl.spec import ExitPolicy, PodSpec, parse_volume

    cfg = _cfg(ctx)
    if name and name_arg and name != name_arg:
        raise InvalidSpec("cannot specify the pod name both as an argument and with --name")
    pname = name or name_arg
    if not pname:
        from podctl.engine.containers import _random_name
        from podctl.engine.lifecycle import open_db

        pname = _random_name(open_db(cfg))
    ports = tuple(net.parse_publish_list(publish))
    spec = PodSpec(
        name=pname, hostname=hostname, labels=_kv(labels, "--label"), ports=ports,
        network=network or "slirp4netns", share=_share(share), infra=infra,
        exit_policy=ExitPolicy(exit_policy), add_hosts=add_host, dns_servers=dns,
        dns_search=dns_search, dns_options=dns_option,
        volumes=tuple(parse_volume(v) for v in volumes),
        create_command=("podctl", *sys.argv[1:]),
    )  # fmt: skip
    rec = pods.create(cfg, pods.PodCreateOptions(spec, replace=replace, pod_id_file=pod_id_file,
                                                 infra_conmon_pidfile=infra_conmon_pidfile,
                                                 infra_name=infra_name))  # fmt: skip
    click.echo(rec.id)


def _batch_options(f: Any) -> Any:
    f = click.option("-a", "--all", "all_", is_flag=True, help="Act on all pods")(f)
    f = click.option("-l", "--latest", is_flag=True, help="Act on the latest pod podctl is aware of")(f)
    f = click.option("--pod-id-file", "id_files", multiple=True, metavar="FILE",
                     help="Read the pod ID from FILE")(f)  # fmt: skip
    return click.argument("pods", nargs=-1)(f)


@pod.command("start", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def start(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Start one or more pods: the infra container first, then the members in creation order."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.start(cfg, refs, all_=all_))


@pod.command("stop", context_settings=CONTEXT)
@_batch_options
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait for each container to stop before killing it")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a specified pod is missing")
@click.pass_context
def stop(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...],
         timeout: int | None, ignore: bool) -> int:  # fmt: skip
    """Stop one or more pods: members in reverse creation order, then the infra container."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    if ignore and id_files:
        id_files = tuple(f for f in id_files if _readable(f))
    refs = _refs(pods, id_files, all_ or ignore, latest) + (_latest(cfg) if latest else [])
    return _report(engine.stop(cfg, refs, timeout=timeout, all_=all_, ignore=ignore))


def _readable(path: str) -> bool:
    try:
        with open(path) as f:
            return bool(f.read().strip())
    except OSError:
        return False


@pod.command("restart", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def restart(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Restart one or more pods."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.restart(cfg, refs, all_=all_))


@pod.command("kill", context_settings=CONTEXT)
@_batch_options
@click.option("-s", "--signal", default="KILL", show_default=True, help="Signal to send to the containers of the pod")
@click.pass_context
def kill(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...],
         signal: str) -> int:  # fmt: skip
    """Send a signal to the containers of one or more pods."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.kill(cfg, refs, signal=signal, all_=all_))


@pod.command("pause", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def pause(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Pause all the containers of one or more pods."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.pause(cfg, refs, all_=all_))


@pod.command("unpause", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def unpause(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Unpause all the containers of one or more pods."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.pause(cfg, refs, unpause=True, all_=all_))


@pod.command("rm", context_settings=CONTEXT)
@_batch_options
@click.option("-f", "--force", is_flag=True, help="Stop running containers and remove the pod")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a specified pod is missing")
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait for the containers to stop before killing them")
@click.pass_context
def rm(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...],
       force: bool, ignore: bool, timeout: int | None) -> int:  # fmt: skip
    """Remove one or more stopped pods and their containers (-f: running ones too)."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    if ignore and id_files:
        id_files = tuple(f for f in id_files if _readable(f))
    refs = _refs(pods, id_files, all_ or ignore, latest) + (_latest(cfg) if latest else [])
    return _report(engine.rm(cfg, refs, force=force, all_=all_, ignore=ignore, timeout=timeout))


@pod.command("prune", context_settings=CONTEXT)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune(ctx: click.Context, force: bool) -> int:
    """Remove all stopped pods and their containers."""
    from podctl.engine import pods as engine

    question = "WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue?"
    if not force and sys.stdin.isatty() and not click.confirm(question):
        return 0
    return _report(engine.prune(_cfg(ctx)))


@pod.command("ps", context_settings=CONTEXT)
@click.option("--format", "fmt", default="", help="Pretty-print pods: json or a Go template")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output (name=, id=, status=, label=)")
@click.option("-q", "--quiet", is_flag=True, help="Print the pod IDs only")
@click.option("--noheading", "-n", "noheading", is_flag=True, help="Do not print headers")
@click.option("--no-trunc", is_flag=True, help="Do not truncate pod and container IDs")
@click.option("--ctr-names", is_flag=True, help="Print the names of the containers")
@click.pass_context
def ps(ctx: click.Context, fmt: str, filters: tuple[str, ...], quiet: bool, noheading: bool,
       no_trunc: bool, ctr_names: bool) -> None:  # fmt: skip
    """List pods."""
    from podctl.engine import pods as engine

    items = engine.ps(_cfg(ctx), filters=filters)
    if quiet:
        for it in items:
            click.echo(it["json"]["Id"] if no_trunc else it["json"]["Id"][:12])
        return
    if fmt == "json":
        click.echo(to_json([it["json"] for it in items]))
        return
    views = [it["view"] for it in items]
    if no_trunc:
        for v in views:
            v["ID"], v["InfraID"] = v["Id"], v["InfraId"]
    cols = PS_COLUMNS + (("ContainerNames",) if ctr_names else ())
    emit(views, fmt, headers={**PS_HEADERS, "ContainerNames": "NAMES"}, default_columns=cols, noheading=noheading)


@pod.command("inspect", context_settings=CONTEXT)
@click.argument("pods", nargs=-1)
@click.option("-f", "--format", "fmt", default="json", help="Format the output: json or a Go template")
@click.option("-l", "--latest", is_flag=True, help="Inspect the latest pod")
@click.pass_context
def inspect(ctx: click.Context, pods: tuple[str, ...], fmt: str, latest: bool) -> None:
    """Display the configuration of one or more pods (one pod: a JSON object, as podman 4)."""
    from podctl.engine import pods as engine

    cfg = _cfg(ctx)
    refs = list(pods) + (_latest(cfg) if latest else [])
    if not refs:
        raise InvalidSpec("you must provide at least one pod name or id")
    items = engine.inspect(cfg, refs)
    if fmt == "json":
        click.echo(to_json(items[0] if len(items) == 1 else items))
        return
    emit(items, fmt)


@pod.command("exists", context_settings=CONTEXT)
@click.argument("pod_ref", metavar="POD")
@click.pass_context
def exists(ctx: click.Context, pod_ref: str) -> int:
    """Check if a pod exists: exit status 0 if it does, 1 if it does not."""
    from podctl.engine import pods as engine

    return 0 if engine.exists(_cfg(ctx), pod_ref) else 1


@pod.command("logs", context_settings=CONTEXT)
@click.argument("pod_ref", metavar="POD")
@click.option("-c", "--container", help="Show only the logs of this container of the pod")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--tail", type=int, default=-1, help="Output the specified number of lines at the end of logs")
@click.option("--since", help="Show logs since TIMESTAMP or DURATION ago (10m)")
@click.option("-t", "--timestamps", is_flag=True, help="Output the timestamps in the log")
@click.option("-n", "--names", is_flag=True, help="Prefix lines with the container name instead of its ID")
@click.pass_context
def logs(ctx: click.Context, pod_ref: str, container: str | None, follow: bool, tail: int,
         since: str | None, timestamps: bool, names: bool) -> None:  # fmt: skip
    """Fetch the logs of the containers of a pod, each line prefixed with its container."""
    from podctl.cli.container import _write_line
    from podctl.engine import containers as cengine
    from podctl.engine import pods as engine
    from podctl.runtime import logs as klog
    from podctl.runtime.paths import ContainerPaths

    cfg = _cfg(ctx)
    since_t = klog.parse_since(since) if since else None
    recs = engine.logs_targets(cfg, pod_ref, container)
    for rec in recs:
        path = ContainerPaths.of(cfg, rec.id).log_path
        prefix = (rec.name if names else rec.short_id) + " "
        lines, offset = klog.read(path, tail=tail, since=since_t)
        for ln in lines:
            _write_line(ln, timestamps, prefix)
        if follow:
            for ln in klog.follow(path, offset, functools.partial(cengine.is_running, cfg, rec.id)):
                _write_line(ln, timestamps, prefix)


@pod.command("top", context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.argument("pod_ref", metavar="POD")
@click.argument("descriptors", nargs=-1)
@click.pass_context
def top(ctx: click.Context, pod_ref: str, descriptors: tuple[str, ...]) -> None:
    """Display the running processes of the containers of a pod."""
    from podctl.cli.output import table
    from podctl.engine import pods as engine

    table(engine.top(_cfg(ctx), pod_ref, descriptors))


