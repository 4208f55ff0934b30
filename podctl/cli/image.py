"""Image commands: pull, push, images, image inspect/exists/prune/..., rmi, tag, untag, save,
load, import. Parsing and printing only; the work is in podctl.engine.images."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from podctl.cli.main import CONTEXT, globals_of
from podctl.cli.output import emit, emit_inspect, to_json
from podctl.units import human_duration, human_size

TLS_HELP = "Require HTTPS and verify certificates when contacting registries (default from registries.conf)."


def _tls(value: bool | None) -> bool | None:
    return value


class GoBoolCommand(click.Command):
    """Accept Go-style `--tls-verify=false` as well as `--tls-verify` and `--no-tls-verify`.

    A plain optional-value option would swallow the next argument (`--tls-verify IMAGE`).
    """

    go_bools = ("tls-verify",)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            for name in self.go_bools:
                if arg.startswith(f"--{name}="):
                    value = arg.split("=", 1)[1].lower()
                    if value in ("true", "1", "yes", "t"):
                        arg = f"--{name}"
                    elif value in ("false", "0", "no", "f"):
                        arg = f"--no-{name}"
                    else:
                        raise click.BadParameter(f"{value!r} is not a boolean", param_hint=f"--{name}")
            out.append(arg)
        return super().parse_args(ctx, out)


def tls_option(f: Any) -> Any:
    return click.option("--tls-verify/--no-tls-verify", "tls_verify", default=None, help=TLS_HELP)(f)


def auth_options(f: Any) -> Any:
    f = click.option("--authfile", metavar="PATH", help="Path of the authentication file.")(f)
    f = click.option("--creds", metavar="USER[:PASS]", help="Credentials to use with the registry.")(f)
    return tls_option(f)






def _progress(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from podctl.image.pull import progress_printer

    return progress_printer(sys.stderr)


# -- pull ----------------------------------------------------------------------------------------


@click.command(cls=GoBoolCommand, context_settings=CONTEXT)
@click.argument("references", nargs=-1, required=True)
@auth_options
@click.option("-q", "--quiet", is_flag=True, help="Suppress output information when pulling images.")
@click.option("--platform", default="", metavar="OS/ARCH[/VARIANT]", help="Pull this platform from a manifest list.")
@click.option("--arch", default="", help="Use ARCH instead of the host's architecture.")
@click.option("--os", "os_name", default="", help="Use OS instead of the running OS.")
@click.option("--variant", default="", help="Use VARIANT instead of the default variant.")
@click.option("-a", "--all-tags", is_flag=True, help="Pull every tagged image of the repository.")
@click.pass_context
def pull(ctx: click.Context, references: tuple[str, ...], tls_verify: bool | None, creds: str | None,
         authfile: str | None, quiet: bool, platform: str, arch: str, os_name: str, variant: str,
         all_tags: bool) -> None:  # fmt: skip
    """Pull images from a registry into the local store.

    Each layer is fetched once, verified (size, sha256 and uncompressed digest) and unpacked once
    inside the user namespace. The image ID is printed when done.
    """
    from podctl.engine import images

    tty = None
    if not quiet and sys.stderr.isatty():
        from podctl.image.pull import TTYProgress

        tty = TTYProgress(sys.stderr)
    opts = images.PullOptions(
        references=references, tls_verify=_tls(tls_verify), creds=creds, authfile=authfile,
        platform=platform, os=os_name, arch=arch, variant=variant, quiet=quiet, all_tags=all_tags,
        progress=tty.line if tty else None, layer_progress=tty.layer if tty else None,
    )  # fmt: skip
    for image_id in images.pull(globals_of(ctx).config(), opts):
        click.echo(image_id)


# -- images --------------------------------------------------------------------------------------


def _rows(summaries: list[Any], *, digests: bool, no_trunc: bool) -> list[dict[str, Any]]:
    now = time.time()
    rows = []
    for s in summaries:
        names = list(s.info.names) or ["<none>:<none>"]
        for name in names:
            if name == "<none>:<none>":
                repo, tag = "<none>", "<none>"
            else:
                repo, _, tag = name.rpartition(":")
            created = s.created_unix
            rows.append({
                "Repository": repo,
                "Tag": tag,
                "ID": f"sha256:{s.info.id}" if no_trunc else s.info.id[:12],
                "Id": s.info.id,
                "Digest": s.info.manifest_digest,
                "Created": human_duration(now - created) + " ago",
                "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
                "CreatedSince": human_duration(now - created) + " ago",
                "Size": human_size(s.info.size),
                "VirtualSize": human_size(s.info.size),
                "SharedSize": "",
                "Labels": s.labels,
                "Containers": s.containers,
                "Dangling": s.dangling,
                "ReadOnly": False,
                "History": "",
                "IsManifestList": False,
            })  # fmt: skip
    return rows


def _json_item(s: Any) -> dict[str, Any]:
    return {
        "Id": s.info.id,
        "ParentId": "",
        "RepoTags": list(s.info.names) or None,
        "RepoDigests": list(s.info.digests),
        "Size": s.info.size,
        "SharedSize": 0,
        "VirtualSize": s.info.size,
        "Labels": s.labels or None,
        "Containers": s.containers,
        "Names": list(s.info.names) or None,
        "Digest": s.info.manifest_digest,
        "History": list(s.info.names) or None,
        "Created": s.created_unix,
        "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s.created_unix)),
        "Dangling": s.dangling,
    }


@click.command(context_settings=CONTEXT)
@click.argument("reference", required=False, default="")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images (default hides intermediate images).")
@click.option("-f", "--filter", "filters", multiple=True, metavar="FILTER",
              help="Filter output based on conditions (reference=, dangling=, label=, id=, before=, since=).")
@click.option("--format", "fmt", default="", help="json, or a Go template ({{.Repository}})")
@click.option("-n", "--noheading", is_flag=True, help="Do not print column headings.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Display only image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.pass_context
def images(ctx: click.Context, reference: str, all_: bool, filters: tuple[str, ...], fmt: str,
           noheading: bool, no_trunc: bool, quiet: bool, digests: bool) -> None:  # fmt: skip
    """List images in local storage."""
    from podctl.engine import images as engine

    opts = engine.ListOptions(all=all_, filters=filters, reference=reference)
    found = engine.list_images(globals_of(ctx).config(), opts)
    if fmt == "json" or fmt == "{{json .}}":
        click.echo(to_json([_json_item(s) for s in found]))
        return
    if quiet:
        seen = set()
        for s in found:
            if s.info.id not in seen:
                seen.add(s.info.id)
                click.echo(f"sha256:{s.info.id}" if no_trunc else s.info.id[:12])
        return
    cols = ["Repository", "Tag", "ID", "Created", "Size"]
    if digests:
        cols.insert(2, "Digest")
    emit(_rows(found, digests=digests, no_trunc=no_trunc), fmt, default_columns=cols,
         headers={"ID": "IMAGE ID"}, noheading=noheading)  # fmt: skip


# -- inspect / exists ----------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("references", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default="", help="json (default), or a Go template ({{.Id}})")
@click.pass_context
def inspect(ctx: click.Context, references: tuple[str, ...], fmt: str) -> None:
    """Display the configuration of one or more images."""
    from podctl.engine import images as engine

    data, errors = engine.inspect(globals_of(ctx).config(), references)
    emit_inspect(data, fmt, errors)


@click.command(context_settings=CONTEXT)
@click.argument("reference")
@click.pass_context
def exists(ctx: click.Context, reference: str) -> None:
    """Exit 0 if the image exists in local storage, 1 if not."""
    from podctl.engine import images as engine

    ctx.exit(0 if engine.exists(globals_of(ctx).config(), reference) else 1)


@click.command(context_settings=CONTEXT)
@click.argument("reference")
@click.option("--format", "fmt", default="", help="json, or a Go template ({{.ID}} {{.CreatedBy}})")
@click.option("-H", "--human/--no-human", default=True, help="Show sizes and dates in human-readable form.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-q", "--quiet", is_flag=True, help="Display only the IDs.")
@click.pass_context
def history(ctx: click.Context, reference: str, fmt: str, human: bool, no_trunc: bool, quiet: bool) -> None:
    """Show the history of an image: one row per build step, newest first."""
    from podctl.engine import images as engine
    from podctl.engine.images import parse_time

    entries = engine.history(globals_of(ctx).config(), reference)
    if fmt == "json":
        click.echo(to_json(entries))
        return
    now = time.time()
    rows = []
    for e in entries:
        image_id = e["id"] if no_trunc or e["id"] == "<missing>" else e["id"][:12]
        if quiet:
            click.echo(image_id)
            continue
        created = parse_time(e["created"])
        by = e["CreatedBy"] if no_trunc or len(e["CreatedBy"]) <= 45 else e["CreatedBy"][:42] + "..."
        rows.append({
            "ID": image_id,
            "Created": human_duration(now - created) + " ago" if human else e["created"],
            "CreatedBy": by,
            "Size": human_size(e["size"]) if human else str(e["size"]),
            "Comment": e["comment"],
            "Tags": e["tags"],
        })  # fmt: skip
    if not quiet:
        emit(rows, fmt, default_columns=["ID", "Created", "CreatedBy", "Size", "Comment"])


# -- tag / untag ---------------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("image")
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def tag(ctx: click.Context, image: str, targets: tuple[str, ...]) -> None:
    """Add one or more names to a local image (unqualified names go to localhost/)."""
    from podctl.engine import images as engine

    engine.tag(globals_of(ctx).config(), image, targets)


@click.command(context_settings=CONTEXT)
@click.argument("image")
@click.argument("targets", nargs=-1)
@click.pass_context
def untag(ctx: click.Context, image: str, targets: tuple[str, ...]) -> None:
    """Remove names from a local image (all of them when none is given)."""
    from podctl.engine import images as engine

    engine.untag(globals_of(ctx).config(), image, targets)


# -- rmi / prune ---------------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("references", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all images.")
@click.option("-f", "--force", is_flag=True, help="Remove images even when containers use them.")
@click.option("-i", "--ignore", is_flag=True, help="Ignore errors when a specified image is missing.")
@click.pass_context
def rmi(ctx: click.Context, references: tuple[str, ...], all_: bool, force: bool, ignore: bool) -> int:
    """Remove one or more images from local storage."""
    from podctl.engine import images as engine
    from podctl.errors import NotFound

    if not references and not all_:
        raise click.UsageError("image name or ID must be specified")
    if references and all_:
        raise click.UsageError("when using the --all switch, you may not pass any images names or IDs")
    report = engine.remove(
        globals_of(ctx).config(),
        engine.RemoveOptions(references=references, force=force, all=all_, ignore=ignore),
    )
    for name in report.untagged:
        click.echo(f"Untagged: {name}")
    for image_id in report.deleted:
        click.echo(f"Deleted: {image_id}")
    for e in report.errors:
        click.echo(f"Error: {e}", err=True)
    if report.errors:
        # podman: 1 when only "no such image" errors, 2 when an image is in use, else 125
        if all(isinstance(e, NotFound) for e in report.errors):
            return 1
        from podctl.errors import StateError

        if any(isinstance(e, StateError) for e in report.errors):
            return 2
        return 125
    return 0


@click.command(context_settings=CONTEXT)
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="FILTER", help="Only prune images matching FILTER.")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove dangling images (with --all, every image no container uses)."""
    from podctl.engine import images as engine

    if not force and sys.stdin.isatty():
        what = "all images not used by containers" if all_ else "all dangling images"
        if not click.confirm(f"WARNING! This command removes {what}.\nAre you sure you want to continue?"):
            return
    report = engine.prune(globals_of(ctx).config(), engine.PruneOptions(all=all_, filters=filters))
    for image_id in report.deleted:
        click.echo(image_id)



