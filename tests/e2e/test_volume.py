"""Named and anonymous volumes for real: they outlive containers, `rm -v` and prune clean up."""

from __future__ import annotations

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e


def test_volumes_survive_rm(podctl: Podctl, registry: str) -> None:
    assert podctl.ok("volume", "create", "--label", "k=v", "data").strip() == "data"
    assert podctl.run("volume", "create", "data").returncode == 125
    podctl.ok("run", "--rm", "-v", "data:/data", BUSYBOX, "sh", "-c", "echo kept > /data/f")
    assert podctl.ok("run", "--rm", "-v", "data:/data:ro", BUSYBOX, "cat", "/data/f") == "kept\n"
    p = podctl.run("run", "--rm", "-v", "data:/data:ro", BUSYBOX, "touch", "/data/g")
    assert p.returncode == 1

    info = podctl.json("volume", "inspect", "data")[0]
    assert info["Name"] == "data" and info["Labels"] == {"k": "v"} and info["Driver"] == "local"
    assert podctl.ok("volume", "ls", "-q") == "data\n"
    assert podctl.ok("volume", "ls", "--filter", "label=k=v", "--format", "{{.Name}}") == "data\n"

    # A named volume is created on first use and starts with the image's content there.
    out = podctl.ok("run", "--rm", "--mount", "type=volume,source=www,destination=/var/www", BUSYBOX,
                    "cat", "/var/www/index.html")  # fmt: skip
    assert "hello" in out
    assert podctl.ok("volume", "exists", "www") == ""

    # In use: rm refuses (2) until the container is gone; anonymous volumes go with rm -v.
    podctl.ok("create", "--name", "user", "-v", "data:/data", "-v", "/anon", BUSYBOX, "true")
    assert podctl.run("volume", "rm", "data").returncode == 2
    anon = [v for v in podctl.ok("volume", "ls", "-q").split() if v not in ("data", "www")]
    assert len(anon) == 1 and len(anon[0]) == 64
    podctl.ok("rm", "-v", "user")
    assert sorted(podctl.ok("volume", "ls", "-q").split()) == ["data", "www"]
    assert podctl.ok("volume", "rm", "data") == "data\n"
    assert podctl.run("volume", "inspect", "data").returncode == 125
    assert podctl.run("volume", "rm", "data").returncode == 1
    # uid/gid options own the volume's root; device mounts are refused with a reason.
    podctl.ok("volume", "create", "-o", "uid=1000", "-o", "gid=1000", "owned")
    out = podctl.ok("run", "--rm", "-u", "1000", "-v", "owned:/d", BUSYBOX, "sh", "-c", "touch /d/x; stat -c %u:%g /d/x")
    assert out == "1000:1000\n"
    bad = podctl.run("volume", "create", "-o", "type=tmpfs", "tv")
    assert bad.returncode == 125 and "--opt type" in bad.stderr
    assert podctl.run("volume", "exists", "tv").returncode == 1
    assert sorted(podctl.ok("volume", "prune", "-f").split()) == ["owned", "www"]
    assert podctl.ok("volume", "ls", "-q") == ""
