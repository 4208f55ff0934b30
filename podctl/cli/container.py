"""Container commands, with podman's names, flags and output shapes."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import emit, emit_inspect, report_batch, to_json
from podctl.errors import ContainerExit, InvalidSpec, NotFound, PodctlError

# run/create/exec pass everything after IMAGE (or CONTAINER) to the container, and podman's
# `-h` means --hostname there.
RUN_CONTEXT = {**CONTEXT, "help_option_names": ["--help"], "allow_interspersed_args": False}
EXEC_CONTEXT = {**CONTEXT, "allow_interspersed_args": False}


def _cfg(ctx: click.Context) -> Any:
    return globals_of(ctx).config()


def _require_refs(containers: Sequence[str], all_: bool) -> None:
    if not containers and not all_:
        raise InvalidSpec("at least one container name or ID must be specified")


# -- run / create ---------------------------------------------------------------------------------


def _run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--name", help="Assign a name to the container"),
        click.option("-e", "--env", "env", multiple=True, metavar="KEY[=VALUE]", help="Set environment variables"),
        click.option("--env-file", multiple=True, metavar="FILE", help="Read in a file of environment variables"),
        click.option("--env-host", is_flag=True, help="Use all current host environment variables in container"),
        click.option("-v", "--volume", "volumes", multiple=True, metavar="[SRC:]DST[:OPTS]",
                     help="Bind mount a host path or a named volume (options ro, rw, U, z, nosuid ...)"),
        click.option("--mount", "mounts", multiple=True, metavar="type=TYPE,...",
                     help="Attach a filesystem mount: type=bind|volume|tmpfs,source=,destination=,ro"),
        click.option("--tmpfs", multiple=True, metavar="DST[:OPTS]", help="Mount a temporary filesystem"),
        click.option("-w", "--workdir", help="Working directory inside the container"),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
        click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata on the container"),
        click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE", help="Add an annotation"),
        click.option("-h", "--hostname", help="Set container hostname"),
        click.option("--restart", default="no", show_default=True,
                     help="Restart policy: no, always, on-failure[:N], unless-stopped"),
        click.option("--replace", is_flag=True, help="Replace a container with the same name"),
        click.option("--cidfile", metavar="FILE", help="Write the container ID to the file"),
        click.option("--network", "--net", "network", default=None,
                     help="Network mode: slirp4netns[:OPTIONS] (default), pasta[:OPTIONS], none, host, "
                          "private, container:NAME, ns:PATH"),
        click.option("-p", "--publish", "publish", multiple=True, metavar="[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]",
                     help="Publish a container's port, or a range of ports, to the host"),
        click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports on the host"),
        click.option("--dns", "dns", multiple=True, metavar="IP", help="Set custom DNS servers"),
        click.option("--dns-search", multiple=True, metavar="DOMAIN", help="Set custom DNS search domains"),
        click.option("--dns-option", multiple=True, metavar="OPTION", help="Set custom DNS options"),
        click.option("--add-host", multiple=True, metavar="HOST:IP", help="Add a custom host-to-IP mapping"),
        click.option("--pod", metavar="NAME", help="Run the container in an existing pod, or new:NAME to create one"),
        click.option("--pod-id-file", metavar="FILE", help="Run the container in the pod whose ID is in FILE"),
        click.option("--cap-add", multiple=True, help="Add capabilities to the container"),
        click.option("--cap-drop", multiple=True, help="Drop capabilities from the container"),
        click.option("--privileged", is_flag=True, help="Give extended privileges (all capabilities of the user namespace)"),
        click.option("--read-only", is_flag=True, help="Make the container's root filesystem read-only"),
        click.option("--read-only-tmpfs/--no-read-only-tmpfs", default=True,
                     help="With --read-only, mount tmpfs on /run, /tmp and /var/tmp"),
        click.option("--userns", help="User namespace mode: keep-id"),
        click.option("--security-opt", multiple=True,
                     help="no-new-privileges, seccomp=unconfined|PATH, mask=PATHS, unmask=PATHS"),
        click.option("--ulimit", multiple=True, metavar="NAME=SOFT[:HARD]", help="Ulimit options"),
        click.option("-m", "--memory", help="Memory limit (ignored with a warning: no rootless cgroups here)"),
        click.option("--cpus", type=float, help="Number of CPUs (ignored with a warning: no rootless cgroups here)"),
        click.option("--pids-limit", type=int, help="Tune the container's pids limit (ignored with a warning)"),
        # Quadlet units always pass --cgroups=split; podctl places no container in its own
        # cgroup rootless, so every mode behaves the same here (see podctl-run(1)).
        click.option("--cgroups", type=click.Choice(["enabled", "disabled", "no-conmon", "split"]),
                     default="enabled", show_default=True, help="Cgroup mode (accepted for podman compatibility)"),
        click.option("--stop-signal", help="Signal to stop a container (default SIGTERM)"),
        click.option("--stop-timeout", type=int, default=10, show_default=True, help="Timeout to stop a container"),
        click.option("--sdnotify", type=click.Choice(["container", "conmon", "healthy", "ignore"]), default="container",
                     show_default=True, help="Who sends READY=1 to systemd's NOTIFY_SOCKET (healthy: once the first healthcheck passes)"),
        click.option("--health-cmd", metavar="COMMAND", help="Command to run to check health ('none' disables the image's)"),
        click.option("--health-interval", metavar="DURATION", help="Time between health checks, 0 or disable for none [30s]"),
        click.option("--health-retries", type=int, help="Consecutive failures needed to report unhealthy [3]"),
        click.option("--health-start-period", metavar="DURATION", help="Time to bootstrap before failures count [0s]"),
        click.option("--health-timeout", metavar="DURATION", help="Maximum time a health check may take [30s]"),
        click.option("--health-on-failure", type=click.Choice(["none", "kill", "restart", "stop"]),
                     help="Action when the container becomes unhealthy [none]"),
        click.option("--no-healthcheck", is_flag=True, help="Disable healthchecks, also the image's"),
        click.option("--pull", default="missing", show_default=True, help="Pull image policy: always, missing, never, newer"),
        click.option("--log-driver", default="k8s-file", show_default=True, help="Logging driver: k8s-file, journald, none"),
        click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits"),
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _kv(items: Sequence[str], flag: str) -> tuple[tuple[str, str], ...]:
    out = []
    for it in items:
        k, sep, v = it.partition("=")
        if not k:
            raise InvalidSpec(f"{flag} {it!r}: expected KEY=VALUE")
        out.append((k, v))
    return tuple(out)


def _env(env: Sequence[str], env_files: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for path in env_files:
        try:
            text = open(path).read()
        except OSError as e:
            raise InvalidSpec(f"--env-file {path}: {e.strerror}") from e
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out += _env_item(line, f"--env-file {path}")
    for item in env:
        out += _env_item(item, "--env")
    return tuple(out)


def _env_item(item: str, where: str) -> list[tuple[str, str]]:
    k, sep, v = item.partition("=")
    if not k or any(c.isspace() for c in k):
        raise InvalidSpec(f"{where}: invalid environment variable {item!r}")
    if sep:
        return [(k, v)]
    if k.endswith("*"):
        return [(n, val) for n, val in os.environ.items() if n.startswith(k[:-1])]
    return [(k, os.environ[k])] if k in os.environ else []


def _entrypoint(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.startswith("["):
        try:
            data = json.loads(value)
        except ValueError as e:
            raise InvalidSpec(f"--entrypoint {value}: invalid JSON array") from e
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise InvalidSpec("--entrypoint: a JSON array must hold strings")
        return tuple(data)
    return (value,) if value else ()


def _size(value: str | None, flag: str) -> int | None:
    if not value:
        return None
    units = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    v = value.strip().lower()
    mult = units.get(v[-1], 0)
    num = v[:-1] if mult else v
    try:
        return int(float(num) * (mult or 1))
    except ValueError as e:
        raise InvalidSpec(f"{flag} {value}: expected a size like 512m") from e


def build_spec(image: str, command: Sequence[str], kw: dict[str, Any]) -> Any:
    from podctl.spec import (
        ContainerSpec,
        SdNotify,
        parse_mount,
        parse_restart,
        parse_tmpfs,
        parse_volume,
    )

    policy, retries = parse_restart(kw["restart"])
    healthcheck, no_healthcheck = None, False
    if any(kw.get(k) is not None for k in ("health_cmd", "health_interval", "health_retries",
           "health_start_period", "health_timeout", "health_on_failure")) or kw.get("no_healthcheck"):  # fmt: skip
        from podctl.engine.health import from_flags

        healthcheck, no_healthcheck = from_flags(
            kw["health_cmd"], kw["health_interval"], kw["health_timeout"], kw["health_retries"],
            kw["health_start_period"], kw["health_on_failure"], kw["no_healthcheck"])  # fmt: skip
    mounts = [parse_volume(v) for v in kw["volumes"]]
    mounts += [parse_mount(m) for m in kw["mounts"]]
    mounts += [parse_tmpfs(t) for t in kw["tmpfs"]]
    from podctl import net

    network = kw["network"] or "slirp4netns"
    net.parse_network(network)
    ports = tuple(net.parse_publish_list(kw["publish"]))
    pod = kw["pod"]
    if kw["pod_id_file"]:
        if pod:
            raise InvalidSpec("--pod and --pod-id-file cannot be used together")
        from podctl.engine.pods import read_id_file

        pod = read_id_file(kw["pod_id_file"])
    return ContainerSpec(
        ports=ports,
        publish_all=kw["publish_all"],
        dns_servers=tuple(kw["dns"]),
        dns_search=tuple(kw["dns_search"]),
        dns_options=tuple(kw["dns_option"]),
        add_hosts=tuple(kw["add_host"]),
        pod=pod or None,
        image=image,
        name=kw["name"],
        command=tuple(command) if command else None,
        entrypoint=_entrypoint(kw["entrypoint"]),
        env=_env(kw["env"], kw["env_file"]),
        env_host=kw["env_host"],
        workdir=kw["workdir"],
        user=kw["user"],
        hostname=kw["hostname"],
        labels=_kv(kw["labels"], "--label"),
        annotations=_kv(kw["annotations"], "--annotation"),
        mounts=tuple(mounts),
        network=network,
        restart_policy=policy,
        restart_retries=retries,
        remove=kw["remove"],
        tty=kw["tty"],
        interactive=kw["interactive"],
        cap_add=tuple(kw["cap_add"]),
        cap_drop=tuple(kw["cap_drop"]),
        privileged=kw["privileged"],
        read_only=kw["read_only"],
        read_only_tmpfs=kw["read_only_tmpfs"],
        userns=kw["userns"],
        security_opt=tuple(kw["security_opt"]),
        ulimits=tuple(kw["ulimit"]),
        memory=_size(kw["memory"], "--memory"),
        cpus=kw["cpus"],
        pids_limit=kw["pids_limit"],
        stop_signal=kw["stop_signal"],
        stop_timeout=kw["stop_timeout"],
        sdnotify=SdNotify(kw["sdnotify"]),
        healthcheck=healthcheck,
        no_healthcheck=no_healthcheck,
        pull=kw["pull"],
        log_driver=kw["log_driver"],
        create_command=tuple(["podctl", *sys.argv[1:]]),
    )


@click.command(context_settings=RUN_CONTEXT)
@_run_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container from IMAGE, but do not start it. Prints the container ID."""
    from podctl.engine import containers as engine

    spec = build_spec(image, command, kw)
    cfg = _cfg(ctx)
    spec = _new_pod(cfg, spec)
    rec = engine.create(cfg, engine.CreateOptions(spec, replace=kw["replace"], cidfile=kw["cidfile"]))
    click.echo(rec.id)


