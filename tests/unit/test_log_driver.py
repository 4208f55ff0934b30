"""--log-driver: unknown values are refused naming the flag; journald without a journal socket
falls back to k8s-file with a warning (as podman does where journald is unavailable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.engine import containers
from podctl.errors import InvalidSpec
from podctl.spec import ContainerSpec


def test_unknown_driver_names_the_flag() -> None:
    with pytest.raises(InvalidSpec, match="--log-driver 'syslog': must be one of k8s-file"):
        containers._log_driver(ContainerSpec(image="busybox", log_driver="syslog"))


def test_journald_without_journal_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(containers, "JOURNAL_SOCKET", str(tmp_path / "missing"))
    spec = containers._log_driver(ContainerSpec(image="busybox", log_driver="journald"))
    assert spec.log_driver == "k8s-file"
    assert "no journald on this host" in capsys.readouterr().err


def test_journald_kept_where_the_journal_listens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "socket"
    sock.touch()
    monkeypatch.setattr(containers, "JOURNAL_SOCKET", str(sock))
    assert containers._log_driver(ContainerSpec(image="busybox", log_driver="journald")).log_driver == "journald"
    for d in ("k8s-file", "none", "passthrough"):
        assert containers._log_driver(ContainerSpec(image="busybox", log_driver=d)).log_driver == d
