"""Pods and user-mode networking for real, as the unprivileged test user: an infra container
(catatonit) holding shared namespaces, slirp4netns with published ports, clean-up checks
against /proc and the store.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl, free_port, helpers_of

# Members stop at once (busybox httpd/sleep as PID 1 ignore SIGTERM).
FAST = ("--stop-signal", "KILL")
HTTPD = (*FAST, BUSYBOX, "httpd", "-f", "-p", "80", "-h", "/var/www")


def http_get(port: int, host: str = "127.0.0.1") -> str:
    deadline = time.monotonic() + 5
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=3) as r:
                body: bytes = r.read()
                return body.decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def assert_nothing_left(p: Podctl) -> None:
    deadline = time.monotonic() + 5
    while helpers_of(p) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helpers_of(p) == []
    assert p.ok("ps", "-a", "-q").split() == []
    assert p.ok("pod", "ps", "-q").split() == []
    netns = p.runroot / "netns"
    assert not netns.exists() or list(netns.iterdir()) == []
    pause = int((p.runroot / "pause.pid").read_text())
    mounts = Path(f"/proc/{pause}/mountinfo").read_text()
    assert str(p.runroot / "netns") not in mounts
    assert str(p.root / "containers") not in mounts
    assert not (p.root / "containers").exists() or list((p.root / "containers").iterdir()) == []


@pytest.mark.parametrize("network", ["default", "slirp4netns"])
def test_pod_shares_loopback_hostname_hosts_and_published_port(podctl: Podctl, registry: str, network: str) -> None:
    """On the default network (pasta) and on slirp4netns (podman 4's, with podctl's forwarder)."""
    port = free_port()
    net = ["--network", network] if network != "default" else []
    pod_id = podctl.ok("pod", "create", "--name", "web", "-p", f"127.0.0.1:{port}:80", "--hostname", "podhost", *net,
                       "--add-host", "db.example:10.9.8.7", "--dns", "10.0.2.3", "--label", "app=web").strip()  # fmt: skip
    assert len(pod_id) == 64
    assert podctl.json("pod", "ps", "--format", "json")[0]["Status"] == "Created"
    podctl.ok("run", "-d", "--pod", "web", "--name", "srv", *HTTPD)
    podctl.ok("run", "-d", "--pod", pod_id[:12], "--name", "cli", *FAST, BUSYBOX, "sleep", "600")
    # Two members talk over the pod's loopback; the host reaches the published port.
    assert "hello" in podctl.ok("exec", "cli", "wget", "-qO-", "http://127.0.0.1:80/")
    assert "hello" in http_get(port)
    helpers = sorted(w for c in helpers_of(podctl) for w in ("pasta", "slirp4netns", "portfwd") if w in c)
    assert helpers == (["pasta"] if network == "default" else ["portfwd", "slirp4netns"]), helpers
    assert podctl.ok("exec", "cli", "hostname").strip() == "podhost"
    hosts = podctl.ok("exec", "cli", "cat", "/etc/hosts")
    names = [line.split() for line in hosts.splitlines() if line and not line.startswith("#")]
    pod_line = next(n for n in names if "srv" in n)
    assert "cli" in pod_line and "podhost" in pod_line
    assert ["10.9.8.7", "db.example"] in names
    # srv's /etc/hosts is the same shared file: it names cli, started after it.
    assert "cli" in podctl.ok("exec", "srv", "cat", "/etc/hosts")
    assert podctl.ok("exec", "srv", "wget", "-qO-", "http://cli:80/").startswith("hello")
    assert "nameserver 10.0.2.3" in podctl.ok("exec", "cli", "cat", "/etc/resolv.conf")
    # Shared namespaces, checked from the host side.
    assert podctl.ok("exec", "cli", "readlink", "/proc/self/ns/net") == podctl.ok(
        "exec", "srv", "readlink", "/proc/self/ns/net")  # fmt: skip
    assert podctl.ok("exec", "cli", "readlink", "/proc/self/ns/pid") != podctl.ok(
        "exec", "srv", "readlink", "/proc/self/ns/pid")  # fmt: skip
    # podman's shapes: pod ps json, pod inspect, port.
    [item] = podctl.json("pod", "ps", "--format", "json")
    assert item["Name"] == "web" and item["Status"] == "Running" and item["Labels"] == {"app": "web"}
    assert len(item["Containers"]) == 3 and item["InfraId"]
    info = podctl.json("pod", "inspect", "web")
    assert info["Id"] == pod_id and info["Hostname"] == "podhost" and info["NumContainers"] == 3
    assert info["InfraConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert sorted(info["SharedNamespaces"]) == ["ipc", "net", "uts"]
    assert podctl.ok("port", "srv").strip() == f"80/tcp -> 127.0.0.1:{port}"
    top = podctl.ok("pod", "top", "web")
    assert "catatonit" in top and "httpd" in top and "sleep 600" in top
    assert podctl.run("pod", "exists", "web").returncode == 0
    assert podctl.run("pod", "exists", "nope").returncode == 1
    # A restart keeps the published port working; rm -f leaves nothing.
    assert podctl.ok("pod", "restart", "web").strip() == pod_id
    assert "hello" in http_get(port)
    rm = podctl.run("rm", "-f", info["InfraContainerID"])
    assert rm.returncode != 0 and "infra container of pod" in rm.stderr
    assert podctl.ok("pod", "rm", "-f", "web").strip() == pod_id
    assert_nothing_left(podctl)


def test_two_pods_and_a_taken_port(podctl: Podctl, registry: str) -> None:
    p1, p2 = free_port(), free_port()
    podctl.root.chmod(0o755)
    podctl.ok("pod", "create", "--name", "a", "-p", f"{p1}:80")
    assert podctl.root.stat().st_mode & 0o777 == 0o700  # tightened, as by any command
    podctl.ok("pod", "create", "--name", "b", "-p", f"{p2}:80")
    podctl.ok("run", "-d", "--pod", "a", *HTTPD)
    podctl.ok("run", "-d", "--pod", "b", *HTTPD)
    assert "hello" in http_get(p1) and "hello" in http_get(p2)
    # The same host port again: a clear error, and nothing is created.
    before_pods = podctl.ok("pod", "ps", "-q").split()
    before_ctrs = podctl.ok("ps", "-a", "-q").split()
    bad = podctl.run("pod", "create", "--name", "c", "-p", f"{p1}:80")
    assert bad.returncode == 125
    assert f"cannot publish port {p1}/tcp: address already in use" in bad.stderr
    bad = podctl.run("run", "-d", "--name", "d", "-p", f"{p2}:80", BUSYBOX, "true")
    assert bad.returncode == 125 and "address already in use" in bad.stderr
    assert podctl.ok("pod", "ps", "-q").split() == before_pods
    assert podctl.ok("ps", "-a", "-q").split() == before_ctrs
    # A member cannot publish ports of its own: they belong to the pod.
    bad = podctl.run("create", "--pod", "a", "-p", "8080:80", BUSYBOX, "true")
    assert bad.returncode == 125 and "ports must be defined when the pod is created" in bad.stderr
    out = podctl.ok("pod", "rm", "-f", "a", "b").split()
    assert len(out) == 2
    assert_nothing_left(podctl)


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"echo:" + data, peer)
"""