def _new_pod(cfg: Any, spec: Any) -> Any:
    """`--pod new:NAME`: create the pod first; the container's ports, DNS and hosts move to it."""
    if not spec.pod or not spec.pod.startswith("new:"):
        return spec
    from podctl.engine import pods
    from podctl.spec import PodSpec

    name = spec.pod[4:]
    pspec = PodSpec(name=name, ports=spec.ports, network=spec.network, dns_servers=spec.dns_servers,
                    dns_search=spec.dns_search, dns_options=spec.dns_options, add_hosts=spec.add_hosts,
                    hostname=spec.hostname)  # fmt: skip
    pod = pods.create(cfg, pods.PodCreateOptions(pspec))
    return spec.replace(pod=pod.id, ports=(), hostname=None)


@click.command(context_settings=RUN_CONTEXT)
@click.option("-d", "--detach", is_flag=True, help="Run the container in the background and print its ID")
@_run_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, image: str, command: tuple[str, ...], detach: bool, **kw: Any) -> None:
    """Run COMMAND in a new container from IMAGE.

    Without -d, the container's output is streamed and podctl exits with the container's exit
    code (125: podctl failed, 126: the command cannot be invoked, 127: it was not found).
    """
    from podctl.engine import containers as engine

    spec = build_spec(image, command, kw)
    cfg = _cfg(ctx)
    spec = _new_pod(cfg, spec)
    opts = engine.RunOptions(engine.CreateOptions(spec, replace=kw["replace"], cidfile=kw["cidfile"]), detach=detach)
    rec = engine.run(cfg, opts)
    click.echo(rec.id)


