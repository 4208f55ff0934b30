"""`podctl generate systemd` and `podctl systemd uninstall`."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import click

from podctl.cli.main import CONTEXT, globals_of
from podctl.errors import InvalidSpec
from podctl.systemd.generate import RESTART_POLICIES


def _cli_options(command: str) -> tuple[set[str], set[str]]:
    """The option spellings of a podctl command, and those of its boolean flags."""
    from podctl.cli.main import load_attr
    from podctl.cli.registry import COMMANDS

    try:
        cmd = load_attr(COMMANDS[command][0])
    except (KeyError, ImportError, AttributeError):
        return set(), set()
    opts: set[str] = set()
    bools: set[str] = set()
    for p in getattr(cmd, "params", []):
        if isinstance(p, click.Option):
            names = {*p.opts, *p.secondary_opts}
            opts |= names
            if p.is_flag:
                bools |= names
    return opts, bools


def generate_options(**kw: Any) -> Any:
    """GenerateOptions for this podctl: what its run/stop/rm accept decides the flavor."""
    from podctl.systemd.generate import BOOL_FLAGS, PODCTL, GenerateOptions

    run_opts, run_bools = _cli_options("run")
    stop_opts, _ = _cli_options("stop")
    rm_opts, _ = _cli_options("rm")
    flavor = replace(
        PODCTL,
        cgroups_flag="--cgroups" in run_opts,
        stop_cidfile="--cidfile" in stop_opts and "--cidfile" in rm_opts,
    )
    return GenerateOptions(flavor=flavor, bool_flags=BOOL_FLAGS | frozenset(run_bools), **kw)


def _env(items: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for item in items:
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
        else:
            raise InvalidSpec(f"--env {item}: not KEY=VALUE and not set in the environment")
    return tuple(out)


@click.command("systemd", context_settings=CONTEXT)
@click.argument("ref", metavar="CONTAINER|POD")
@click.option(
    "-f", "--files", is_flag=True, help="Generate .service files instead of printing to stdout"
)
@click.option(
    "--format", "fmt", default="", help="Print the created units in the specified format (json)"
)
@click.option(
    "-n", "--name", "use_name", is_flag=True, help="Use container/pod names instead of IDs"
)
@click.option(
    "--new", is_flag=True, help="Create a new container or pod instead of starting an existing one"
)
@click.option(
    "--no-header",
    is_flag=True,
    help="Skip the header including the podctl version and the timestamp",
)
@click.option("--restart-policy", type=click.Choice(RESTART_POLICIES), default=None,
              help="Systemd restart-policy  [default: on-failure]")  # fmt: skip
@click.option(
    "--restart-sec", type=click.IntRange(min=0), default=None, help="Systemd RestartSec= (seconds)"
)
@click.option(
    "--start-timeout",
    type=click.IntRange(min=0),
    default=None,
    help="Start timeout override (seconds)",
)
@click.option("-t", "--stop-timeout", "--time", "stop_timeout", type=click.IntRange(min=0), default=None,
              help="Stop timeout override  [default: the container's, 10]")  # fmt: skip
@click.option(
    "--container-prefix",
    default="container",
    show_default=True,
    help="Systemd unit name prefix for containers",
)
@click.option(
    "--pod-prefix", default="pod", show_default=True, help="Systemd unit name prefix for pods"
)
@click.option(
    "--separator",
    default="-",
    show_default=True,
    help="Systemd unit name separator between name/id and prefix",
)
@click.option(
    "--wants", multiple=True, help="Add (weak) requirement dependencies to the generated unit file"
)
@click.option("--after", multiple=True, help="Add dependencies order to the generated unit file")
@click.option(
    "--requires",
    multiple=True,
    help="Similar to wants, but declares stronger requirement dependencies",
)
@click.option("-e", "--env", "env", multiple=True, metavar="KEY[=VALUE]",
              help="Set environment variables for the systemd unit files")  # fmt: skip
@click.option(
    "--template",
    is_flag=True,
    help="Make it a template file and use %i and %I specifiers (needs --new)",
)
@click.option("--install", is_flag=True,
              help="Write the units to ~/.config/systemd/user/ and reload the user manager")  # fmt: skip
@click.option(
    "--enable", is_flag=True, help="With --install: enable the units (start with the user manager)"
)
@click.option(
    "--start", is_flag=True, help="With --install: start the units and wait until they run"
)
@click.pass_context
def generate_systemd(ctx: click.Context, ref: str, files: bool, fmt: str, use_name: bool, new: bool,
                     no_header: bool, restart_policy: str | None, restart_sec: int | None,
                     start_timeout: int | None, stop_timeout: int | None, container_prefix: str,
                     pod_prefix: str, separator: str, wants: tuple[str, ...], after: tuple[str, ...],
                     requires: tuple[str, ...], env: tuple[str, ...], template: bool, install: bool,
                     enable: bool, start: bool) -> None:  # fmt: skip
    """Generate systemd units for a container or pod.

    Prints the units (or writes them with --files). With --new the unit creates a fresh
    container when it starts and removes it when it stops (Type=notify, --sdnotify=conmon);
    without, it starts and stops the existing container (Type=forking). --install writes
    the units into the user's unit directory, reloads the user manager over D-Bus and, with
    --enable and --start, enables and starts them, waiting for each job's result.
    """
    from podctl.engine import systemd as engine

    if fmt and fmt != "json":
        raise InvalidSpec(f"--format {fmt}: only json is supported")
    gen = generate_options(
        new=new, use_name=use_name, restart_policy=restart_policy, restart_sec=restart_sec,
        start_timeout=start_timeout, stop_timeout=stop_timeout, container_prefix=container_prefix,
        pod_prefix=pod_prefix, separator=separator, wants=wants, after=after, requires=requires,
        env=_env(env), template=template, no_header=no_header,
    )  # fmt: skip
    opts = engine.GenerateSystemdOptions(ref=ref, generate=gen, files=files, install=install,
                                         enable=enable, start=start)  # fmt: skip
    report = engine.generate_systemd(globals_of(ctx).config(), opts)
    if fmt == "json":
        import json

        # As podman: unit name -> its text, or -> the file written with --files.
        if files:
            data = {u.service: str(p) for p, u in zip(report.files, report.units, strict=True)}
        else:
            data = {u.service: u.text for u in report.units}
        click.echo(json.dumps(dict(sorted(data.items())), indent=1))
    elif files:
        for path in report.files:
            click.echo(str(path))
    elif not install:
        for u in report.units:
            click.echo(u.text, nl=False)
    if report.install:
        for path in report.install.files:
            click.echo(f"Installed {path}" if (files or fmt) else str(path))
        for change in report.install.enabled:
            click.echo(f"Created symlink {change.path} \u2192 {change.target}.", err=True)
        for job in report.install.started:
            click.echo(f"Started {job.unit}", err=True)


@click.group(context_settings=CONTEXT)
def systemd() -> None:
    """Manage the systemd user units podctl installed."""


@systemd.command("uninstall", context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="UNIT|CONTAINER|POD...")
@click.pass_context
def uninstall(ctx: click.Context, names: tuple[str, ...]) -> int:
    """Stop, disable and remove units installed with `generate systemd --install`.

    NAME is a unit (container-web.service) or the container/pod name it was generated for.
    The user manager is reloaded afterwards. Each name is reported; the exit status is
    non-zero when any failed.
    """
    from podctl.cli.main import error
    from podctl.engine import systemd as engine

    items = engine.uninstall(globals_of(ctx).config(), list(names))
    failed = 0
    for item in items:
        if item.report:
            click.echo(item.report.unit)
        elif item.error:
            failed += 1
            error(f"{item.ref}: {item.error.message}", item.error.hint)
    return 125 if failed else 0


@systemd.command("status", context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="UNIT|CONTAINER|POD...")
@click.option("-f", "--format", "fmt", default="", help="json, or a Go template ({{.ActiveState}})")
@click.option("--noheading", "-n", "noheading", is_flag=True, help="Do not print headers")
@click.pass_context
def status(ctx: click.Context, names: tuple[str, ...], fmt: str, noheading: bool) -> None:
    """Show the state of units as the user manager reports it over D-Bus.

    The columns are the unit, its active and sub state, the service result, the main PID,
    how often systemd restarted it, and its status text (a failed podctl command's error).
    """
    from podctl.cli.output import emit
    from podctl.engine import systemd as engine

    rows = engine.status(list(names))
    emit(
        rows,
        fmt,
        default_columns=(
            "Unit",
            "ActiveState",
            "SubState",
            "Result",
            "MainPID",
            "NRestarts",
            "StatusText",
        ),
        headers={
            "Unit": "UNIT",
            "ActiveState": "ACTIVE",
            "SubState": "SUB",
            "MainPID": "PID",
            "NRestarts": "RESTARTS",
            "StatusText": "STATUS",
        },  # fmt: skip
        noheading=noheading,
    )
