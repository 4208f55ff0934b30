"""`podctl run` for real as the unprivileged user: output, exit codes, terminals, exec, logs."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import time

import pytest
from harness import BUSYBOX, Podctl

pytestmark = pytest.mark.e2e


def test_output_and_exit_codes(podctl: Podctl, registry: str) -> None:
    p = podctl.run("run", "--rm", BUSYBOX, "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout == "to-out\n"
    assert "to-err" in p.stderr

    missing = podctl.run("run", "--rm", BUSYBOX, "no-such-command")
    assert missing.returncode == 127, missing.stderr
    assert "no-such-command" in missing.stderr and "not found" in missing.stderr

    not_exec = podctl.run("run", "--rm", BUSYBOX, "/etc/passwd")
    assert not_exec.returncode == 126, not_exec.stderr

    bad_flag = podctl.run("run", "--rm", "--restart", "sometimes", BUSYBOX, "true")
    assert bad_flag.returncode == 125
    assert "--restart" in bad_flag.stderr

    relative = podctl.run("run", "--rm", "-v", "./data:/data", BUSYBOX, "true")
    assert relative.returncode == 125
    assert "relative" in relative.stderr

    # --rm left nothing behind, and the image config's PATH/cwd/env were applied.
    assert podctl.ok("ps", "-a", "-q") == ""
    env = podctl.ok("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", BUSYBOX, "sh", "-c", "echo $FOO $PWD $HOSTNAME")
    foo, cwd, host = env.split()
    assert (foo, cwd, len(host)) == ("bar", "/tmp", 12)


def _pty_run(podctl: Podctl, args: list[str], script: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """Run podctl with a pseudo-terminal as its controlling terminal, typing SCRIPT."""
    master, slave = os.openpty()
    os.fchown(slave, podctl.user.uid, podctl.user.gid)

    def make_controlling() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        podctl.user.argv(podctl.argv(*args)), env=podctl.user.env(), stdin=slave, stdout=slave,
        stderr=slave, preexec_fn=make_controlling, cwd="/",
    )  # fmt: skip
    os.close(slave)
    out = b""
    sent = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and (b"#" in out or time.monotonic() > deadline - timeout + 3):
            os.write(master, script)
            sent = True
        if proc.poll() is not None and not r:
            break
    os.close(master)
    return proc.wait(timeout=10), out


def test_run_interactive_tty(podctl: Podctl, registry: str) -> None:
    podctl.ok("pull", BUSYBOX)
    code, out = _pty_run(podctl, ["run", "--rm", "-it", BUSYBOX, "sh"],
                         b"tty; echo sum-$((40+2)); exit 5\n")  # fmt: skip
    assert code == 5, out
    assert b"/dev/pts/0" in out
    assert b"sum-42" in out
    # Without --rm the terminal goes through conmon's console and attach socket.
    code, out = _pty_run(podctl, ["run", "-it", "--name", "kept", BUSYBOX, "sh"],
                         b"stty size; echo sum-$((1+2)); exit 4\n")  # fmt: skip
    assert code == 4, out
    assert b"sum-3" in out
    assert podctl.ok("logs", "kept").count("sum-3") >= 1
    podctl.ok("rm", "kept")


def test_exec_and_logs(podctl: Podctl, registry: str) -> None:
    cid = podctl.ok("run", "-d", "--name", "box", BUSYBOX, "sh", "-c",
                    "echo started; echo oops >&2; exec sleep 600").strip()  # fmt: skip
    assert len(cid) == 64
    assert podctl.ok("exec", "box", "echo", "hello").strip() == "hello"
    # (through sh: busybox runs the applet whatever the image's links look like)
    assert podctl.ok("exec", "-u", "1000", "box", "sh", "-c", "id -u").strip() == "1000"
    assert podctl.ok("exec", "-e", "X=1", "-w", "/tmp", "box", "sh", "-c", "echo $X $PWD").split() == ["1", "/tmp"]
    p = podctl.run("exec", "box", "sh", "-c", "exit 7")
    assert p.returncode == 7
    assert podctl.run("exec", "box", "nope").returncode == 127
    p = podctl.run("exec", "-i", "box", "cat", input="piped\n")
    assert p.stdout == "piped\n"
    top = podctl.ok("top", "box")
    assert "sleep 600" in top and top.splitlines()[0].split()[:2] == ["USER", "PID"]

    ps = podctl.json("ps", "--format", "json")
    assert [c["Names"] for c in ps] == [["box"]] and ps[0]["State"] == "running"
    assert ps[0]["Id"] == cid

    logs = podctl.run("logs", "box")
    assert logs.stdout == "started\n" and logs.stderr == "oops\n"
    podctl.ok("stop", "-t", "1", "box")
    info = podctl.json("inspect", "box")[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 137
    assert podctl.run("exec", "box", "true").returncode == 125

    # Logs outlive the process; --tail and -t as podman.
    podctl.ok("run", "--name", "lines", BUSYBOX, "sh", "-c", "for i in 1 2 3 4; do echo line$i; done")
    assert podctl.ok("logs", "--tail", "2", "lines") == "line3\nline4\n"
    stamped = podctl.ok("logs", "-t", "lines").splitlines()
    assert len(stamped) == 4 and stamped[0].startswith("20") and stamped[0].endswith(" line1")
    assert podctl.ok("wait", "lines").strip() == "0"
    podctl.ok("rm", "lines", "box")
    assert podctl.ok("ps", "-a", "-q") == ""


@pytest.mark.parametrize("rm", [True, False], ids=["direct", "conmon"])
def test_signals_reach_an_attached_container(podctl: Podctl, registry: str, rm: bool) -> None:
    podctl.ok("pull", BUSYBOX)
    script = 'trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.1; done'
    args = ["run", *(["--rm"] if rm else []), "--name", "sig", BUSYBOX, "sh", "-c", script]
    proc = podctl.user.popen(podctl.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.terminate()  # SIGTERM to podctl, which hands it to the container
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 9, err
    assert out == b"got-term\n"
    listed = podctl.json("ps", "-a", "--format", "json")
    if rm:
        assert listed == []
    else:
        assert [(c["Names"], c["State"], c["ExitCode"]) for c in listed] == [(["sig"], "exited", 9)]


def test_run_flags(podctl: Podctl, registry: str) -> None:
    podctl.ok("run", "-d", "--name", "netowner", "--hostname", "owner", BUSYBOX, "sleep", "600")
    # --network container:NAME shares the owner's network namespace; host sees the host's links
    mine = podctl.ok("run", "--rm", "--network", "container:netowner", BUSYBOX, "readlink", "/proc/self/ns/net")
    theirs = podctl.ok("exec", "netowner", "readlink", "/proc/self/ns/net")
    assert mine == theirs
    # The default (slirp4netns, as rootless podman) adds tap0; --network none has loopback only.
    private = podctl.ok("run", "--rm", BUSYBOX, "sh", "-c", "ls /sys/class/net")
    assert private.split() == ["lo", "tap0"]
    none = podctl.ok("run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", "ls /sys/class/net")
    assert none.split() == ["lo"]
    host = podctl.ok("run", "--rm", "--network", "host", BUSYBOX, "sh", "-c", "ls /sys/class/net")
    assert len(host.split()) > 1
    out = podctl.ok(
        "run", "--rm", "--tmpfs", "/scratch:size=1m", "--ulimit", "nofile=50:60", "-e", "A=1",
        "--env-file", "/dev/null", "--entrypoint", '["/bin/sh", "-c"]', "-u", "1000:1000", BUSYBOX,
        "ulimit -n; echo $A; id -u; touch /scratch/f && echo tmpfs-ok; cat /etc/hostname",
    )  # fmt: skip
    lines = out.split()
    assert lines[:4] == ["50", "1", "1000", "tmpfs-ok"] and len(lines[4]) == 12
    ro = podctl.run("run", "--rm", "--read-only", BUSYBOX, "touch", "/etc/x")
    assert ro.returncode == 1 and "Read-only" in ro.stderr
    assert podctl.ok("exec", "-d", "netowner", "sleep", "300") == ""
    assert "sleep 300" in podctl.ok("top", "netowner", "args")
    mem = podctl.run("run", "--rm", "--memory", "64m", BUSYBOX, "true")
    assert mem.returncode == 0 and "ignored" in mem.stderr
    podctl.ok("rm", "-f", "-t", "0", "netowner")


def test_log_driver_checked_and_journald_falls_back(podctl: Podctl, registry: str) -> None:
    """An unknown --log-driver is refused naming the flag, creating nothing; journald where no
    journal listens (this host) warns and logs to k8s-file, which `logs` reads."""
    r = podctl.run("run", "--rm", "--log-driver", "syslog", "--network", "none", BUSYBOX, "true")
    assert r.returncode == 125 and "--log-driver 'syslog': must be one of" in r.stderr
    assert podctl.ok("ps", "-a", "-q") == ""
    assert not os.path.exists("/run/systemd/journal/socket"), "this test expects a host without journald"
    r = podctl.run("run", "-d", "--name", "jl", "--log-driver", "journald", "--network", "none", BUSYBOX,
                   "echo", "to-the-log")  # fmt: skip
    assert r.returncode == 0 and "no journald on this host" in r.stderr
    podctl.ok("wait", "jl")
    assert podctl.ok("logs", "jl") == "to-the-log\n"
    podctl.ok("rm", "jl")


def test_commands_from_bind_mounts_and_volumes(podctl: Podctl, registry: str) -> None:
    """A command that lives in a bind mount or a volume is found there (by path and through
    PATH), in run --rm, run -d and exec; a missing or non-executable one still gives 127 / 126."""
    d = podctl.user.mkdir(podctl.root.parent / f"{podctl.root.name}-bin")
    (d / "hello").write_text("#!/bin/sh\necho hello from $0\n")
    (d / "plain").write_text("not a program\n")
    for f in ("hello", "plain"):
        os.chown(d / f, podctl.user.uid, podctl.user.gid)
    (d / "hello").chmod(0o755)
    (d / "plain").chmod(0o644)
    assert podctl.ok("run", "--rm", "-v", f"{d}:/opt/bin:ro", BUSYBOX, "/opt/bin/hello") == "hello from /opt/bin/hello\n"
    assert podctl.ok("run", "--rm", "-v", f"{d}/hello:/hi:ro", BUSYBOX, "/hi") == "hello from /hi\n"
    assert podctl.ok("run", "--rm", "-v", f"{d}:/usr/local/bin:ro", BUSYBOX, "hello") == "hello from /usr/local/bin/hello\n"
    missing = podctl.run("run", "--rm", "-v", f"{d}:/opt/bin:ro", BUSYBOX, "/opt/bin/nope")
    assert missing.returncode == 127 and "/opt/bin/nope" in missing.stderr, missing.stderr
    plain = podctl.run("run", "--rm", "-v", f"{d}:/opt/bin:ro", BUSYBOX, "/opt/bin/plain")
    assert plain.returncode == 126, plain.stderr
    podctl.ok("volume", "create", "tools")
    podctl.ok("run", "--rm", "-v", "tools:/tools", "-v", f"{d}:/src:ro", BUSYBOX, "cp", "/src/hello", "/tools/hello")
    podctl.ok("run", "-d", "--name", "fromvol", "-v", "tools:/tools", BUSYBOX, "sleep", "600")
    assert podctl.ok("exec", "fromvol", "/tools/hello") == "hello from /tools/hello\n"
    podctl.ok("rm", "-f", "fromvol")
    podctl.ok("volume", "rm", "tools")