# -- start / stop / restart / kill / rm -----------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-a", "--attach", is_flag=True, help="Attach to the container's output and exit with its exit code")
@click.option("--all", "all_", is_flag=True, help="Start all containers regardless of their state")
@click.pass_context
def start(ctx: click.Context, containers: tuple[str, ...], attach: bool, all_: bool) -> int:
    """Start one or more containers."""
    from podctl.engine import containers as engine

    _require_refs(containers, all_)
    if attach:
        if len(containers) != 1 or all_:
            raise InvalidSpec("you cannot start and attach multiple containers at once")
        engine.start_attached(_cfg(ctx), containers[0])
    return report_batch(engine.start(_cfg(ctx), containers, all_=all_))


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing (default 10)")
@click.option("-a", "--all", "all_", is_flag=True, help="Stop all running containers")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a container does not exist")
@click.pass_context
def stop(ctx: click.Context, containers: tuple[str, ...], timeout: int | None, all_: bool, ignore: bool) -> int:
    """Stop one or more containers: the stop signal (SIGTERM), then SIGKILL after the timeout."""
    from podctl.engine import containers as engine

    _require_refs(containers, all_)
    return report_batch(engine.stop(_cfg(ctx), containers, timeout=timeout, all_=all_, ignore=ignore))


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing")
@click.option("-a", "--all", "all_", is_flag=True, help="Restart all containers")
@click.pass_context
def restart(ctx: click.Context, containers: tuple[str, ...], timeout: int | None, all_: bool) -> int:
    """Restart one or more containers."""
    from podctl.engine import containers as engine

    _require_refs(containers, all_)
    return report_batch(engine.restart(_cfg(ctx), containers, timeout=timeout, all_=all_))


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal to send")
@click.option("-a", "--all", "all_", is_flag=True, help="Signal all running containers")
@click.pass_context
def kill(ctx: click.Context, containers: tuple[str, ...], sig: str, all_: bool) -> int:
    """Kill one or more running containers with a signal."""
    from podctl.engine import containers as engine

    _require_refs(containers, all_)
    return report_batch(engine.kill(_cfg(ctx), containers, signal=sig, all_=all_))


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Stop running containers first, then remove them")
@click.option("-v", "--volumes", is_flag=True, help="Remove the anonymous volumes of the container")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all containers")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a container does not exist")
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing with --force")
@click.pass_context
def rm(ctx: click.Context, containers: tuple[str, ...], force: bool, volumes: bool, all_: bool,
       ignore: bool, timeout: int | None) -> int:  # fmt: skip
    """Remove one or more containers.

    Exit status: 1 when a container does not exist, 2 when one is running (without --force).
    """
    from podctl.engine import containers as engine

    _require_refs(containers, all_)
    items = engine.rm(_cfg(ctx), containers, force=force, volumes=volumes, all_=all_, ignore=ignore,
                      timeout=timeout)  # fmt: skip
    return report_batch(items, code_of=lambda e: 1 if isinstance(e, NotFound) else e.exit_code)


