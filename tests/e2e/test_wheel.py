"""What ships in the wheel is what the installed command uses (templates, man pages)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from harness import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    wheels = list(out.glob("podctl-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    man_pages = {p.name for p in (REPO / "man").glob("*.1")}
    for page in man_pages:
        assert f"podctl/_data/man/{page}" in names, page
    templates = [p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*") if p.is_file()]
    for t in templates:
        assert f"podctl/_data/{t}" in names, t
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_runs_from_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    p = subprocess.run([str(venv / "bin/pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    podctl = venv / "bin" / "podctl"
    out = subprocess.run([str(podctl), "--help"], capture_output=True, text=True, check=True).stdout
    assert "doctor" in out
    code = (
        "from podctl.config import data_path; import podctl, pathlib;"
        "pkg = pathlib.Path(podctl.__file__).parent;"
        "m = data_path('man'); t = data_path('templates');"
        "assert m.is_relative_to(pkg) and t.is_relative_to(pkg), (m, t);"
        "assert (m / 'podctl.1').is_file(); print(m)"
    )
    p = subprocess.run([str(venv / "bin/python"), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # man(1) finds the pages installed as shared data
    assert (venv / "share/man/man1/podctl.1").is_file()
    info = subprocess.run([str(podctl), "info", "--format", "{{.Version.Version}}"],
                          capture_output=True, text=True)  # fmt: skip
    assert info.returncode == 0, info.stderr
