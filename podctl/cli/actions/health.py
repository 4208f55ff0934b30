"""`healthcheck run` body (no click): what a container's healthcheck timer runs."""

from __future__ import annotations

from podctl.cli.common import Globals, echo


def run(g: Globals, *, container: str) -> int:
    from podctl.engine import health

    status = health.run_check(g.config(), container)
    if status not in (health.HEALTHY, health.GONE):
        echo(status)
        return 1
    return 0
