"""The systemd user manager over D-Bus (dbus-fast), imported only by commands that need it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from podctl.config import xdg_runtime_dir
from podctl.errors import SystemdError

SYSTEMD = "org.freedesktop.systemd1"
PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"

T = TypeVar("T")


def bus_address() -> str:
    addr = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if addr:
        return addr
    return f"unix:path={xdg_runtime_dir() / 'bus'}"


def _no_manager(detail: str) -> SystemdError:
    user = os.environ.get("USER") or str(os.getuid())
    return SystemdError(
        f"no systemd user manager reachable on {bus_address()}: {detail}",
        hint=(
            "fix: start one with `sudo systemctl start user@$(id -u).service`, make sure "
            "XDG_RUNTIME_DIR=/run/user/$(id -u) is set, and for start at boot run "
            f"`sudo loginctl enable-linger {user}`"
        ),
    )


async def _connect() -> Any:
    from dbus_fast import BusType
    from dbus_fast.aio import MessageBus

    addr = bus_address()
    if addr.startswith("unix:path="):
        sock = Path(addr.removeprefix("unix:path=").split(",")[0])
        if not sock.exists():
            raise _no_manager(f"{sock} does not exist")
    try:
        return await asyncio.wait_for(MessageBus(bus_address=addr, bus_type=BusType.SESSION).connect(), 10)
    except (TimeoutError, OSError) as e:
        raise _no_manager(str(e) or type(e).__name__) from e
    except Exception as e:  # dbus_fast auth errors and the like
        raise _no_manager(f"{type(e).__name__}: {e}") from e


async def _manager_property(name: str) -> Any:
    from dbus_fast import Message, MessageType

    bus = await _connect()
    try:
        reply = await bus.call(
            Message(
                destination=SYSTEMD,
                path=PATH,
                interface="org.freedesktop.DBus.Properties",
                member="Get",
                signature="ss",
                body=[MANAGER, name],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise _no_manager(f"{reply.error_name}: {' '.join(map(str, reply.body))}")
        return reply.body[0].value
    finally:
        bus.disconnect()


def call(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(fn())


def manager_version() -> str:
    return str(call(lambda: _manager_property("Version")))
