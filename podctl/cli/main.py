"""The `podctl` entry point: global flags, lazy command loading, errors to exit codes."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click

from podctl import __version__
from podctl.cli.common import Globals as Globals
from podctl.cli.common import error as error
from podctl.cli.common import make_globals, run_guarded
from podctl.cli.registry import COMMANDS, HIDDEN
from podctl.errors import EXIT_ERROR


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
@click.option("--runtime", metavar="NAME|PATH", help="OCI runtime: runc, crun or a path (default: the first of crun, runc that runs here).")
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
    ctx.obj = make_globals(root, runroot, runtime, log_level)


def globals_of(ctx: click.Context) -> Globals:
    obj = ctx.find_root().obj
    if not isinstance(obj, Globals):  # invoked outside `cli`, e.g. in a unit test
        obj = Globals()
        ctx.find_root().obj = obj
    return obj


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv

    def invoke() -> Any:
        try:
            return cli.main(args=args, prog_name="podctl", standalone_mode=False)
        except click.exceptions.Exit as e:
            return e.exit_code
        except click.exceptions.Abort:
            return EXIT_ERROR
        except click.ClickException as e:
            e.show()
            return EXIT_ERROR

    sys.exit(run_guarded(invoke))
