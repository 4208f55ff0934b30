"""System commands: info, doctor, version, unshare, system ..."""

from __future__ import annotations

import click

from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import emit


@click.command(context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", default="", help="json, or a Go template ({{.Host.Arch}})")
@click.pass_context
def info(ctx: click.Context, fmt: str) -> None:
    """Display podctl system information: host, runtimes, helpers, ids, storage."""
    from podctl.system.info import gather

    data = gather(globals_of(ctx).config())
    if not fmt:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)
        return
    emit([data], fmt, single=True)


@click.command(context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", default="", help="json, or a Go template ({{.Name}})")
@click.option("--quick", is_flag=True, help="Skip the checks that start a container.")
@click.pass_context
def doctor(ctx: click.Context, fmt: str, quick: bool) -> int:
    """Check every rootless prerequisite for the calling user.

    Prints one line per check, OK or FAIL, with the exact command that fixes a failure.
    The exit status is 1 when any check fails.
    """
    from podctl.system.doctor import run_checks

    results = run_checks(globals_of(ctx).config(), quick=quick)
    if fmt:
        emit([r.as_dict() for r in results], fmt)
    else:
        for r in results:
            click.echo(r.line())
            if not r.ok and r.fix:
                click.echo(f"      fix: {r.fix}")
        failed = sum(not r.ok for r in results)
        click.echo(
            f"{len(results) - failed} passed, {failed} failed"
            if failed
            else f"all {len(results)} checks passed"
        )
    return 1 if any(not r.ok for r in results) else 0


@click.command(context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", default="", help="json, or a Go template")
def version(fmt: str) -> None:
    """Display the podctl version information."""
    import platform
    import sys

    from podctl import __version__

    data = {
        "Client": {
            "Version": __version__,
            "PythonVersion": platform.python_version(),
            "OsArch": f"{sys.platform}/{platform.machine()}",
        }
    }
    if fmt:
        emit([data], fmt, single=True)
    else:
        click.echo(f"Version:      {__version__}")
        click.echo(f"Python:       {platform.python_version()}")
        click.echo(f"OS/Arch:      {sys.platform}/{platform.machine()}")


@click.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def unshare(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Run COMMAND (default: $SHELL) inside podctl's user and mount namespace.

    Inside, the calling user is root and the subordinate ids are mapped, so files in the store
    can be inspected and removed. As with podman, PODCTL_UNSHARE is set and the storage paths
    are exported.
    """
    from podctl.rootless import userns

    cfg = globals_of(ctx).config()
    code = userns.exec_inside(cfg, list(command))
    ctx.exit(code)


@click.group(context_settings=CONTEXT)
def system() -> None:
    """Manage podctl."""


system.add_command(info, "info")
system.add_command(doctor, "doctor")

from podctl.cli.image import system_check, system_df  # noqa: E402 - image commands own these

system.add_command(system_df, "df")
system.add_command(system_check, "check")