# -- push ----------------------------------------------------------------------------------------


@click.command(cls=GoBoolCommand, context_settings=CONTEXT)
@click.argument("source")
@click.argument("destination", required=False)
@auth_options
@click.option("-q", "--quiet", is_flag=True, help="Suppress output information when pushing images.")
@click.option("--digestfile", metavar="PATH", help="Write the digest of the pushed image to PATH.")
@click.option("--remove-signatures", is_flag=True, help="Discard any pre-existing signatures (none are kept).")
@click.option("--format", "fmt", type=click.Choice(["oci", "v2s2", ""]), default="",
              help="Manifest type to push (the stored manifest is pushed as is).")
@click.pass_context
def push(ctx: click.Context, source: str, destination: str | None, tls_verify: bool | None,
         creds: str | None, authfile: str | None, quiet: bool, digestfile: str | None,
         remove_signatures: bool, fmt: str) -> None:  # fmt: skip
    """Push an image from local storage to a registry.

    DESTINATION defaults to SOURCE; it may be written docker://REGISTRY/REPO:TAG. Blobs the
    registry already has are not uploaded again.
    """
    from podctl.engine import images as engine

    engine.push(globals_of(ctx).config(), engine.PushOptions(
        source=source, destination=destination, tls_verify=_tls(tls_verify), creds=creds,
        authfile=authfile, quiet=quiet, digestfile=digestfile, progress=_progress(quiet),
    ))  # fmt: skip


