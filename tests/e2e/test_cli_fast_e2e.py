"""The click-free fast path gives what click gives (stdout, stderr, exit status), without click."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e

# The click path, as it was before the fast path: podctl.cli.main.main() parses everything.
CLICK_MAIN = "import sys; from podctl.cli.main import main; main()"
# The console script's entry, reporting at exit whether click got imported.
NO_CLICK = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('CLICK-IMPORTED=%s\\n' % ('click' in sys.modules)))\n"
    "sys.argv = ['podctl', *sys.argv[1:]]\n"
    "from podctl.cli import entry\n"
    "entry()\n"
)


def _python(podctl: Podctl) -> str:
    py = Path(podctl.bin).with_name("python")
    if not py.exists():
        pytest.fail(
            f"no python beside {podctl.bin}: install podctl into a venv (scripts/host-setup)"
        )
    return str(py)


def _via(podctl: Podctl, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        _python(podctl),
        "-c",
        code,
        "--root",
        str(podctl.root),
        "--runroot",
        str(podctl.runroot),
        *args,
    ]
    return podctl.user.run(argv)


def _stable(text: str) -> str:
    # ps's relative times ("2 seconds ago") may tick between the two runs
    return re.sub(r'"CreatedAt": ?"[^"]*"', '"CreatedAt": _', text)


CASES = [
    ("ps", "-a", "--format", "json"),
    ("ps", "-a", "--format", "{{json .}}"),
    ("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Image}}"),
    ("ps", "-aq", "--no-trunc"),
    ("container", "ls", "-a", "--format", "table {{.Names}}\t{{.Status}}"),
    ("rm", "nothere"),
    ("rm", "-f", "--ignore", "nothere"),
    ("stop", "--ignore", "nothere"),
    ("stop", "nothere", "fastc"),
    ("inspect", "nothere"),
    ("inspect", "--format", "{{.Name}} {{.State.Status}}", "fastc"),
    ("inspect", "-f", "{{.Name}}", "fastc", "nothere"),
    ("container", "exists", "fastc"),
    ("container", "exists", "nothere"),
    ("pod", "ps", "--format", "json"),
    ("pod", "exists", "nothere"),
    ("pod", "rm", "nothere"),
    ("pod", "stop", "--ignore", "nothere"),
    ("pod", "inspect", "nothere"),
    ("start", "nothere"),
    ("kill", "nothere"),
    ("logs", "nothere"),
    ("wait", "--condition", "running", "fastc"),
    ("healthcheck", "run", "fastc"),
    ("kube", "down", "/nonexistent.yaml"),
    # click answers these in both cases
    ("ps", "--bogus"),
    ("rm", "-t", "x", "fastc"),
]


def test_fast_path_output_equals_click(podctl: Podctl, registry: str) -> None:
    podctl.ok("create", "--name", "fastc", BUSYBOX, "true")
    for args in CASES:
        fast = podctl.run(*args)
        slow = _via(podctl, CLICK_MAIN, *args)
        what = " ".join(args)
        assert fast.returncode == slow.returncode, (what, fast.stderr, slow.stderr)
        assert _stable(fast.stdout) == _stable(slow.stdout), what
        assert fast.stderr == slow.stderr, what
    # and the commands did their work on the fast path
    assert podctl.ok("ps", "-a", "--format", "{{.Names}}").split() == ["fastc"]
    line = podctl.ok("ps", "-a", "--format", "{{json .}}").strip()  # one compact object a line, as podman
    assert json.loads(line)["Names"] == ["fastc"] and '": ' not in line and '", "' not in line
    assert podctl.run("rm", "fastc").returncode == 0
    assert podctl.run("container", "exists", "fastc").returncode == 1


def test_hot_commands_do_not_import_click(podctl: Podctl, registry: str) -> None:
    cid = podctl.ok("create", "--name", "noclick", BUSYBOX, "true").strip()
    for args, code in [
        (("ps",), 0),
        (("ps", "-a", "--format", "json"), 0),
        (("rm", "-f", "--ignore", "nothere"), 0),
        (("stop", "--ignore", "nothere"), 0),
        (("container", "cleanup", cid), 0),
        (("container", "exists", "nothere"), 1),
        (("pod", "ps"), 0),
    ]:
        p = _via(podctl, NO_CLICK, *args)
        assert p.returncode == code, (args, p.stderr)
        assert "CLICK-IMPORTED=False" in p.stderr, (args, p.stderr)
    # what the fast path leaves to click still works, with click
    p = _via(podctl, NO_CLICK, "ps", "--help")
    assert p.returncode == 0 and "Usage: podctl ps" in p.stdout
    assert "CLICK-IMPORTED=True" in p.stderr
    p = _via(podctl, NO_CLICK, "ps", "--bogus")
    assert p.returncode == 125 and "No such option '--bogus'" in p.stderr
