"""The modules under the hot commands (run --rm, rm, stop, ps, the exit command) import no
heavy standard module at import time: each costs every podctl process 1-6 ms."""

from __future__ import annotations

import subprocess
import sys

HOT = [
    "podctl.log", "podctl.run", "podctl.records", "podctl.config", "podctl.spec",
    "podctl.state.db", "podctl.state.containers", "podctl.state.pods", "podctl.rootless.userns",
    "podctl.runtime.paths", "podctl.runtime.ocispec", "podctl.runtime.seccomp",
    "podctl.runtime.etcfiles", "podctl.runtime.rootfs", "podctl.runtime.oci", "podctl.image.api",
    "podctl.image.reference", "podctl.image.store", "podctl.net.options", "podctl.net.ports",
    "podctl.engine.containers", "podctl.engine.direct_run", "podctl.engine.container_views",
    "podctl.engine.trash", "podctl.runtime.fsutil", "podctl.runtime.claim",
]  # fmt: skip
HEAVY = ["dataclasses", "typing", "subprocess", "shutil", "logging", "platform", "uuid", "inspect",
         "tempfile", "socket"]  # fmt: skip


def test_hot_modules_import_nothing_heavy() -> None:
    code = (f"import sys\nimport {', '.join(HOT)}\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [], f"imported at start-up: {out.stdout.strip()}"
