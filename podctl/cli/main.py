"""The `podctl` entry point: global flags, lazy command loading, errors to exit codes."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from podctl import __version__
from podctl.cli.registry import COMMANDS, HIDDEN
from podctl.errors import EXIT_ERROR, ContainerExit, PodctlError

if TYPE_CHECKING:
    from podctl.config import Config


def load_attr(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(self.lazy)
        return sorted(n for n in names if n not in HIDDEN)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            cmd = load_attr(self.lazy[cmd_name][0])
            return cmd  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in self.list_commands(ctx) if name in self.lazy]
        if rows:
            with formatter.section("Available Commands"):
                formatter.write_dl(rows)


class Globals:
    """The global flags, and the Config they select (loaded on first use)."""

    # A plain class, not a dataclass: importing dataclasses costs ~8 ms of every start-up.
    def __init__(
        self,
        root: str | None = None,
        runroot: str | None = None,
        runtime: str | None = None,
        log_level: str = "warn",
    ) -> None:
        self.root = root
        self.runroot = runroot
        self.runtime = runtime
        self.log_level = log_level
        self._config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            from podctl import config

            self._config = config.load(
                root=self.root, runroot=self.runroot, runtime=self.runtime, log_level=self.log_level
            )
        return self._config


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings=CONTEXT,
    help="Manage pods, containers and images as an unprivileged user, supervised by systemd.",
)
@click.version_option(__version__, "-v", "--version", prog_name="podctl", message="%(prog)s version %(version)s")
@click.option("--root", metavar="PATH", help="Storage root dir (default $XDG_DATA_HOME/podctl).")
@click.option("--runroot", metavar="PATH", help="Runtime state dir (default $XDG_RUNTIME_DIR/podctl).")
@click.option("--runtime", metavar="NAME|PATH", help="OCI runtime: runc, crun or a path.")
@click.option(
    "--log-level",
    default="warn",
    show_default=True,
    type=click.Choice(["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"]),
    help="Log messages at and above this level.",
)
@click.pass_context
def cli(
    ctx: click.Context, root: str | None, runroot: str | None, runtime: str | None, log_level: str
) -> None:
    if log_level != "warn":
        from podctl import log

        log.setup(log_level)
    ctx.obj = Globals(root=root, runroot=runroot, runtime=runtime, log_level=log_level)


def globals_of(ctx: click.Context) -> Globals:
    obj = ctx.find_root().obj
    if not isinstance(obj, Globals):  # invoked outside `cli`, e.g. in a unit test
        obj = Globals()
        ctx.find_root().obj = obj
    return obj


def error(message: str, hint: str | None = None) -> None:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(hint, err=True)


def _tell_systemd(message: str) -> None:
    """Under a unit from `generate systemd`, the error becomes the unit's StatusText."""
    import os

    unit = os.environ.get("PODCTL_SYSTEMD_UNIT") or os.environ.get("PODMAN_SYSTEMD_UNIT")
    if unit and os.environ.get("NOTIFY_SOCKET"):
        from podctl.systemd.notify import report_failure

        report_failure(message)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        rv = cli.main(args=args, prog_name="podctl", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(EXIT_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_ERROR)
    except PodctlError as e:
        error(e.message, e.hint)
        _tell_systemd(e.message)
        sys.exit(e.exit_code)
    except ContainerExit as e:
        sys.exit(e.code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    if isinstance(rv, int) and rv:
        sys.exit(rv)
    sys.exit(0)
