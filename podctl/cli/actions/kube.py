"""Kube command bodies (no click): kube play, kube down, and their alias `play kube [--down]`."""

from __future__ import annotations

from podctl.cli.common import Globals, echo

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GO_BOOLS = ("start", "build", "replace", "quiet", "down", "force", "service")


def go_bool_args(args: list[str], names: tuple[str, ...] = GO_BOOLS) -> list[str]:
    """Go-style booleans as podman takes them: `--start=false` -> `--no-start`, `--replace=true`
    -> `--replace`. Raises ValueError(name, value) for a value that is no boolean."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            out += args[i:]
            break
        name, eq, value = arg.partition("=")
        if eq and name.startswith("--") and name[2:] in names:
            if value.lower() in ("true", "1", "yes", "t"):
                arg = name
            elif value.lower() in ("false", "0", "no", "f"):
                arg = f"--no-{name[2:]}"
            else:
                raise ValueError(name, value)
        out.append(arg)
    return out


def _print_play(report: Any) -> None:
    for pod in report.pods:
        echo("Pod:")
        echo(pod.id)
        if pod.containers:
            echo("Container:" if len(pod.containers) == 1 else "Containers:")
            for cid in pod.containers:
                echo(cid)
        if pod.init_containers:
            echo("Init Container:" if len(pod.init_containers) == 1 else "Init Containers:")
            for cid in pod.init_containers:
                echo(cid)
        echo()
    if report.volumes:
        echo("Volume:" if len(report.volumes) == 1 else "Volumes:")
        for name in report.volumes:
            echo(name)


def play(g: Globals, *, file: str, configmaps: tuple[str, ...], publish: tuple[str, ...], replace: bool,
         start: bool, network: str | None, log_driver: str | None, build: bool, quiet: bool) -> None:  # fmt: skip
    from podctl.engine import kube as engine

    opts = engine.PlayOptions(
        file=file, configmaps=configmaps, publish=publish, replace=replace, start=start,
        network=network, log_driver=log_driver, build=build,
    )  # fmt: skip
    report = engine.play(g.config(), opts)
    for pod in report.pods:
        if pod.job_exit_code is not None:
            echo(f"Job {pod.name}: completed with exit code {pod.job_exit_code}", err=True)
    del quiet  # as podman's: it silences pull progress, which podctl does not print
    _print_play(report)


def down(g: Globals, *, file: str, force: bool) -> None:
    from podctl.engine import kube as engine
    from podctl.errors import PodctlError

    report = engine.down(g.config(), engine.DownOptions(file=file, force=force))
    for e in report.errors:
        echo(f"Error: {e.message}", err=True)
    if report.stopped:
        echo("Pods stopped:")
        for pid in report.stopped:
            echo(pid)
    if report.removed:
        echo("Pods removed:")
        for pid in report.removed:
            echo(pid)
    if report.claims:
        echo("Volumes removed:")
        for name in report.claims:
            echo(name)
    if report.errors:
        raise PodctlError(f"{len(report.errors)} item(s) could not be removed")


def play_kube(g: Globals, *, down: bool, force: bool, **kw: Any) -> None:
    """`play kube FILE`: kube play; with --down, kube down."""
    if down:
        _down(g, file=kw["file"], force=force)
        return
    play(g, **kw)


_down = down