# -- save / load / import ------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("references", nargs=-1, required=True)
@click.option("-o", "--output", default="", metavar="PATH", help="Write to a file (default: stdout).")
@click.option("--format", "fmt", default="docker-archive", show_default=True,
              type=click.Choice(["docker-archive", "oci-archive", "oci-dir"]), help="Archive format.")
@click.option("-m", "--multi-image-archive", is_flag=True, help="Allow several images in one docker-archive.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the output.")
@click.pass_context
def save(ctx: click.Context, references: tuple[str, ...], output: str, fmt: str,
         multi_image_archive: bool, quiet: bool) -> None:  # fmt: skip
    """Save images to an archive (docker-archive by default)."""
    from podctl.engine import images as engine

    if not output and fmt != "oci-dir" and sys.stdout.isatty():
        raise click.UsageError("refusing to save to a terminal; use --output or redirect stdout")
    if len(references) > 1 and fmt == "docker-archive" and not multi_image_archive:
        raise click.UsageError("saving several images to a docker-archive needs --multi-image-archive")
    engine.save(globals_of(ctx).config(),
                engine.SaveOptions(references=references, output=output, format=fmt),
                stdout=sys.stdout.buffer)  # fmt: skip


@click.command(context_settings=CONTEXT)
@click.option("-i", "--input", "input_", default="", metavar="PATH", help="Read from an archive file (default: stdin).")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the output.")
@click.pass_context
def load(ctx: click.Context, input_: str, quiet: bool) -> None:
    """Load images from a docker-archive or oci-archive (gzip-compressed too)."""
    from podctl.engine import images as engine

    if not input_ and sys.stdin.isatty():
        raise click.UsageError("cannot read an image archive from a terminal; use --input or a pipe")
    for loaded in engine.load(globals_of(ctx).config(), input_, stdin=sys.stdin.buffer):
        for name in loaded.names or (f"sha256:{loaded.image_id}",):
            click.echo(f"Loaded image: {name}")


