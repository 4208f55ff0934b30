"""`podctl healthcheck run`: run a container's healthcheck once (what its timer runs)."""

from __future__ import annotations

from typing import Any

import click

from podctl.cli.actions import health as act
from podctl.cli.main import CONTEXT, globals_of


@click.group(context_settings=CONTEXT)
def healthcheck() -> None:
    """Manage health checks on containers."""


@healthcheck.command("run", context_settings=CONTEXT)
@click.argument("container")
@click.pass_context
def run(ctx: click.Context, **kw: Any) -> int:
    """Run the health check of CONTAINER once.

    Exits 0 when the check passed, 1 when it failed (printing "unhealthy", or "starting"
    inside the start period), 125 when the container has no healthcheck or is not running.
    """
    return act.run(globals_of(ctx), **kw)
