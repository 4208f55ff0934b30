"""The CLI's contract: podman's exit codes and error format, lazy loading."""

import subprocess
import sys

import pytest

from podctl.cli import main as climain
from podctl.cli.registry import COMMANDS
from podctl.errors import EXIT_ERROR, ContainerExit, NotFound


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podctl", *args], capture_output=True, text=True)


def test_version() -> None:
    from podctl import __version__

    p = run("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"podctl version {__version__}"


def test_unknown_command_is_125() -> None:
    p = run("frobnicate")
    assert p.returncode == EXIT_ERROR
    assert "No such command 'frobnicate'" in p.stderr


def test_bad_flag_is_125() -> None:
    p = run("--no-such-flag")
    assert p.returncode == EXIT_ERROR


def test_help_lists_every_registered_command() -> None:
    p = run("--help")
    assert p.returncode == 0
    for name in COMMANDS:
        assert f"  {name}" in p.stdout


def test_help_does_not_import_commands() -> None:
    code = (
        "import sys; from podctl.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('yaml', 'jinja2', 'dbus_fast', 'pyroute2', 'podctl.cli.system',"
        " 'logging', 'sqlite3') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\nassert not heavy, heavy\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_registered_command_loads() -> None:
    import click

    for name, (target, _help) in COMMANDS.items():
        cmd = climain.load_attr(target)
        assert isinstance(cmd, click.Command), name


def test_errors_map_to_exit_codes(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import click

    @click.command()
    def boom() -> None:
        raise NotFound("no such container: x")

    @click.command()
    def exits() -> None:
        raise ContainerExit(3)

    climain.cli.add_command(boom, "boom-test")
    climain.cli.add_command(exits, "exit-test")
    try:
        with pytest.raises(SystemExit) as e:
            climain.main(["boom-test"])
        assert e.value.code == EXIT_ERROR
        assert "Error: no such container: x" in capsys.readouterr().err
        with pytest.raises(SystemExit) as e:
            climain.main(["exit-test"])
        assert e.value.code == 3
    finally:
        climain.cli.commands.pop("boom-test", None)
        climain.cli.commands.pop("exit-test", None)


def test_man_page_for_every_command() -> None:
    from podctl.config import data_path

    man = data_path("man")
    assert (man / "podctl.1").is_file()
    for name in COMMANDS:
        assert (man / f"podctl-{name}.1").is_file(), f"man/podctl-{name}.1 missing"


def test_man_pages_render_cleanly() -> None:
    import shutil

    from podctl.config import data_path

    groff = shutil.which("groff")
    assert groff, "groff is missing: apt-get install groff-base (scripts/host-setup installs it)"
    for page in sorted(data_path("man").glob("*.1")):
        p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True)
        assert p.returncode == 0 and not p.stderr.strip(), f"{page.name}: {p.stderr}"


def test_man_page_for_every_subcommand() -> None:
    """`podctl GROUP SUB` has podctl-GROUP-SUB.1 (aliases point to the page they share)."""
    import click

    from podctl.config import data_path

    man = data_path("man")
    missing = []

    def walk(path: list[str], cmd: click.Command) -> None:
        if not (man / f"podctl-{'-'.join(path)}.1").is_file():
            missing.append(" ".join(path))
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for sub in cmd.list_commands(ctx):
                child = cmd.get_command(ctx, sub)
                assert child is not None
                walk([*path, sub], child)

    for name, (target, _help) in COMMANDS.items():
        walk([name], climain.load_attr(target))
    assert not missing, f"no man page for: {', '.join(missing)}"
