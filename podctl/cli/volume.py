"""Volume commands: volume create, ls, inspect, rm, prune, exists."""

from __future__ import annotations

import click

from podctl.cli.common import kv_pairs
from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import emit, emit_inspect, report_batch, to_json
from podctl.errors import InvalidSpec


@click.command(context_settings=CONTEXT)
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local", show_default=True, help="Volume driver")
@click.option("-l", "--label", "labels", multiple=True, help="Set metadata for a volume (KEY=VALUE)")
@click.option("-o", "--opt", "opts", multiple=True, help="Volume options: uid=UID, gid=GID (owner of its root), nocopy")
@click.option("--ignore", is_flag=True, help="Do not fail if the volume already exists")
@click.pass_context
def create(ctx: click.Context, name: str | None, driver: str, labels: tuple[str, ...],
           opts: tuple[str, ...], ignore: bool) -> None:  # fmt: skip
    """Create a new volume (a random name when NAME is not given)."""
    from podctl.engine import volumes as engine

    vol = engine.create(globals_of(ctx).config(), engine.VolumeCreateOptions(
        name=name, driver=driver, labels=kv_pairs(labels, "--label"), options=kv_pairs(opts, "--opt"),
        ignore=ignore))  # fmt: skip
    click.echo(vol.name)


@click.command(context_settings=CONTEXT)
@click.option("-f", "--filter", "filters", multiple=True, help="Filter: name, label, driver, dangling")
@click.option("--format", "fmt", default="", help="json, or a Go template ({{.Name}})")
@click.option("-q", "--quiet", is_flag=True, help="Print volume names only")
@click.option("-n", "--noheading", is_flag=True, help="Do not print headers")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], fmt: str, quiet: bool, noheading: bool) -> None:
    """List volumes."""
    from podctl.engine import volumes as engine

    cfg = globals_of(ctx).config()
    vols = engine.ls(cfg, filters)
    if quiet:
        for v in vols:
            click.echo(v.name)
        return
    if fmt == "json":
        db = engine._db(cfg)
        users = engine._users(db)
        click.echo(to_json([engine.inspect_one(cfg, db, v, users) for v in vols]))
        return
    rows = [{"Driver": v.driver, "Name": v.name, "Mountpoint": v.mountpoint, "Labels": v.labels,
             "Scope": "local"} for v in vols]  # fmt: skip
    emit(rows, fmt, headers={"Name": "VOLUME NAME"}, default_columns=("Driver", "Name"), noheading=noheading)


@click.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True, help="Inspect all volumes")
@click.option("-f", "--format", "fmt", default="", help="json (default), or a Go template")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], all_: bool, fmt: str) -> None:
    """Display detailed information on one or more volumes."""
    from podctl.engine import volumes as engine

    if not names and not all_:
        raise InvalidSpec("provide one or more volume names or use --all")
    data, errors = engine.inspect(globals_of(ctx).config(), names, all_)
    emit_inspect(data, fmt, errors)


@click.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all volumes")
@click.option("-f", "--force", is_flag=True, help="Remove the containers using the volume first")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], all_: bool, force: bool) -> int:
    """Remove one or more volumes (exit status 1: no such volume, 2: volume in use)."""
    from podctl.engine import volumes as engine
    from podctl.errors import NotFound

    if not names and not all_:
        raise InvalidSpec("provide one or more volume names or use --all")
    items = engine.rm(globals_of(ctx).config(), names, force=force, all_=all_)
    return report_batch(items, line=lambda r: r.name, code_of=lambda e: 1 if isinstance(e, NotFound) else e.exit_code)


@click.command(context_settings=CONTEXT)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Filter: name, label, driver")
@click.pass_context
def prune(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all volumes not used by any container."""
    from podctl.engine import volumes as engine

    if not force:
        click.echo("WARNING! This will remove all volumes not used by at least one container. "
                   "The following volumes will be removed:")  # fmt: skip
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    for r in engine.prune(globals_of(ctx).config(), filters):
        click.echo(r.name)


@click.command(context_settings=CONTEXT)
@click.argument("name")
@click.pass_context
def exists(ctx: click.Context, name: str) -> int:
    """Check if a volume exists: exit status 0 if it does, 1 if it does not."""
    from podctl.engine import volumes as engine

    return 0 if engine.exists(globals_of(ctx).config(), name) else 1


@click.group(context_settings=CONTEXT)
def volume() -> None:
    """Manage volumes."""


for _name, _cmd in (("create", create), ("ls", ls), ("list", ls), ("inspect", inspect),
                    ("rm", rm), ("remove", rm), ("prune", prune), ("exists", exists)):  # fmt: skip
    volume.add_command(_cmd, _name)


