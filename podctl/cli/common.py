"""What the click path and the fast path share, without importing click.

The global flags (`Globals`), and the one mapping of what a command body raises to a message on
stderr and an exit code (podman's: `Error: msg`, 125; a container's own code for ContainerExit).
"""

from __future__ import annotations

import sys

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from podctl.config import Config


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


def kv_pairs(items: Sequence[str], flag: str) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE arguments (--label, --annotation, --opt) as pairs; a missing KEY names FLAG."""
    out = []
    for it in items:
        k, _, v = it.partition("=")
        if not k:
            from podctl.errors import InvalidSpec

            raise InvalidSpec(f"{flag} {it!r}: expected KEY=VALUE")
        out.append((k, v))
    return tuple(out)


def make_globals(
    root: str | None, runroot: str | None, runtime: str | None, log_level: str
) -> Globals:
    """What the root command does with the global flags (click's callback and the fast path)."""
    if log_level != "warn":
        from podctl import log

        log.setup(log_level)
    return Globals(root=root, runroot=runroot, runtime=runtime, log_level=log_level)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo's contract for our output: a str, a newline, flushed at once (so that stdout
    and stderr keep their order when both go to one pipe)."""
    out = sys.stderr if err else sys.stdout
    text = "" if message is None else str(message)
    out.write(text + "\n" if nl else text)
    out.flush()


def error(message: str, hint: str | None = None) -> None:
    echo(f"Error: {message}", err=True)
    if hint:
        echo(hint, err=True)


def tell_systemd(message: str) -> None:
    """Under a unit from `generate systemd`, the error becomes the unit's StatusText."""
    import os

    unit = os.environ.get("PODCTL_SYSTEMD_UNIT") or os.environ.get("PODMAN_SYSTEMD_UNIT")
    if unit and os.environ.get("NOTIFY_SOCKET"):
        from podctl.systemd.notify import report_failure

        report_failure(message)


def run_guarded(call: Callable[[], Any]) -> int:
    """Run CALL (a whole command); return the process's exit status, printing its error."""
    from podctl.errors import ContainerExit, PodctlError

    try:
        rv = call()
    except PodctlError as e:
        error(e.message, e.hint)
        tell_systemd(e.message)
        return e.exit_code
    except ContainerExit as e:
        return e.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return rv if isinstance(rv, int) and rv else 0


class _PacifyFlush:
    """Swallow EPIPE when the interpreter flushes a stream at exit (as click does)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        import errno

        try:
            self.wrapped.flush()
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)


def invoke_as_click(call: Callable[[], Any]) -> Any:
    """Call a command body as click's `Command.main(standalone_mode=False)` does: Ctrl-C or EOF
    print an empty line and abort (125), a broken pipe exits 1 quietly."""
    import errno

    from podctl.errors import EXIT_ERROR

    try:
        return call()
    except (EOFError, KeyboardInterrupt):
        echo(err=True)
        return EXIT_ERROR
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        sys.stdout = _PacifyFlush(sys.stdout)
        sys.stderr = _PacifyFlush(sys.stderr)
        sys.exit(1)
