"""podman's long spellings (`container ls`, `image list`, `volume remove`, `system info` ...)
run the same commands as the short ones; and the pod verbs not covered elsewhere."""

from __future__ import annotations

import json

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


def test_container_group_spellings(podctl: Podctl, registry: str) -> None:
    podctl.ok("image", "pull", "-q", BUSYBOX)
    cid = podctl.ok("container", "create", "--name", "c1", BUSYBOX, "echo", "hi").strip()
    podctl.ok("container", "start", "c1")
    assert podctl.ok("container", "wait", "c1").strip() == "0"
    assert podctl.ok("container", "logs", "c1").strip() == "hi"
    for verb in ("ls", "list", "ps"):
        assert podctl.ok("container", verb, "-a", "-q", "--no-trunc").split() == [cid]
    # conmon runs `container cleanup` at every exit; running it again is harmless
    podctl.ok("container", "cleanup", "c1")
    assert podctl.ok("container", "inspect", "--format", "{{.State.Status}}", "c1").strip() == "exited"
    podctl.ok("container", "rename", "c1", "c2")
    podctl.ok("container", "rm", "c2")
    assert podctl.ok("container", "ls", "-a", "-q") == ""


def test_image_and_volume_group_spellings(podctl: Podctl, registry: str) -> None:
    podctl.ok("image", "pull", "-q", BUSYBOX)
    podctl.ok("image", "tag", BUSYBOX, "localhost/mine:1")
    names = podctl.ok("image", "list", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert "localhost/mine:1" in names
    podctl.ok("image", "untag", BUSYBOX, "localhost/mine:1")  # IMAGE NAME, as podman
    assert "localhost/mine:1" not in podctl.ok("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    podctl.ok("volume", "create", "v1")
    assert podctl.ok("volume", "list", "-q").split() == ["v1"]
    podctl.ok("volume", "remove", "v1")
    assert podctl.ok("volume", "list", "-q") == ""
    podctl.ok("image", "rm", BUSYBOX)
    assert podctl.ok("image", "list", "-q") == ""


def test_system_group_spellings(podctl: Podctl) -> None:
    info = json.loads(podctl.ok("system", "info", "--format", "json"))
    assert info["store"]["graphRoot"] == str(podctl.root)
    checks = json.loads(podctl.ok("system", "doctor", "--quick", "--format", "json"))
    assert any(c["Name"] == "conmon" for c in checks)


def test_pod_kill_and_unpause(podctl: Podctl, registry: str) -> None:
    podctl.ok("pod", "create", "--name", "p1")
    podctl.ok("run", "-d", "--pod", "p1", "--name", "m1", BUSYBOX, *SERVE)
    podctl.ok("pod", "kill", "p1")
    status = podctl.ok("inspect", "--format", "{{.State.Status}}", "m1").strip()
    assert status == "exited"
    bad = podctl.run("pod", "unpause", "p1")
    assert bad.returncode == 125 and bad.stderr.startswith("Error: ")
    podctl.ok("pod", "rm", "-f", "p1")
    assert podctl.ok("pod", "ps", "-q") == ""