def test_udp_published_port_and_standalone_networking(podctl: Podctl, registry: str) -> None:
    # busybox has no UDP server: the host's python runs in the container (host /usr bind-mounted).
    # On the default network (pasta) a UDP port published on another container port is served
    # by podctl's forwarder beside pasta: Debian 12's pasta does not answer loopback clients there.
    port = free_port(socket.SOCK_DGRAM)
    host_libs = ("-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro")
    podctl.ok("run", "-d", "--name", "udp", "-p", f"127.0.0.1:{port}:5353/udp", *FAST, *host_libs,
              BUSYBOX, "/usr/bin/python3", "-c", UDP_ECHO)  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        answer = b""
        for _ in range(10):
            s.sendto(b"ping", ("127.0.0.1", port))
            try:
                answer = s.recv(100)
                break
            except TimeoutError:
                continue
    assert answer == b"echo:ping"
    udp_id = podctl.ok("inspect", "--format", "{{.Id}}", "udp").strip()
    udp_helpers = [c for c in helpers_of(podctl) if udp_id in c and "conmon" not in c]
    assert len(udp_helpers) == 2 and any("pasta" in c for c in udp_helpers), udp_helpers
    assert any("podctl.net.portfwd" in c and ":udp:5353" in c for c in udp_helpers), udp_helpers
    ns = podctl.json("inspect", "udp")[0]["NetworkSettings"]  # as podman's
    assert ns["Ports"] == {"5353/udp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert ns["SandboxKey"] == str(podctl.runroot / "netns" / udp_id)
    assert podctl.ok("port", "udp").strip() == f"5353/udp -> 127.0.0.1:{port}"
    assert podctl.ok("port", "udp", "5353/udp").strip() == f"127.0.0.1:{port}"
    # --mount ...,subpath=X mounts only that part of the source (what kube's subPath becomes).
    src = podctl.user.mkdir(podctl.root.parent / f"{podctl.root.name}-src")
    try:
        podctl.user.mkdir(src / "inner")
        podctl.user.run(["sh", "-c", f"echo subpath-ok > {src}/inner/f"], check=True)
        out = podctl.ok("run", "--rm", "--network", "none", "--mount", f"type=bind,src={src},dst=/x,subpath=inner",
                        BUSYBOX, "cat", "/x/f")  # fmt: skip
        assert out.strip() == "subpath-ok"
    finally:
        shutil.rmtree(src, ignore_errors=True)
    # A random host port for -p 80, shown by `port` and `ps`.
    podctl.ok("run", "-d", "--name", "web", "-p", "80", *HTTPD)
    line = podctl.ok("port", "web").strip()
    assert line.startswith("80/tcp -> 0.0.0.0:")
    assert "hello" in http_get(int(line.rsplit(":", 1)[1]))
    # Default network: pasta in slirp4netns's layout (tap0, its DNS); --dns/--dns-search/--dns-option/--add-host.
    out = podctl.ok("run", "--rm", "--name", "n1", "--dns", "192.0.2.53", "--dns-search", "example.com",
                    "--dns-option", "ndots:3", "--add-host", "db:10.1.2.3", BUSYBOX, "sh", "-c",
                    "ls /sys/class/net; cat /etc/resolv.conf /etc/hosts")  # fmt: skip
    assert "tap0" in out.split()
    assert "nameserver 192.0.2.53" in out and "search example.com" in out and "options ndots:3" in out
    assert "10.1.2.3\tdb" in out.replace(" ", "\t") and "n1" in out
    # A crashed container (its process killed from outside) stops its pasta.
    web_id = podctl.ok("inspect", "--format", "{{.Id}}", "web").strip()
    assert [c for c in helpers_of(podctl) if web_id in c and "pasta" in c]
    pid = int(podctl.ok("inspect", "--format", "{{.State.Pid}}", "web").strip())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while podctl.ok("inspect", "--format", "{{.State.Status}}", "web").strip() != "exited":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    deadline = time.monotonic() + 5
    while [c for c in helpers_of(podctl) if web_id in c] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c for c in helpers_of(podctl) if web_id in c] == []
    assert len([c for c in helpers_of(podctl) if udp_id in c and "conmon" not in c]) == 2  # untouched
    podctl.ok("rm", "-f", "udp", "web")
    assert_nothing_left(podctl)