@click.command("import", context_settings=CONTEXT)
@click.argument("path")
@click.argument("reference", required=False, default="")
@click.option("-c", "--change", "changes", multiple=True, metavar="INSTRUCTION",
              help="Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR.")
@click.option("-m", "--message", default="", help="Commit message for the imported image.")
@click.option("--os", "os_name", default="linux", help="Set the OS of the image.")
@click.option("--arch", default="", help="Set the architecture of the image.")
@click.option("--variant", default="", help="Set the variant of the image.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the output.")
@click.pass_context
def import_(ctx: click.Context, path: str, reference: str, changes: tuple[str, ...], message: str,
            os_name: str, arch: str, variant: str, quiet: bool) -> None:  # fmt: skip
    """Import a tarball (a root filesystem, optionally compressed) as a one-layer image.

    PATH may be a file, an http(s) URL, or - for stdin.
    """
    from podctl.engine import images as engine
    from podctl.image.archive import ImportOptions

    opts = ImportOptions(reference=reference, changes=changes, message=message, os=os_name,
                         arch=arch, variant=variant)  # fmt: skip
    image_id = engine.import_image(globals_of(ctx).config(), path, opts, stdin=sys.stdin.buffer)
    click.echo(f"sha256:{image_id}")


# -- login / logout ------------------------------------------------------------------------------


@click.command(cls=GoBoolCommand, context_settings=CONTEXT)
@click.argument("registry")
@click.option("-u", "--username", default="", help="Username for the registry.")
@click.option("-p", "--password", default="", help="Password for the registry.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--authfile", metavar="PATH", help="Path of the authentication file.")
@click.option("--get-login", is_flag=True, help="Print the username stored for the registry.")
@tls_option
@click.pass_context
def login(ctx: click.Context, registry: str, username: str, password: str, password_stdin: bool,
          authfile: str | None, get_login: bool, tls_verify: bool | None) -> None:  # fmt: skip
    """Log in to a registry; the credentials go to ${XDG_RUNTIME_DIR}/containers/auth.json."""
    from podctl.engine import images as engine
    from podctl.errors import NotFound

    if get_login:
        from podctl.image import auth

        creds = auth.lookup(registry, authfile)
        if creds is None:
            raise NotFound(f"not logged into {registry}")
        click.echo(creds.username)
        return
    if password_stdin:
        if password:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\r\n")
    if not username:
        if not sys.stdin.isatty():
            raise click.UsageError("--username is required without a terminal")
        username = click.prompt("Username")
    if not password:
        if not sys.stdin.isatty():
            raise click.UsageError("--password or --password-stdin is required without a terminal")
        password = click.prompt("Password", hide_input=True)
    engine.login(globals_of(ctx).config(), engine.LoginOptions(
        registry=registry, username=username, password=password, authfile=authfile,
        tls_verify=_tls(tls_verify),
    ))  # fmt: skip
    click.echo("Login Succeeded!")


