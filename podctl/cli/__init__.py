"""Command line: parse arguments, print, map errors to exit codes; nothing else."""

import sys


def entry() -> None:
    """The console script. `--version` answers before click is even imported."""
    if sys.argv[1:] in (["--version"], ["-v"]):
        from podctl import __version__

        sys.stdout.write(f"podctl version {__version__}\n")
        sys.exit(0)
    from podctl.cli.main import main as run

    run()
