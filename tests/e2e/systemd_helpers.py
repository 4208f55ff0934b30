"""Shared by the e2e tests that drive the real systemd user manager."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from harness import User


def show(user: User, unit: str, *props: str) -> dict[str, str]:
    """`systemctl --user show UNIT -pPROP...` as a dict."""
    p = user.run(["systemctl", "--user", "show", unit, *[f"-p{x}" for x in props]])
    return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)


def wait_for(pred: Callable[[], bool], secs: float = 15) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def remove_units(user: User, names: Iterable[str]) -> None:
    """Stop, disable and remove installed units whatever state a test left them in (the user
    manager and ~/.config/systemd/user are shared with other tests)."""
    unit_dir = user.home / ".config" / "systemd" / "user"
    for name in names:
        user.run(["systemctl", "--user", "stop", name], timeout=60)
        user.run(["systemctl", "--user", "disable", name])
        user.run(["systemctl", "--user", "reset-failed", name])
        (unit_dir / name).unlink(missing_ok=True)
        (unit_dir / "default.target.wants" / name).unlink(missing_ok=True)
        user.run(["rm", "-f", f"{user.runtime_dir}/{name}.ctr-id"])
    user.run(["systemctl", "--user", "daemon-reload"])
