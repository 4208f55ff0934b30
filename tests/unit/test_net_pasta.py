"""pasta's command line: slirp4netns's layout unless the user's options set their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.net import pasta
from podctl.spec import PortMapping


@pytest.fixture(autouse=True)
def _binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pasta, "binary", lambda: "/usr/bin/pasta")


def _after(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == flag]


def test_default_layout_is_slirp4netns_s() -> None:
    cmd = pasta.argv("/run/ns", (), [PortMapping(80, 8080, "tcp", "127.0.0.1", 1)], 7)
    assert cmd[:3] == ["/usr/bin/pasta", "-f", "--config-net"]
    assert _after(cmd, "-I") == ["tap0"] and _after(cmd, "-a") == ["10.0.2.100"]
    assert _after(cmd, "-n") == ["24"] and _after(cmd, "-g") == ["10.0.2.2"]
    assert _after(cmd, "--dns-forward") == ["10.0.2.3"] and _after(cmd, "-m") == ["65520"]
    assert _after(cmd, "-t") == ["127.0.0.1/8080:80"]
    assert _after(cmd, "-u") == _after(cmd, "-T") == _after(cmd, "-U") == ["none"]
    assert "--no-map-gw" in cmd
    assert cmd[cmd.index("--netns") + 1] == "/run/ns" and cmd[-1] == "/proc/self/fd/7"
    assert pasta.dns_servers(()) is None
    layout = pasta.layout(())
    assert layout is not None and (layout.ip, layout.gateway, layout.dns) == ("10.0.2.100", "10.0.2.2", "10.0.2.3")


def test_user_layout_and_dns_win() -> None:
    cmd = pasta.argv("/run/ns", ("-a", "192.0.2.9", "--dns-forward=192.0.2.53", "-m", "1500"), [], 3)
    assert "-I" not in cmd and _after(cmd, "-a") == ["192.0.2.9"] and "-g" not in cmd
    assert "--dns-forward" not in cmd and "--dns-forward=192.0.2.53" in cmd
    assert _after(cmd, "-m") == ["1500"]
    assert pasta.layout(("--address", "192.0.2.9")) is None
    assert pasta.layout(("-4",)) is not None
    assert pasta.dns_servers(("-D", "192.0.2.1", "--dns-forward=192.0.2.2")) == ("192.0.2.1", "192.0.2.2")
    # The user's own port specs replace podctl's "none".
    cmd = pasta.argv("/run/ns", ("--udp-ports=53",), [], 3)
    assert "--udp-ports=53" in cmd and _after(cmd, "-u") == [] and _after(cmd, "-t") == ["none"]
    # allow_host_loopback: the gateway maps to the host, as slirp4netns's option.
    assert "--no-map-gw" not in pasta.argv("/run/ns", (), [], 3, allow_host_loopback=True)


def test_bad_option_message_is_getopt_s(tmp_path: Path) -> None:
    log = tmp_path / "pasta.log"
    log.write_text("Failed to send 51 bytes to syslog\n/usr/bin/pasta: unrecognized option '--x'\n"
                   "Usage: pasta [OPTION]... [COMMAND] [ARGS]...\n  -d, --debug\t\tBe verbose\n")  # fmt: skip
    assert pasta._tail(log) == "/usr/bin/pasta: unrecognized option '--x'"
    log.write_text("Failed to bind any port for '-t 127.0.0.1/8080:80', exiting\n")
    assert pasta._tail(log) == "Failed to bind any port for '-t 127.0.0.1/8080:80', exiting"