@click.command(context_settings=CONTEXT)
@click.argument("registry", required=False, default="")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove the credentials of every registry.")
@click.option("--authfile", metavar="PATH", help="Path of the authentication file.")
@click.pass_context
def logout(ctx: click.Context, registry: str, all_: bool, authfile: str | None) -> None:
    """Log out of a registry: remove its stored credentials."""
    from podctl.engine import images as engine
    from podctl.errors import NotFound

    if not registry and not all_:
        raise click.UsageError("registry must be given (or --all)")
    if engine.logout(globals_of(ctx).config(), registry, all_=all_, authfile=authfile):
        click.echo("Removed login credentials for all registries" if all_ else f"Removed login credentials for {registry}")
    else:
        raise NotFound(f"not logged into {registry}")


# -- system df / system check --------------------------------------------------------------------


@click.command("df", context_settings=CONTEXT)
@click.option("--format", "fmt", default="", help="json, or a Go template ({{.Type}})")
@click.option("-v", "--verbose", is_flag=True, help="Show one line per image.")
@click.pass_context
def system_df(ctx: click.Context, fmt: str, verbose: bool) -> None:
    """Show podctl disk usage (images)."""
    from podctl.engine import images as engine

    cfg = globals_of(ctx).config()
    usage = engine.disk_usage(cfg)
    if verbose:
        found = engine.list_images(cfg, engine.ListOptions())
        emit(_rows(found, digests=False, no_trunc=False), fmt,
             default_columns=["Repository", "Tag", "ID", "Created", "Size"], headers={"ID": "IMAGE ID"})  # fmt: skip
        return
    if fmt == "json":
        click.echo(to_json([usage]))
        return
    total = usage["Size"] or 1
    row = {
        "Type": usage["Type"], "Total": str(usage["Total"]), "Active": str(usage["Active"]),
        "Size": human_size(usage["Size"]),
        "Reclaimable": f"{human_size(usage['Reclaimable'])} ({100 * usage['Reclaimable'] // total}%)",
    }  # fmt: skip
    emit([row], fmt, default_columns=["Type", "Total", "Active", "Size", "Reclaimable"],
         headers={"Type": "TYPE"})  # fmt: skip


@click.command("check", context_settings=CONTEXT)
@click.option("-r", "--repair", is_flag=True, help="Remove damaged images and unused or leftover data.")
@click.option("-q", "--quick", is_flag=True, help="Skip verifying the digests of blob contents.")
@click.option("-f", "--force", is_flag=True, help="Accepted for podman compatibility.")
@click.pass_context
def system_check(ctx: click.Context, repair: bool, quick: bool, force: bool) -> int:
    """Check the image store for consistency (exit 1 when errors remain)."""
    from podctl.engine import images as engine

    report = engine.check(globals_of(ctx).config(), repair=repair, quick=quick)
    for e in report.errors:
        click.echo(e)
    for r in report.repaired:
        click.echo(r)
    if report.errors and not repair:
        return 1
    if not report.errors:
        click.echo("No errors found")
    return 0


# -- the `image` group ---------------------------------------------------------------------------


@click.group(context_settings=CONTEXT)
def image() -> None:
    """Manage images."""


image.add_command(pull, "pull")
image.add_command(images, "ls")
image.add_command(images, "list")
image.add_command(inspect, "inspect")
image.add_command(exists, "exists")
image.add_command(history, "history")
image.add_command(tag, "tag")
image.add_command(untag, "untag")
image.add_command(rmi, "rm")
image.add_command(prune, "prune")
image.add_command(push, "push")
image.add_command(save, "save")
image.add_command(load, "load")
image.add_command(import_, "import")
