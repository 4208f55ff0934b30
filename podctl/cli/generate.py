"""`podctl generate`: a group whose subcommands live in the modules that own them.

To add a generator (e.g. `kube`), add one line to GENERATE_COMMANDS; nothing is imported
until the subcommand runs.
"""

from __future__ import annotations

import click

from podctl.cli.main import CONTEXT, LazyGroup

GENERATE_COMMANDS: dict[str, tuple[str, str]] = {
    "systemd": ("podctl.cli.systemd:generate_systemd", "Generate systemd units"),
    "kube": ("podctl.cli.kube:generate_kube", "Generate Kubernetes YAML based on containers, pods or volumes"),
}


@click.group(cls=LazyGroup, lazy=GENERATE_COMMANDS, context_settings=CONTEXT)
def generate() -> None:
    """Generate structured data (systemd units) based on containers and pods."""
