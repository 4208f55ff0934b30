"""The slirp4netns API client and the forwarding error path, against a fake API socket."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podctl import net
from podctl.errors import RuntimeFailed
from podctl.net import api, slirp


class FakeApi:
    """A unix socket answering each slirp4netns API request with the next canned answer."""

    def __init__(self, path: Path, answers: list[dict[str, Any]]) -> None:
        self.path = path
        self.answers = answers
        self.requests: list[dict[str, Any]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answer in self.answers:
            conn, _ = self.sock.accept()
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                self.requests.append(json.loads(data))
                conn.sendall(json.dumps(answer).encode())


@pytest.fixture
def sock_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "api.sock"


def test_add_hostfwd_request_and_answer(sock_path: Path) -> None:
    fake = FakeApi(sock_path, [{"return": {"id": 7}}, {"return": {"entries": [{"id": 7}]}}])
    assert slirp.add_hostfwd(sock_path, "udp", "", 5353, 53, "10.0.2.100") == 7
    assert slirp.list_hostfwd(sock_path) == [{"id": 7}]
    assert fake.requests[0] == {
        "execute": "add_hostfwd",
        "arguments": {"proto": "udp", "host_addr": "0.0.0.0", "host_port": 5353, "guest_port": 53,
                      "guest_addr": "10.0.2.100"},
    }  # fmt: skip


def test_api_error_names_the_port(sock_path: Path) -> None:
    FakeApi(sock_path, [{"return": {"id": 1}},
                        {"error": {"desc": "bad request: add_hostfwd: slirp_add_hostfwd failed"}}])  # fmt: skip
    state = net.NetworkState(mode="slirp4netns", helper="slirp4netns", api_socket=str(sock_path), ip="10.0.2.100")
    ports = [*net.parse_publish("127.0.0.1:18001:80"), *net.parse_publish("18002:81/udp")]
    with pytest.raises(net.PortInUse) as e:
        api._forward(state, ports)
    assert "cannot publish port 0.0.0.0:18002/udp: slirp4netns could not bind it" in str(e.value)
    assert "slirp_add_hostfwd failed" in str(e.value)


def test_api_socket_missing_is_runtime_failed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailed, match="slirp4netns API socket .*nope.sock"):
        slirp.request(tmp_path / "nope.sock", "list_hostfwd")


def test_addresses_follow_cidr() -> None:
    a = slirp.Addresses.of("10.5.0.0/24")
    assert (a.ip, a.gateway, a.dns) == ("10.5.0.100", "10.5.0.2", "10.5.0.3")
    assert slirp.Addresses.of(None).ip == "10.0.2.100"


def test_teardown_is_idempotent_and_never_kills_a_recycled_pid(tmp_path: Path) -> None:
    import os

    sock = tmp_path / "x.sock"
    sock.write_text("")
    # our own pid with a wrong start time: must not be signalled
    state = net.NetworkState(mode="slirp4netns", helper="slirp4netns", pid=os.getpid(), start_time=1,
                             api_socket=str(sock))  # fmt: skip
    net.teardown(state)
    net.teardown(state)
    assert not sock.exists()
    assert not net.is_running(state)


def test_slirp_argv_follows_options() -> None:
    opts = net.parse_network("slirp4netns:allow_host_loopback=true,enable_ipv6=false,mtu=1500,cidr=10.5.0.0/24")
    argv = slirp.argv("/ns", opts.slirp, "/s.sock", 5)
    assert "--disable-host-loopback" not in argv and "--enable-ipv6" not in argv
    assert argv[1:] == ["--mtu=1500", "--enable-sandbox", "--enable-seccomp", "--cidr=10.5.0.0/24", "-c",
                        "-r", "5", "--api-socket", "/s.sock", "--netns-type=path", "/ns", "tap0"]  # fmt: skip
    default = slirp.argv("/ns", net.parse_network("slirp4netns").slirp, "/s.sock", 5)
    assert default[1:6] == ["--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp",
                            "--enable-ipv6"]  # fmt: skip


def test_forwarder_bind_names_a_taken_port() -> None:
    from podctl.net import portfwd

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(net.PortInUse, match=f"cannot publish port 127.0.0.1:{port}/tcp: address already in use"):
            portfwd.bind_all(net.parse_publish(f"127.0.0.1:{port}:80"))
    free = portfwd.bind_all(net.parse_publish("127.0.0.1::53/udp"))[0]
    try:
        assert free.type == socket.SOCK_DGRAM and free.getsockname()[1] > 0
    finally:
        free.close()
