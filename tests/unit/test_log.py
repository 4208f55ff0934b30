"""podctl.log: `LEVEL: message` lines on stderr at the --log-level and above."""

from __future__ import annotations

import sys

import pytest

from podctl import log


@pytest.fixture(autouse=True)
def _restore_level() -> object:
    saved = log.log.level
    yield
    log.log.level = saved


def test_default_level_shows_warnings_only(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup("warn")
    log.log.debug("hidden %s", 1)
    log.log.info("hidden too")
    log.warn("disk %s is %d%% full", "sda", 93)
    log.log.error("broken: %s", "x")
    assert capsys.readouterr().err == "WARNING: disk sda is 93% full\nERROR: broken: x\n"


@pytest.mark.parametrize(("level", "shown"), [
    ("trace", ["Level 5: t", "DEBUG: d", "INFO: i", "WARNING: w"]),
    ("DEBUG", ["DEBUG: d", "INFO: i", "WARNING: w"]),
    ("info", ["INFO: i", "WARNING: w"]),
    ("error", []),
    ("bogus", ["WARNING: w"]),
])  # fmt: skip
def test_levels(level: str, shown: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    log.setup(level)
    log.log.log(log.TRACE, "t")
    log.log.debug("d")
    log.log.info("i")
    log.log.warning("w")
    assert capsys.readouterr().err.splitlines() == shown
    assert log.log.isEnabledFor(log.WARNING) == ("WARNING: w" in shown)


def test_bad_arguments_do_not_raise(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup("warn")
    log.warn("%d items", "many")
    assert capsys.readouterr().err.startswith("WARNING: %d items")


def test_logging_module_not_imported() -> None:
    import subprocess

    code = "import sys, podctl.log, podctl.run; sys.exit('logging' in sys.modules or 'subprocess' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
