"""Where every command lives, so that `podctl --help` lists them without importing them.

Each entry maps a command name to ("module:attribute", "one-line help"). The attribute is a
click command or group. Only the command that runs gets imported (startup budget: systemd runs
podctl in ExecStart/ExecStop).

Aliases (podman's `images`, `ps`, `pull`, ...) point at the same object as the long form.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    # system
    "info": ("podctl.cli.system:info", "Display podctl system information"),
    "doctor": ("podctl.cli.system:doctor", "Check every rootless prerequisite for this user"),
    "version": ("podctl.cli.system:version", "Display the podctl version information"),
    "unshare": ("podctl.cli.system:unshare", "Run a command in a modified user namespace"),
    "system": ("podctl.cli.system:system", "Manage podctl"),
}

# Groups whose subcommands are listed here too, for `podctl GROUP --help` without imports.
HIDDEN: set[str] = set()