@click.command(context_settings=CONTEXT)
@click.argument("container")
@click.option("--rm", "remove", is_flag=True, hidden=True)
@click.pass_context
def cleanup(ctx: click.Context, container: str, remove: bool) -> None:
    """Clean up a container after it exits: unmount, remove (--rm) or restart (policy).

    conmon runs this when the container's process ends.
    """
    from podctl.engine import containers as engine

    engine.cleanup(_cfg(ctx), container)


# -- listing ---------------------------------------------------------------------------------------

PS_COLUMNS = ("ID", "Image", "Command", "Created", "Status", "Ports", "Names")
PS_HEADERS = {"ID": "CONTAINER ID", "Created": "CREATED", "CreatedHuman": "CREATED", "Names": "NAMES"}


@click.command(context_settings=CONTEXT)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all the containers, default is only running")
@click.option("-q", "--quiet", is_flag=True, help="Print the container IDs only")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter: id, name, label, status, exited, ancestor, pod")
@click.option("--format", "fmt", default="", help="json, or a Go template ({{.ID}} {{.Names}})")
@click.option("--noheading", "-n", "noheading", is_flag=True, help="Do not print headers")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("--last", type=int, default=-1, help="Print the n last created containers")
@click.option("-l", "--latest", is_flag=True, help="Act on the latest container podctl knows about")
@click.pass_context
def ps(ctx: click.Context, all_: bool, quiet: bool, filters: tuple[str, ...], fmt: str,
       noheading: bool, no_trunc: bool, last: int, latest: bool) -> None:  # fmt: skip
    """List containers."""
    from podctl.engine import containers as engine

    if latest:
        last, all_ = 1, True
    items = engine.ps(_cfg(ctx), engine.PsOptions(all=all_, filters=filters, last=last, no_trunc=no_trunc))
    if quiet:
        for it in items:
            click.echo(it["view"]["ID"])
        return
    if fmt == "json" or fmt == "{{json .}}":
        if fmt == "json":
            click.echo(to_json([it["json"] for it in items]))
        else:
            for it in items:
                click.echo(json.dumps(it["json"]))
        return
    emit([it["view"] for it in items], fmt, headers=PS_HEADERS, default_columns=PS_COLUMNS, noheading=noheading)


