"""ruff and mypy are part of the suite."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not installed beside {sys.executable}: run scripts/host-setup"
    return str(path)


def test_ruff() -> None:
    p = subprocess.run([_tool("ruff"), "check", "podctl", "tests", "bench"], cwd=REPO,
                       capture_output=True, text=True)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr


def test_mypy() -> None:
    p = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
