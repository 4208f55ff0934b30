"""Container commands, with podman's names, flags and output shapes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from podctl.cli.actions import container as act
from podctl.cli.actions.container import PS_COLUMNS as PS_COLUMNS
from podctl.cli.actions.container import PS_HEADERS as PS_HEADERS
from podctl.cli.actions.container import build_spec as build_spec
from podctl.cli.actions.container import lc_driver as lc_driver
from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import report_batch
from podctl.errors import InvalidSpec, NotFound

# run/create/exec pass everything after IMAGE (or CONTAINER) to the container, and podman's
# `-h` means --hostname there.
RUN_CONTEXT = {**CONTEXT, "help_option_names": ["--help"], "allow_interspersed_args": False}
EXEC_CONTEXT = {**CONTEXT, "allow_interspersed_args": False}


def _cfg(ctx: click.Context) -> Any:
    return globals_of(ctx).config()


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
        click.option("--replace", is_flag=True, help="Replace a container with the same name (and a leftover --cidfile)"),
        click.option("--cidfile", metavar="FILE", help="Write the container ID to the file"),
        click.option("--network", "--net", "network", default=None,
                     help="Network mode: pasta[:OPTIONS] (default, in slirp4netns's addresses, unless containers.conf's "
                          "[network] default_rootless_network_cmd says slirp4netns), slirp4netns[:OPTIONS], none, host, "
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
        click.option("--log-driver", default="k8s-file", show_default=True, help="Logging driver: k8s-file, journald (k8s-file where no journald listens), none, passthrough"),
        click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits"),
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.command(context_settings=RUN_CONTEXT)
@_run_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, **kw: Any) -> None:
    """Create a container from IMAGE, but do not start it. Prints the container ID."""
    act.create(globals_of(ctx), **kw)


@click.command(context_settings=RUN_CONTEXT)
@click.option("-d", "--detach", is_flag=True, help="Run the container in the background and print its ID")
@_run_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, **kw: Any) -> None:
    """Run COMMAND in a new container from IMAGE.

    Without -d, the container's output is streamed and podctl exits with the container's exit
    code (125: podctl failed, 126: the command cannot be invoked, 127: it was not found).
    """
    act.run(globals_of(ctx), **kw)


# -- start / stop / restart / kill / rm -----------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-a", "--attach", is_flag=True, help="Attach to the container's output and exit with its exit code")
@click.option("--all", "all_", is_flag=True, help="Start all containers regardless of their state")
@click.pass_context
def start(ctx: click.Context, **kw: Any) -> int:
    """Start one or more containers."""
    return act.start(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing (default 10)")
@click.option("-a", "--all", "all_", is_flag=True, help="Stop all running containers")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a container does not exist")
@click.option("--cidfile", "cidfiles", multiple=True, metavar="FILE",
              help="Read the container ID from FILE (can be given more than once)")
@click.pass_context
def stop(ctx: click.Context, **kw: Any) -> int:
    """Stop one or more containers: the stop signal (SIGTERM), then SIGKILL after the timeout."""
    return act.stop(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing")
@click.option("-a", "--all", "all_", is_flag=True, help="Restart all containers")
@click.pass_context
def restart(ctx: click.Context, **kw: Any) -> int:
    """Restart one or more containers."""
    return act.restart(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal to send")
@click.option("-a", "--all", "all_", is_flag=True, help="Signal all running containers")
@click.pass_context
def kill(ctx: click.Context, **kw: Any) -> int:
    """Kill one or more running containers with a signal."""
    return act.kill(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Stop running containers first, then remove them")
@click.option("-v", "--volumes", is_flag=True, help="Remove the anonymous volumes of the container")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all containers")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a container does not exist")
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing with --force")
@click.option("--cidfile", "cidfiles", multiple=True, metavar="FILE",
              help="Read the container ID from FILE (can be given more than once)")
@click.pass_context
def rm(ctx: click.Context, **kw: Any) -> int:
    """Remove one or more containers.

    Exit status: 1 when a container does not exist, 2 when one is running (without --force).
    """
    return act.rm(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("container")
@click.option("--rm", "remove", is_flag=True, hidden=True)
@click.pass_context
def cleanup(ctx: click.Context, **kw: Any) -> None:
    """Clean up a container after it exits: unmount, remove (--rm) or restart (policy).

    conmon runs this when the container's process ends.
    """
    act.cleanup(globals_of(ctx), **kw)


# -- listing ---------------------------------------------------------------------------------------

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
def ps(ctx: click.Context, **kw: Any) -> None:
    """List containers."""
    act.ps(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default="", help="json (default), or a Go template ({{.State.Status}})")
@click.option("-t", "--type", "kind", type=click.Choice(["all", "container", "image"]), default="all",
              help="Only consider this kind of object")  # fmt: skip
@click.option("-s", "--size", is_flag=True, hidden=True)
@click.pass_context
def inspect(ctx: click.Context, **kw: Any) -> None:
    """Display the configuration of containers (and, with the top-level command, images)."""
    act.inspect(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--tail", type=int, default=-1, help="Output the specified number of lines at the end of logs")
@click.option("--since", help="Show logs since TIMESTAMP or DURATION ago (10m)")
@click.option("--until", help="Show logs until TIMESTAMP or DURATION ago")
@click.option("-t", "--timestamps", is_flag=True, help="Output the timestamps in the log")
@click.option("-n", "--names", is_flag=True, help="Output the container name in the log")
@click.pass_context
def logs(ctx: click.Context, **kw: Any) -> None:
    """Fetch the logs of one or more containers."""
    act.logs(globals_of(ctx), **kw)


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
def exec_(ctx: click.Context, **kw: Any) -> None:
    """Run a process in a running container."""
    act.exec_(globals_of(ctx), **kw)


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
def wait(ctx: click.Context, **kw: Any) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    act.wait(globals_of(ctx), **kw)


@click.command(context_settings=CONTEXT)
@click.argument("src")
@click.argument("dest")
@click.option("-a", "--archive", is_flag=True, default=True, hidden=True)
@click.pass_context
def cp(ctx: click.Context, src: str, dest: str, archive: bool) -> None:
    """Copy files between a container and the host: cp CTR:SRC DEST, or cp SRC CTR:DEST.

    DEST `-` writes a tar archive of CTR:SRC to stdout; SRC `-` reads a tar archive from
    stdin and unpacks it into the directory CTR:DEST."""
    import sys

    from podctl.engine import containers as engine

    if dest == "-" and sys.stdout.isatty():
        raise click.UsageError("cp CTR:SRC -: refusing to write a tar archive to a terminal", ctx)
    sys.stdout.flush()
    engine.cp(_cfg(ctx), src, dest, stdin=sys.stdin.buffer, stdout=sys.stdout.buffer)
    sys.stdout.buffer.flush()


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
def exists(ctx: click.Context, **kw: Any) -> int:
    """Check if a container exists: exit status 0 if it does, 1 if it does not."""
    return act.exists(globals_of(ctx), **kw)


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
