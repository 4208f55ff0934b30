"""Logging set-up, shared by every layer (podman's --log-level names)."""

from __future__ import annotations

import logging
import sys

LEVELS = {
    "trace": 5,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}

log = logging.getLogger("podctl")


def setup(level: str = "warn") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("podctl")
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get(level.lower(), logging.WARNING))
    root.propagate = False


# Warnings show by default, as with podman's default log level; `--log-level` changes it.
# Configured on import so that only commands that log pay for the logging module.
if not logging.getLogger("podctl").handlers:
    setup("warn")


def warn(msg: str, *args: object) -> None:
    log.warning(msg, *args)
