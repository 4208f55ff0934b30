"""Command line: parse arguments, print, map errors to exit codes; nothing else."""

import sys


def entry() -> None:
    """The console script. `--version` answers before click is even imported, and the hot
    commands (ps, rm, stop, container cleanup ...) run without click (podctl.cli.fast)."""
    args = sys.argv[1:]
    if args in (["--version"], ["-v"]):
        from podctl import __version__

        sys.stdout.write(f"podctl version {__version__}\n")
        sys.exit(0)
    import gc

    # A command allocates ~12k tracked objects while it loads, and little cyclic garbage: at
    # the default threshold (700) that was ~17 collections, ~2 ms of `run --rm`. Still bounded.
    gc.set_threshold(20_000, 10, 10)
    from podctl.cli.fast import try_fast

    code = try_fast(args)
    if code is not None:
        exit_now(code)
    from podctl.cli.main import main as run

    run()


def exit_now(code: int) -> None:
    """End the process once a command is done, without the interpreter's teardown.

    Finalising every module and object costs ~5 ms of each command (measured: 28.0 against
    23.4 ms for the imports of `run`); command bodies have committed their transactions and
    closed their files when they return, so only the standard streams need flushing, after the
    atexit handlers. While another thread runs, exit normally.
    """
    import atexit
    import os

    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)
    if atexit._ncallbacks():
        # Handlers run as at a normal exit (a failing one prints its traceback and the rest
        # still run); only the teardown after them is skipped.
        atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        sys.exit(code)  # the interpreter's own EPIPE handling, as before
    os._exit(code)