@click.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default="", help="json (default), or a Go template ({{.State.Status}})")
@click.option("-t", "--type", "kind", type=click.Choice(["all", "container", "image"]), default="all",
              help="Only consider this kind of object")  # fmt: skip
@click.option("-s", "--size", is_flag=True, hidden=True)
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str, kind: str, size: bool) -> None:
    """Display the configuration of containers (and, with the top-level command, images)."""
    from podctl.engine import containers as engine

    cfg = _cfg(ctx)
    data: list[Any] = []
    errors: list[PodctlError] = []
    if kind in ("all", "container"):
        found, errs = engine.inspect(cfg, names)
        data += found
        missing = [n for n in names if not any(d["Name"] == n or d["Id"].startswith(n) for d in found)]
        errors = [e for e in errs if not isinstance(e, NotFound)]
    else:
        missing = list(names)
    if missing and kind in ("all", "image"):
        try:
            from podctl.engine import images as image_engine

            idata, ierrs = image_engine.inspect(cfg, missing)
            data += idata
            errors += ierrs
        except ImportError:
            errors += [NotFound(f"no such object: \"{n}\"") for n in missing]
    elif missing:
        errors += [NotFound(f"no such container \"{n}\"") for n in missing]
    emit_inspect(data, fmt, errors)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--tail", type=int, default=-1, help="Output the specified number of lines at the end of logs")
