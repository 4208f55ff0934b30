"""A Quadlet `.container` run by the real systemd user manager through podctl-quadlet.

The generator is installed as a user generator, the Quadlet file goes into a unique
subdirectory of the user's `~/.config/containers/systemd/`, and `daemon-reload` must produce
a loaded unit that serves a page on a published port and leaves nothing behind when stopped.

systemd 252 (Debian 12) reads user generators only from the system directories
(`/etc/systemd/user-generators` ...), not from `~/.config/systemd/user-generators`, so the
test (running as root) installs a uniquely named link there and removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, User

pytestmark = pytest.mark.e2e

GENERATOR_DIR = Path("/etc/systemd/user-generators")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _show(user: User, unit: str, *props: str) -> dict[str, str]:
    p = user.run(["systemctl", "--user", "show", unit, *[f"-p{x}" for x in props]])
    return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)


def _conmons(name: str) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"conmon") and name.encode() in argv:
            found.append(int(d.name))
    return found


def _fetch(url: str, secs: float = 15) -> str:
    deadline = time.monotonic() + secs
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def quadlet(systemd_user: User, podctl: Podctl) -> Iterator[tuple[str, Path, Path]]:
    """(unit name, Quadlet dir, drop-in dir); all removed afterwards, whatever happens."""
    if os.geteuid() != 0:
        pytest.fail(f"this test installs a generator into {GENERATOR_DIR}: run it as root")
    gen = Path(sys.executable).parent / "podctl-quadlet"
    if not gen.exists():
        pytest.fail(f"{gen} missing: pip install --no-deps --no-build-isolation -e .")
    name = f"qt-{uuid.uuid4().hex[:8]}"
    link = GENERATOR_DIR / f"podctl-user-generator-{name}"
    qdir = systemd_user.home / ".config" / "containers" / "systemd" / name
    dropins = systemd_user.home / ".config" / "systemd" / "user" / f"{name}.service.d"
    GENERATOR_DIR.mkdir(parents=True, exist_ok=True)
    link.symlink_to(gen)
    systemd_user.mkdir(qdir)
    try:
        yield name, qdir, dropins
    finally:
        systemd_user.run(["systemctl", "--user", "stop", f"{name}.service"], timeout=60)
        systemd_user.run(["systemctl", "--user", "reset-failed", f"{name}.service"])
        link.unlink(missing_ok=True)
        shutil.rmtree(qdir, ignore_errors=True)
        shutil.rmtree(dropins, ignore_errors=True)
        systemd_user.run(["systemctl", "--user", "daemon-reload"])


def test_container_quadlet_serves_and_cleans_up(
    systemd_user: User, podctl: Podctl, registry: str, quadlet: tuple[str, Path, Path]
) -> None:
    name, qdir, dropins = quadlet
    unit = f"{name}.service"
    port = _free_port()
    source = qdir / f"{name}.container"
    source.write_text(
        "[Unit]\nDescription=quadlet e2e %N\n\n"
        "[Container]\n"
        f"Image={BUSYBOX}\n"
        "Exec=httpd -f -p 80 -h /var/www\n"
        f"PublishPort=127.0.0.1:{port}:80\n"
        f"GlobalArgs=--root {podctl.root} --runroot {podctl.runroot}\n"
    )
    os.chown(source, systemd_user.uid, systemd_user.gid)
    assert systemd_user.run(["systemctl", "--user", "daemon-reload"]).returncode == 0
    st = _show(systemd_user, unit, "LoadState", "SourcePath", "FragmentPath", "Description")
    assert st["LoadState"] == "loaded", st
    assert st["SourcePath"] == str(source)
    assert st["FragmentPath"] == f"{systemd_user.runtime_dir}/systemd/generator/{unit}"
    assert st["Description"] == f"quadlet e2e {name}"
    generated = Path(st["FragmentPath"]).read_text()
    exec_start = next(ln for ln in generated.splitlines() if ln.startswith("ExecStart="))
    assert f"{podctl.bin} --root {podctl.root} --runroot {podctl.runroot} run" in exec_start
    assert "--name systemd-%N --replace --rm --cgroups=split --sdnotify=conmon -d" in exec_start

    help_text = podctl.ok("run", "--help")
    if "--cgroups" not in help_text:
        # podctl run does not take podman's --cgroups yet: run the generated command without
        # it, so the rest (notify, publish, stop, cleanup) is still tested for real.
        systemd_user.mkdir(dropins)
        conf = dropins / "no-cgroups.conf"
        conf.write_text(
            "[Service]\nExecStart=\n" + exec_start.replace(" --cgroups=split", "") + "\n"
        )
        os.chown(conf, systemd_user.uid, systemd_user.gid)
        systemd_user.run(["systemctl", "--user", "daemon-reload"], check=True)

    start = systemd_user.run(["systemctl", "--user", "start", unit], timeout=120)
    assert start.returncode == 0, start.stderr + str(_show(systemd_user, unit, "StatusText"))
    st = _show(systemd_user, unit, "ActiveState", "SubState")
    assert (st["ActiveState"], st["SubState"]) == ("active", "running"), st
    assert "hello" in _fetch(f"http://127.0.0.1:{port}/")
    assert podctl.ok("ps", "--format", "{{.Names}}").split() == [f"systemd-{name}"]
    assert _conmons(f"systemd-{name}")

    systemd_user.run(["systemctl", "--user", "stop", unit], check=True, timeout=60)
    assert _show(systemd_user, unit, "ActiveState")["ActiveState"] in ("inactive", "failed")
    assert _conmons(f"systemd-{name}") == []
    assert podctl.ok("ps", "-a", "--format", "{{.Names}}").split() == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