def test_share_pid_exit_policy_stop_and_id_files(podctl: Podctl, registry: str) -> None:
    d = podctl.user.mkdir(podctl.root.parent / f"{podctl.root.name}-ids")
    try:
        _exit_policy_and_id_files(podctl, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _exit_policy_and_id_files(podctl: Podctl, d: Path) -> None:
    idfile, conmon_pid = d / "pod.id", d / "infra.pid"
    pod_id = podctl.ok("pod", "create", "--name", "job", "--share", "+pid", "--exit-policy", "stop",
                       "--pod-id-file", str(idfile), "--infra-conmon-pidfile", str(conmon_pid),
                       "--infra-name", "job-infra").strip()  # fmt: skip
    assert idfile.read_text() == pod_id
    again = podctl.run("pod", "create", "--name", "job2", "--pod-id-file", str(idfile))
    assert again.returncode == 125 and "exists" in again.stderr
    assert podctl.ok("pod", "ps", "-q", "--no-trunc").split() == [pod_id]  # nothing half-created
    podctl.ok("create", "--pod-id-file", str(idfile), "--name", "step", BUSYBOX, "sh", "-c", "ps -o pid,args; sleep 1")
    assert podctl.ok("pod", "start", "--pod-id-file", str(idfile)).strip() == pod_id
    assert int(conmon_pid.read_text()) > 0
    assert [c for c in helpers_of(podctl) if "pasta" in c]  # the pod's network, while it runs
    # The member sees the infra's catatonit as PID 1 (shared PID namespace).
    deadline = time.monotonic() + 20
    while podctl.json("pod", "inspect", "job")["State"] != "Exited":
        assert time.monotonic() < deadline, podctl.json("pod", "inspect", "job")
        time.sleep(0.2)
    assert "/catatonit -P" in podctl.ok("logs", "step").splitlines()[1]
    # exit policy stop: the infra stops with the last member (from the member's exit command,
    # which may still be running when the member shows as exited), and its pasta with it.
    while podctl.ok("inspect", "--format", "{{.State.Status}}", "job-infra").strip() != "exited":
        assert time.monotonic() < deadline, "the infra container did not stop with the pod"
        time.sleep(0.1)
    while [c for c in helpers_of(podctl) if "conmon" not in c]:  # pasta
        assert time.monotonic() < deadline, helpers_of(podctl)
        time.sleep(0.1)
    assert podctl.ok("pod", "rm", "--pod-id-file", str(idfile)).strip() == pod_id
    assert not idfile.exists()  # the ID file goes with its pod (podman >= 4.4)
    assert podctl.run("pod", "rm", "--ignore", "--pod-id-file", str(idfile)).returncode == 0
    assert_nothing_left(podctl)
    # --replace: leftover ID and PID files (a crash, a killed unit) are replaced, not an error.
    podctl.user.run(["sh", "-c", f"echo stale > {idfile}; echo 99999999 > {conmon_pid}"], check=True)
    pod_id = podctl.ok("pod", "create", "--name", "job", "--replace", "--pod-id-file", str(idfile),
                       "--infra-conmon-pidfile", str(conmon_pid)).strip()  # fmt: skip
    assert idfile.read_text() == pod_id and not conmon_pid.exists()
    podctl.ok("pod", "start", "--pod-id-file", str(idfile))
    infra = podctl.json("pod", "inspect", "job")["InfraContainerID"]
    assert int(conmon_pid.read_text()) == podctl.json("inspect", infra)[0]["State"]["ConmonPid"] > 0
    podctl.ok("pod", "rm", "-f", "--pod-id-file", str(idfile))
    assert not idfile.exists()
    # A file that names another pod by now stays.
    podctl.ok("pod", "create", "--name", "job", "--pod-id-file", str(idfile))
    podctl.user.run(["sh", "-c", f"echo another > {idfile}"], check=True)
    podctl.ok("pod", "rm", "job")
    assert idfile.read_text() == "another\n"
    assert_nothing_left(podctl)


def test_pod_create_start(podctl: Podctl, registry: str) -> None:
    """`pod create --start`: created and started in one command (what generated pod units run);
    the ID is printed once and the infra's conmon PID file is written."""
    d = podctl.user.mkdir(podctl.root.parent / f"{podctl.root.name}-start")
    try:
        conmon_pid = d / "infra.pid"
        out = podctl.ok("pod", "create", "--start", "--name", "st", "--infra-conmon-pidfile",
                        str(conmon_pid), "-p", f"127.0.0.1:{free_port()}:80")  # fmt: skip
        assert len(out.split()) == 1
        pod = podctl.json("pod", "inspect", "st")
        assert pod["Id"] == out.strip() and pod["State"] == "Running"
        pid = int(conmon_pid.read_text())
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"conmon")
        podctl.ok("run", "-d", "--pod", "st", "--name", "st-m", *FAST, BUSYBOX, "sleep", "100")
        assert podctl.json("pod", "inspect", "st")["State"] == "Running"
        podctl.ok("pod", "rm", "-f", "st")
        assert_nothing_left(podctl)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_pod_new_no_infra_logs_prune_and_pause(podctl: Podctl, registry: str) -> None:
    port = free_port()
    podctl.ok("run", "-d", "--pod", "new:fresh", "-p", f"127.0.0.1:{port}:80", "--name", "w", *HTTPD)
    assert "hello" in http_get(port)
    podctl.ok("run", "--pod", "fresh", "--name", "say", BUSYBOX, "echo", "hi from the pod")
    logs = podctl.ok("pod", "logs", "--names", "fresh")
    assert "say hi from the pod" in logs
    bad = podctl.run("pod", "pause", "fresh")
    assert bad.returncode == 125 and "freezer cgroup" in bad.stderr
    running = podctl.run("pod", "rm", "fresh")
    assert running.returncode != 0 and "running" in running.stderr
    podctl.ok("pod", "stop", "-t", "0", "fresh")
    podctl.ok("pod", "create", "--network", "host", "--name", "hostnet")
    links = podctl.ok("run", "--rm", "--pod", "hostnet", BUSYBOX, "ls", "/sys/class/net").split()
    assert len(links) > 1 and "tap0" not in links
    podctl.ok("pod", "rm", "-f", "hostnet")
    podctl.ok("pod", "create", "--no-infra", "--name", "loose")
    podctl.ok("run", "--pod", "loose", "--rm", BUSYBOX, "true")
    assert podctl.json("pod", "inspect", "loose")["InfraContainerID"] == ""
    bad = podctl.run("pod", "create", "--no-infra", "--name", "x", "-p", "80")
    assert bad.returncode == 125 and "infra container" in bad.stderr
    ids = sorted(podctl.json("pod", "inspect", "fresh", "loose")[i]["Id"] for i in (0, 1))
    assert sorted(podctl.ok("pod", "prune", "-f").split()) == ids
    assert_nothing_left(podctl)


