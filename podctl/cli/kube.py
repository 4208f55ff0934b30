"""`podctl kube play|down|generate`, and the aliases `play kube` and `generate kube`.

Parsing and printing only; the work is in podctl.engine.kube.
"""

from __future__ import annotations

from typing import Any

import click

from podctl.cli.actions import kube as act
from podctl.cli.actions.kube import GO_BOOLS, go_bool_args
from podctl.cli.main import CONTEXT, globals_of


class KubeCommand(click.Command):
    """Go-style booleans as podman takes them: `--start=false`, `--build=false`, `--replace`.

    A plain optional-value option would swallow the next argument (`--start FILE`).
    """

    go_bools = GO_BOOLS

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            out = go_bool_args(args, self.go_bools)
        except ValueError as e:
            name, value = e.args
            raise click.BadParameter(f"{value!r} is not a boolean", param_hint=name) from None
        return super().parse_args(ctx, out)


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
                     help="Network mode of the pods (slirp4netns, pasta, host, none ...; default: "
                          "containers.conf's [network] default_rootless_network_cmd, else pasta)."),
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
    act.play(globals_of(ctx), **kw)


@click.command("down", cls=KubeCommand, context_settings=CONTEXT)
@click.argument("file", metavar="FILE|-")
@click.option("--force/--no-force", default=False,
              help="Also remove the volumes of the file's PersistentVolumeClaims.")
@click.pass_context
def kube_down(ctx: click.Context, **kw: Any) -> None:
    """Remove the pods (and their volumes) that kube play created from FILE."""
    act.down(globals_of(ctx), **kw)


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
def play_kube(ctx: click.Context, **kw: Any) -> None:
    """Create pods from Kubernetes YAML (alias of kube play; --down: kube down)."""
    act.play_kube(globals_of(ctx), **kw)


@click.group(context_settings=CONTEXT)
def play() -> None:
    """Play structured data (Kubernetes YAML) based on containers and pods."""


play.add_command(play_kube)

generate_kube = KubeCommand(
    "kube", callback=kube_generate.callback, params=list(kube_generate.params),
    help=kube_generate.help, context_settings=CONTEXT,
)  # fmt: skip