@click.option("--since", help="Show logs since TIMESTAMP or DURATION ago (10m)")
@click.option("--until", help="Show logs until TIMESTAMP or DURATION ago")
@click.option("-t", "--timestamps", is_flag=True, help="Output the timestamps in the log")
@click.option("-n", "--names", is_flag=True, help="Output the container name in the log")
@click.pass_context
def logs(ctx: click.Context, containers: tuple[str, ...], follow: bool, tail: int, since: str | None,
         until: str | None, timestamps: bool, names: bool) -> None:  # fmt: skip
    """Fetch the logs of one or more containers."""
    from podctl.engine import containers as engine
    from podctl.runtime import logs as klog

    cfg = _cfg(ctx)
    since_t = klog.parse_since(since) if since else None
    until_t = klog.parse_since(until) if until else None
    for name in containers:
        rec, path = engine.log_path(cfg, name)
        if lc_driver(rec) != "k8s-file":
            raise InvalidSpec(f"container {rec.name}: logs need the k8s-file log driver, not {lc_driver(rec)}")
        prefix = (rec.name if names else rec.short_id) + " " if len(containers) > 1 or names else ""
        lines, offset = klog.read(path, tail=tail, since=since_t)
        for ln in lines:
            if until_t and ln.time > until_t:
                continue
            _write_line(ln, timestamps, prefix)
        if follow:
            for ln in klog.follow(path, offset, functools.partial(engine.is_running, cfg, rec.id)):
                _write_line(ln, timestamps, prefix)


def lc_driver(rec: Any) -> str:
    return str(rec.spec.get("log_driver", "k8s-file"))


def _write_line(ln: Any, timestamps: bool, prefix: str) -> None:
    from podctl.runtime.logs import format_time

    out = sys.stderr.buffer if ln.stream == "stderr" else sys.stdout.buffer
    head = prefix.encode()
    if timestamps:
        head += format_time(ln.time).encode() + b" "
    out.write(head + ln.text + (b"" if ln.partial else b"\n"))
    out.flush()


# -- exec / top / wait / cp / port / rename / exists / prune -----------------------------------------


@click.command(context_settings=EXEC_CONTEXT)
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-e", "--env", "env", multiple=True, help="Set environment variables")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables")
@click.option("-u", "--user", help="Run as this user (<name|uid>[:<group|gid>])")
@click.option("-w", "--workdir", help="Working directory inside the container")
@click.option("-d", "--detach", is_flag=True, help="Run the exec session in detached mode")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the process")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, container: str, command: tuple[str, ...], interactive: bool, tty: bool,
          env: tuple[str, ...], env_file: tuple[str, ...], user: str | None, workdir: str | None,
          detach: bool, privileged: bool) -> None:  # fmt: skip
    """Run a process in a running container."""
    from podctl.engine import containers as engine

    opts = engine.ExecOptions(command=command, interactive=interactive, tty=tty, env=_env(env, env_file),
                              user=user, workdir=workdir, detach=detach, privileged=privileged)  # fmt: skip
    code = engine.exec_(_cfg(ctx), container, opts)
    if code:
        raise ContainerExit(code)


@click.command(context_settings=EXEC_CONTEXT)
@click.argument("container")
@click.argument("descriptors", nargs=-1)
@click.pass_context
def top(ctx: click.Context, container: str, descriptors: tuple[str, ...]) -> None:
    """Display the running processes of a container (descriptors: user pid ppid pcpu etime tty time args ...)."""
    from podctl.cli.output import table
    from podctl.engine import containers as engine

    table(engine.top(_cfg(ctx), container, descriptors))


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1, required=True)
@click.option("-i", "--interval", default="250ms", help="Time interval to wait before polling for completion")
@click.option("--condition", default="stopped", help="Condition to wait on (stopped, exited)")
@click.pass_context
def wait(ctx: click.Context, containers: tuple[str, ...], interval: str, condition: str) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    from podctl.engine import containers as engine

    if condition not in ("stopped", "exited"):
        raise InvalidSpec(f"--condition {condition}: only stopped and exited are supported")
    secs = _duration(interval)
    for code in engine.wait(_cfg(ctx), containers, interval=secs):
        click.echo(code)