def test_killed_podctl_leaves_nothing(podctl: Podctl, registry: str) -> None:
    podctl.ok("pull", BUSYBOX)
    for i, delay in enumerate((0.05, 0.12, 0.2, 0.3)):
        port = free_port()
        argv = podctl.user.argv(podctl.argv("run", "-d", "--pod", f"new:k{i}", "-p", f"{port}:80", *HTTPD))
        proc = subprocess.Popen(argv, env=podctl.user.env(podctl.env), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd="/")  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        argv = podctl.user.argv(podctl.argv("run", "-d", "--name", f"s{i}", "-p", f"{free_port()}:80", *HTTPD))
        proc = subprocess.Popen(argv, env=podctl.user.env(podctl.env), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd="/")  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    podctl.ok("pod", "rm", "-a", "-f")
    podctl.ok("rm", "-a", "-f")
    assert_nothing_left(podctl)


def test_default_pasta_and_containers_conf_slirp4netns(podctl: Podctl, registry: str) -> None:
    """The default rootless network is pasta, as in podman 5: pods made without --network, by
    `pod create` or `kube play`, get pasta as their one network helper, in slirp4netns's layout,
    and serve their published ports. containers.conf [network] default_rootless_network_cmd =
    "slirp4netns" (podman >= 4.7's key) brings slirp4netns back; --network still wins; a bad
    value is an error naming the file and the key, and creates nothing."""
    from kube_helpers import httpd_pod

    assert podctl.ok("info", "--format", "{{.Host.RootlessNetworkCmd}}").strip() == "pasta"
    p1, p2 = free_port(), free_port()
    podctl.ok("pod", "create", "--name", "pp", "-p", f"127.0.0.1:{p1}:80")
    member = podctl.ok("run", "-d", "--pod", "pp", *HTTPD).strip()
    assert "hello" in http_get(p1)
    # A member's NetworkSettings are its pod's: the infra's ports and namespace.
    ns = podctl.json("inspect", member)[0]["NetworkSettings"]
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(p1)}]}, ns
    assert ns["SandboxKey"].startswith(str(podctl.runroot / "netns")), ns
    net_helpers = [c for c in helpers_of(podctl) if "conmon" not in c]
    assert len(net_helpers) == 1 and "pasta" in net_helpers[0], net_helpers
    inside = podctl.ok("run", "--rm", "--pod", "pp", BUSYBOX, "sh", "-c",
                       "ip -4 addr show tap0; ip route; cat /etc/resolv.conf")  # fmt: skip
    assert "inet 10.0.2.100/24" in inside and "default via 10.0.2.2" in inside, inside
    assert "nameserver 10.0.2.3" in inside, inside
    podctl.ok("kube", "play", httpd_pod(podctl, "kp", p2))
    assert "hello" in http_get(p2)
    net_helpers = [c for c in helpers_of(podctl) if "conmon" not in c]
    assert len(net_helpers) == 2 and all("pasta" in c for c in net_helpers), net_helpers
    podctl.ok("kube", "down", httpd_pod(podctl, "kp", p2))
    podctl.ok("pod", "rm", "-f", "pp")
    assert_nothing_left(podctl)

    conf = podctl.root / "containers.conf"  # removed with the storage root
    conf.write_text('[network]\ndefault_rootless_network_cmd = "slirp4netns"\n')
    conf.chmod(0o644)
    env = {"CONTAINERS_CONF": str(conf)}
    assert podctl.ok("info", "--format", "{{.Host.RootlessNetworkCmd}}", env=env).strip() == "slirp4netns"
    podctl.ok("pod", "create", "--name", "ps", "-p", f"127.0.0.1:{p1}:80", env=env)
    podctl.ok("run", "-d", "--pod", "ps", *HTTPD, env=env)
    assert "hello" in http_get(p1)
    net_helpers = [c for c in helpers_of(podctl) if "conmon" not in c]
    assert len(net_helpers) == 2, net_helpers
    assert {"slirp4netns", "portfwd"} == {w for c in net_helpers for w in ("slirp4netns", "portfwd") if w in c}
    podctl.ok("pod", "rm", "-f", "ps", env=env)
    # --network on the command line wins over the file.
    podctl.ok("pod", "create", "--name", "pq", "--network", "pasta", "-p", f"127.0.0.1:{p1}:80", env=env)
    podctl.ok("run", "-d", "--pod", "pq", *HTTPD, env=env)
    assert "hello" in http_get(p1)
    net_helpers = [c for c in helpers_of(podctl) if "conmon" not in c]
    assert len(net_helpers) == 1 and "pasta" in net_helpers[0], net_helpers
    podctl.ok("pod", "rm", "-f", "pq", env=env)
    assert_nothing_left(podctl)
    conf.write_text('[network]\ndefault_rootless_network_cmd = "slirp"\n')
    bad = podctl.run("pod", "create", "--name", "bad", env=env)
    assert bad.returncode == 125
    assert f"{conf}: [network] default_rootless_network_cmd = 'slirp': must be" in bad.stderr
    bad = podctl.run("run", "--rm", BUSYBOX, "true", env=env)
    assert bad.returncode == 125 and "default_rootless_network_cmd" in bad.stderr
    assert_nothing_left(podctl)


def test_pasta_that_cannot_start_is_a_clear_error(podctl: Podctl, registry: str) -> None:
    """pasta failing (here: an option it does not know) is an error carrying pasta's own message;
    no pasta, forwarder or conmon is left running, and `run --rm` leaves no container."""
    bad = podctl.run("run", "--rm", "--network", "pasta:--no-such-option", "-p", f"127.0.0.1:{free_port()}:80",
                     BUSYBOX, "true")  # fmt: skip
    assert bad.returncode == 125
    assert "pasta does not work here" in bad.stderr and "unrecognized option '--no-such-option'" in bad.stderr
    assert podctl.ok("ps", "-a", "-q").split() == []
    assert helpers_of(podctl) == []
    podctl.ok("pod", "create", "--name", "bp", "--network", "pasta:--no-such-option")
    bad = podctl.run("pod", "start", "bp")
    assert bad.returncode == 125 and "unrecognized option '--no-such-option'" in bad.stderr, bad.stderr
    deadline = time.monotonic() + 5
    while helpers_of(podctl) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helpers_of(podctl) == []
    podctl.ok("pod", "rm", "-f", "bp")
    assert_nothing_left(podctl)
