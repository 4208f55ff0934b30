"""Shared fixtures. A missing prerequisite is a failure naming the set-up command, never a skip."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REGISTRY, REPO, SETUP_CMD, Podctl, User, podctl_bin, test_user_name  # noqa: E402


def _registry_up() -> bool:
    host, _, port = REGISTRY.partition(":")
    try:
        with socket.create_connection((host, int(port or 5000)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def user() -> User:
    name = test_user_name()
    try:
        u = User.lookup(name)
    except KeyError:
        pytest.fail(f"test user {name!r} does not exist: run {SETUP_CMD}")
    subuid = Path("/etc/subuid").read_text() if Path("/etc/subuid").exists() else ""
    if not re.search(rf"^({name}|{u.uid}):\d+:\d+$", subuid, re.M):
        pytest.fail(f"test user {name} has no range in /etc/subuid: run {SETUP_CMD}")
    if not u.runtime_dir.is_dir():
        pytest.fail(f"{u.runtime_dir} does not exist: run {SETUP_CMD}")
    return u


@pytest.fixture(scope="session")
def installed(user: User) -> str:
    """podctl as the test user runs this very tree."""
    binary = podctl_bin()
    proc = user.run(
        [str(Path(binary).parent / "python"), "-c", "import podctl; print(podctl.__file__)"]
    )
    if proc.returncode != 0:
        pytest.fail(f"{user.name} cannot run {binary}: {proc.stderr.strip()}: run {SETUP_CMD}")
    where = Path(proc.stdout.strip()).resolve()
    expected = REPO / "podctl" / "__init__.py"
    if where != expected:
        # A non-editable install (CI copies the tree): it must match this tree's files.
        ours = expected.read_bytes()
        if where.read_bytes() != ours:
            pytest.fail(f"{binary} runs {where}, not this tree: run {SETUP_CMD}")
    return binary


@pytest.fixture(scope="session")
def registry() -> str:
    if not _registry_up():
        pytest.fail(f"no registry on {REGISTRY}: run {SETUP_CMD}")
    return REGISTRY


@pytest.fixture
def podctl(user: User, installed: str, request: pytest.FixtureRequest) -> Iterator[Podctl]:
    p = Podctl.fresh(user, re.sub(r"\W", "", request.node.name)[:20])
    yield p
    p.cleanup()


@pytest.fixture(scope="session")
def systemd_user(user: User) -> User:
    bus = user.runtime_dir / "bus"
    if not bus.exists():
        pytest.fail(f"no systemd user manager for {user.name} ({bus} missing): run {SETUP_CMD}")
    # Not `is-system-running`: it asks whether *this* mount namespace was booted with systemd.
    proc = user.run(["systemctl", "--user", "show", "-p", "SystemState", "--value"])
    if proc.stdout.strip() not in ("running", "degraded"):
        pytest.fail(
            f"systemd user manager for {user.name} not running ({proc.stdout.strip()} "
            f"{proc.stderr.strip()}): run {SETUP_CMD}"
        )
    return user


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Fast tests first, so a broken unit test shows before minutes of end-to-end runs.
    items.sort(key=lambda i: "e2e" in i.nodeid.split("/"))


def pytest_report_header() -> list[str]:
    return [f"podctl tests as uid {os.geteuid()}, test user {test_user_name()}, registry {REGISTRY}"]


def run_root(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True)