def _duration(text: str) -> float:
    t = text.strip()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            try:
                return float(t[: -len(suffix)]) * mult
            except ValueError:
                break
    try:
        return float(t) / 1000  # podman: a bare number is milliseconds
    except ValueError as e:
        raise InvalidSpec(f"--interval {text}: expected a duration like 250ms") from e


@click.command(context_settings=CONTEXT)
@click.argument("src")
@click.argument("dest")
@click.option("-a", "--archive", is_flag=True, default=True, hidden=True)
@click.pass_context
def cp(ctx: click.Context, src: str, dest: str, archive: bool) -> None:
    """Copy files between a container and the host: cp CTR:SRC DEST, or cp SRC CTR:DEST."""
    from podctl.engine import containers as engine

    engine.cp(_cfg(ctx), src, dest)


@click.command(context_settings=CONTEXT)
@click.argument("container", required=False)
@click.argument("private_port", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
@click.option("-a", "--all", "all_", is_flag=True, help="Display port information for all containers")
@click.pass_context
def port(ctx: click.Context, container: str | None, private_port: str | None, all_: bool) -> None:
    """List the port mappings of a container, or the host address of one of its ports."""
    from podctl.engine import containers as engine

    cfg = _cfg(ctx)
    if all_:
        if container:
            raise InvalidSpec("the --all option cannot be used together with a container name")
        for item in engine.ps(cfg, engine.PsOptions()):
            lines = engine.port(cfg, item["json"]["Id"])
            if lines:
                click.echo(item["json"]["Id"][:12])
                for line in lines:
                    click.echo(line)
        return
    if not container:
        raise InvalidSpec("you must provide a container name or id (or --all)")
    lines = engine.port(cfg, container)
    if private_port:
        want = private_port if "/" in private_port else private_port + "/tcp"
        found = [ln.split(" -> ", 1)[1] for ln in lines if ln.split(" -> ", 1)[0] == want]
        if not found:
            raise NotFound(f"failed to find published port {want!r}")
        lines = found
    for line in lines:
        click.echo(line)


@click.command(context_settings=CONTEXT)
@click.argument("container")
@click.argument("name")
@click.pass_context
def rename(ctx: click.Context, container: str, name: str) -> None:
    """Rename an existing container."""
    from podctl.engine import containers as engine

    engine.rename(_cfg(ctx), container, name)


@click.command(context_settings=CONTEXT)
@click.argument("container")
@click.pass_context
def exists(ctx: click.Context, container: str) -> int:
    """Check if a container exists: exit status 0 if it does, 1 if it does not."""
    from podctl.engine import containers as engine

    return 0 if engine.exists(_cfg(ctx), container) else 1


@click.command(context_settings=CONTEXT)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune(ctx: click.Context, force: bool) -> int:
    """Remove all stopped containers."""
    from podctl.engine import containers as engine

    if not force:
        click.echo("WARNING! This will remove all non running containers.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return 0
    items = engine.prune(_cfg(ctx))
    return report_batch([it for it in items], print_ok=False) or _print_ids(items)


def _print_ids(items: Sequence[Any]) -> int:
    for it in items:
        if it.ok:
            click.echo(it.id)
    return 0


@click.group(context_settings=CONTEXT)
def container() -> None:
    """Manage containers."""


for _name, _cmd in (
    ("create", create), ("run", run), ("start", start), ("stop", stop), ("restart", restart),
    ("kill", kill), ("rm", rm), ("ps", ps), ("ls", ps), ("list", ps), ("inspect", inspect),
    ("logs", logs), ("exec", exec_), ("top", top), ("wait", wait), ("cp", cp), ("port", port),
    ("rename", rename), ("exists", exists), ("prune", prune), ("cleanup", cleanup),
):  # fmt: skip
    container.add_command(_cmd, _name)
