"""`podctl pod ...`: pod commands with podman's names, flags and output shapes."""

from __future__ import annotations

import functools
import sys
from typing import Any

import click

from podctl.cli.actions import pod as act
from podctl.cli.actions.pod import latest_pod as _latest
from podctl.cli.actions.pod import pod_refs as _refs
from podctl.cli.actions.pod import report_pods as _report
from podctl.cli.main import CONTEXT, globals_of


@click.group(context_settings=CONTEXT)
def pod() -> None:
    """Manage pods: groups of containers sharing network, IPC and UTS namespaces."""


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
@click.option("--start", is_flag=True,
              help="Start the pod once created (as `pod start` would), in the same process")  # fmt: skip
@click.option("--pod-id-file", metavar="FILE", help="Write the pod ID to FILE (it must not exist, unless --replace)")
@click.option("--network", "--net", "network", default=None,
              help="Network mode: pasta[:OPTIONS] (default, in slirp4netns's addresses, unless containers.conf's "
                   "[network] default_rootless_network_cmd says slirp4netns), slirp4netns[:OPTIONS], none, host, ns:PATH")  # fmt: skip
@click.option("--add-host", multiple=True, metavar="HOST:IP", help="Add a custom host-to-IP mapping")
@click.option("--dns", multiple=True, metavar="IP", help="Set custom DNS servers")
@click.option("--dns-search", multiple=True, metavar="DOMAIN", help="Set custom DNS search domains")
@click.option("--dns-option", multiple=True, metavar="OPTION", help="Set custom DNS options")
@click.option("-v", "--volume", "volumes", multiple=True, metavar="[SRC:]DST[:OPTS]",
              help="Bind mount a host path or named volume into every container of the pod")  # fmt: skip
@click.pass_context
def create(ctx: click.Context, **kw: Any) -> None:
    """Create a new empty pod. Prints the pod ID."""
    act.create(globals_of(ctx), **kw)



def _batch_options(f: Any) -> Any:
    f = click.option("-a", "--all", "all_", is_flag=True, help="Act on all pods")(f)
    f = click.option("-l", "--latest", is_flag=True, help="Act on the latest pod podctl is aware of")(f)
    f = click.option("--pod-id-file", "id_files", multiple=True, metavar="FILE",
                     help="Read the pod ID from FILE")(f)  # fmt: skip
    return click.argument("pods", nargs=-1)(f)


@pod.command("start", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def start(ctx: click.Context, **kw: Any) -> int:
    """Start one or more pods: the infra container first, then the members in creation order."""
    return act.start(globals_of(ctx), **kw)



@pod.command("stop", context_settings=CONTEXT)
@_batch_options
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait for each container to stop before killing it")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a specified pod is missing")
@click.pass_context
def stop(ctx: click.Context, **kw: Any) -> int:
    """Stop one or more pods: members in reverse creation order, then the infra container."""
    return act.stop(globals_of(ctx), **kw)



@pod.command("restart", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def restart(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Restart one or more pods."""
    from podctl.engine import pods as engine

    cfg = globals_of(ctx).config()
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

    cfg = globals_of(ctx).config()
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.kill(cfg, refs, signal=signal, all_=all_))


@pod.command("pause", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def pause(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Pause all the containers of one or more pods."""
    from podctl.engine import pods as engine

    cfg = globals_of(ctx).config()
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.pause(cfg, refs, all_=all_))


@pod.command("unpause", context_settings=CONTEXT)
@_batch_options
@click.pass_context
def unpause(ctx: click.Context, pods: tuple[str, ...], all_: bool, latest: bool, id_files: tuple[str, ...]) -> int:
    """Unpause all the containers of one or more pods."""
    from podctl.engine import pods as engine

    cfg = globals_of(ctx).config()
    refs = _refs(pods, id_files, all_, latest) + (_latest(cfg) if latest else [])
    return _report(engine.pause(cfg, refs, unpause=True, all_=all_))


@pod.command("rm", context_settings=CONTEXT)
@_batch_options
@click.option("-f", "--force", is_flag=True, help="Stop running containers and remove the pod")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a specified pod is missing")
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait for the containers to stop before killing them")
@click.pass_context
def rm(ctx: click.Context, **kw: Any) -> int:
    """Remove one or more stopped pods and their containers (-f: running ones too)."""
    return act.rm(globals_of(ctx), **kw)



@pod.command("prune", context_settings=CONTEXT)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune(ctx: click.Context, force: bool) -> int:
    """Remove all stopped pods and their containers."""
    from podctl.engine import pods as engine

    question = "WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue?"
    if not force and sys.stdin.isatty() and not click.confirm(question):
        return 0
    return _report(engine.prune(globals_of(ctx).config()))


@pod.command("ps", context_settings=CONTEXT)
@click.option("--format", "fmt", default="", help="Pretty-print pods: json or a Go template")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output (name=, id=, status=, label=)")
@click.option("-q", "--quiet", is_flag=True, help="Print the pod IDs only")
@click.option("--noheading", "-n", "noheading", is_flag=True, help="Do not print headers")
@click.option("--no-trunc", is_flag=True, help="Do not truncate pod and container IDs")
@click.option("--ctr-names", is_flag=True, help="Print the names of the containers")
@click.pass_context
def ps(ctx: click.Context, **kw: Any) -> None:
    """List pods."""
    act.ps(globals_of(ctx), **kw)



@pod.command("inspect", context_settings=CONTEXT)
@click.argument("pods", nargs=-1)
@click.option("-f", "--format", "fmt", default="json", help="Format the output: json or a Go template")
@click.option("-l", "--latest", is_flag=True, help="Inspect the latest pod")
@click.pass_context
def inspect(ctx: click.Context, **kw: Any) -> None:
    """Display the configuration of one or more pods (one pod: a JSON object, as podman 4)."""
    act.inspect(globals_of(ctx), **kw)



@pod.command("exists", context_settings=CONTEXT)
@click.argument("pod_ref", metavar="POD")
@click.pass_context
def exists(ctx: click.Context, **kw: Any) -> int:
    """Check if a pod exists: exit status 0 if it does, 1 if it does not."""
    return act.exists(globals_of(ctx), **kw)



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
    from podctl.cli.actions.container import write_line as _write_line
    from podctl.engine import containers as cengine
    from podctl.engine import pods as engine
    from podctl.runtime import logs as klog
    from podctl.runtime.paths import ContainerPaths

    cfg = globals_of(ctx).config()
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

    table(engine.top(globals_of(ctx).config(), pod_ref, descriptors))


