"""`podctl kube play|down|generate`, and the aliases `play kube` and `generate kube`.

Parsing and printing only; the work is in podctl.engine.kube.
"""

from __future__ import annotations

from typing import Any

import click

from podctl.cli.main import CONTEXT, globals_of

GO_BOOLS = ("start", "build", "replace", "quiet", "down", "force", "service")


class KubeCommand(click.Command):
    """Go-style booleans as podman takes them: `--start=false`, `--build=false`, `--replace`.

    A plain optional-value option would swallow the next argument (`--start FILE`).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            name, eq, value = arg.partition("=")
            if eq and name.startswith("--") and name[2:] in GO_BOOLS:
                if value.lower() in ("true", "1", "yes", "t"):
                    arg = name
                elif value.lower() in ("false", "0", "no", "f"):
                    arg = f"--no-{name[2:]}"
                else:
                    raise click.BadParameter(f"{value!r} is not a boolean", param_hint=name)
            out.append(arg)
        return super().parse_args(ctx, out)


def _print_play(report: Any) -> None:
    for pod in report.pods:
        click.echo("Pod:")
        click.echo(pod.id)
        if pod.containers:
            click.echo("Container:" if len(pod.containers) == 1 else "Containers:")
            for cid in pod.containers:
                click.echo(cid)
        if pod.init_containers:
            click.echo("Init Container:" if len(pod.init_containers) == 1 else "Init Containers:")
            for cid in pod.init_containers:
                click.echo(cid)
        click.echo()
    if report.volumes:
        click.echo("Volume:" if len(report.volumes) == 1 else "Volumes:")
        for name in report.volumes:
            click.echo(name)


def _play(ctx: click.Context, file: str, configmaps: tuple[str, ...], publish: tuple[str, ...],
          replace: bool, start: bool, network: str | None, log_driver: str | None, build: bool,
          quiet: bool) -> None:  # fmt: skip
    from podctl.engine import kube as engine

    opts = engine.PlayOptions(
        file=file, configmaps=configmaps, publish=publish, replace=replace, start=start,
        network=network, log_driver=log_driver, build=build,
    )  # fmt: skip
    report = engine.play(globals_of(ctx).config(), opts)
    for pod in report.pods:
        if pod.job_exit_code is not None:
            click.echo(f"Job {pod.name}: completed with exit code {pod.job_exit_code}", err=True)
    del quiet  # as podman's: it silences pull progress, which podctl does not print
    _print_play(report)


def _down(ctx: click.Context, file: str, force: bool) -> None:
    from podctl.engine import kube as engine
    from podctl.errors import PodctlError

    report = engine.down(globals_of(ctx).config(), engine.DownOptions(file=file, force=force))
    for e in report.errors:
        click.echo(f"Error: {e.message}", err=True)
    if report.stopped:
        click.echo("Pods stopped:")
        for pid in report.stopped:
            click.echo(pid)
    if report.removed:
        click.echo("Pods removed:")
        for pid in report.removed:
            click.echo(pid)
    if report.claims:
        click.echo("Volumes removed:")
        for name in report.claims:
            click.echo(name)
    if report.errors:
        raise PodctlError(f"{len(report.errors)} item(s) could not be removed")


def play_options(f: Any) -> Any:
    opts = [
        click.argument("file", metavar="FILE|-"),
        click.option("--configmap", "configmaps", multiple=True, metavar="FILE",
                     help="A YAML file holding ConfigMaps the pods use (repeatable)."),
        click.option("-p", "--publish", multiple=True, metavar="[[IP:][HOSTPORT]:]PORT[/PROTO]",
                     help="Publish a container port on the host, overriding or adding to hostPort."),
        click.option("--replace/--no-replace", default=False,
                     help="Remove pods of the same names (as kube down) before playing."),
        click.option("--start/--no-start", default=True, show_default=True,
                     help="Start the pods after creating them (--start=false: only create)."),
        click.option("--network", metavar="MODE", default=None,
                     help="Network mode of the pods (slirp4netns, pasta, host, none ...)."),
        click.option("--log-driver", metavar="DRIVER", default=None,
                     help="Logging driver for the containers (k8s-file, journald, none)."),
        click.option("--build/--no-build", default=False,
                     help="Build images from a Containerfile (not supported; --build=false)."),
        click.option("-q", "--quiet/--no-quiet", default=False,
                     help="Suppress output information when pulling images."),
    ]  # fmt: skip
    for o in reversed(opts):
        f = o(f)
    return f


@click.command("play", cls=KubeCommand, context_settings=CONTEXT)
@play_options
@click.pass_context
def kube_play(ctx: click.Context, **kw: Any) -> None:
    """Create and start pods, containers and volumes from Kubernetes YAML (FILE, or - for stdin).

    Kinds Pod, Deployment, DaemonSet, Job, ConfigMap, Secret and PersistentVolumeClaim are
    played; other kinds are reported and skipped. Every document is checked first: when
    anything is invalid, nothing is created.
    """
    _play(ctx, **kw)


@click.command("down", cls=KubeCommand, context_settings=CONTEXT)
@click.argument("file", metavar="FILE|-")
@click.option("--force/--no-force", default=False,
              help="Also remove the volumes of the file's PersistentVolumeClaims.")
@click.pass_context
def kube_down(ctx: click.Context, file: str, force: bool) -> None:
    """Remove the pods (and their volumes) that kube play created from FILE."""
    _down(ctx, file, force)


@click.command("generate", cls=KubeCommand, context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="POD|CONTAINER|VOLUME...")
@click.option("-s", "--service/--no-service", default=False,
              help="Also generate a Service for the published ports.")
@click.option("-t", "--type", "kind", default="pod", show_default=True,
              type=click.Choice(["pod", "deployment", "daemonset", "job"]),
              help="The kind of workload to generate.")
@click.option("-f", "--filename", metavar="FILE", default=None,
              help="Write the YAML to FILE instead of standard output.")
@click.pass_context
def kube_generate(ctx: click.Context, names: tuple[str, ...], service: bool, kind: str,
                  filename: str | None) -> None:  # fmt: skip
    """Generate Kubernetes YAML from pods, containers or volumes."""
    from podctl.engine import kube as engine
    from podctl.errors import InvalidSpec

    text = engine.generate(globals_of(ctx).config(),
                           engine.GenerateOptions(names=names, kind=kind, service=service))  # fmt: skip
    if filename is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        with open(filename, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError as e:
        raise InvalidSpec(f"--filename {filename}: the file exists") from e
    except OSError as e:
        raise InvalidSpec(f"--filename {filename}: {e.strerror}") from e


@click.group(context_settings=CONTEXT)
def kube() -> None:
    """Play, remove and generate Kubernetes YAML."""


kube.add_command(kube_play)
kube.add_command(kube_down)
kube.add_command(kube_generate)


@click.command("kube", cls=KubeCommand, context_settings=CONTEXT)
@play_options
@click.option("--down/--no-down", default=False, help="Remove what FILE created (as kube down).")
@click.option("--force/--no-force", default=False, help="With --down: also remove claim volumes.")
@click.pass_context
def play_kube(ctx: click.Context, down: bool, force: bool, **kw: Any) -> None:
    """Create pods from Kubernetes YAML (alias of kube play; --down: kube down)."""
    if down:
        _down(ctx, kw["file"], force)
        return
    _play(ctx, **kw)


@click.group(context_settings=CONTEXT)
def play() -> None:
    """Play structured data (Kubernetes YAML) based on containers and pods."""


play.add_command(play_kube)

generate_kube = KubeCommand(
    "kube", callback=kube_generate.callback, params=list(kube_generate.params),
    help=kube_generate.help, context_settings=CONTEXT,
)  # fmt: skip
