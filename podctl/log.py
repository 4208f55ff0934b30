"""Logging set-up, shared by every layer (podman's --log-level names).

A tiny stderr logger instead of the `logging` module: importing `logging` costs ~5 ms of every
podctl process (systemd runs podctl in ExecStop= and as conmon's exit command). Same levels,
same `LEVEL: message` lines, same `%`-style arguments as `logging`.
"""

from __future__ import annotations

import sys

TRACE = 5
DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

LEVELS = {
    "trace": TRACE,
    "debug": DEBUG,
    "info": INFO,
    "warn": WARNING,
    "warning": WARNING,
    "error": ERROR,
    "fatal": CRITICAL,
    "panic": CRITICAL,
}

# The names `logging` prints for these levels.
_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRITICAL"}


class Logger:
    """The subset of `logging.Logger` podctl uses, writing `LEVEL: message` to stderr."""

    def __init__(self, name: str, level: int = WARNING) -> None:
        self.name = name
        self.level = level

    def setLevel(self, level: int) -> None:  # noqa: N802 - logging's name
        self.level = level

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        return level >= self.level

    def log(self, level: int, msg: object, *args: object) -> None:
        if level < self.level:
            return
        text = str(msg)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError, KeyError):
                text = f"{text} {args!r}"
        name = _NAMES.get(level) or f"Level {level}"
        err = sys.stderr  # looked up each time: tests and embedders replace it
        if err is None:
            return
        try:
            err.write(f"{name}: {text}\n")
            err.flush()
        except (OSError, ValueError):
            pass

    def debug(self, msg: object, *args: object) -> None:
        self.log(DEBUG, msg, *args)

    def info(self, msg: object, *args: object) -> None:
        self.log(INFO, msg, *args)

    def warning(self, msg: object, *args: object) -> None:
        self.log(WARNING, msg, *args)

    def error(self, msg: object, *args: object) -> None:
        self.log(ERROR, msg, *args)

    def critical(self, msg: object, *args: object) -> None:
        self.log(CRITICAL, msg, *args)


log = Logger("podctl")


def setup(level: str = "warn") -> None:
    """Show messages at LEVEL and above (unknown names mean `warn`)."""
    log.setLevel(LEVELS.get(level.lower(), WARNING))


def warn(msg: str, *args: object) -> None:
    log.warning(msg, *args)
