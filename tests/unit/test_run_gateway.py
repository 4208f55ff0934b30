import pytest

from podctl import run as gateway
from podctl.errors import RuntimeFailed


def test_failure_names_argv_and_stderr() -> None:
    with pytest.raises(RuntimeFailed) as e:
        gateway.run(["sh", "-c", "echo boom >&2; exit 4", "x y"])
    assert "exited with status 4" in e.value.message
    assert "'x y'" in e.value.message and "boom" in e.value.message


def test_missing_program_names_it() -> None:
    for call in (gateway.run, gateway.spawn):
        with pytest.raises(RuntimeFailed, match="no-such-prog-xyz: command not found"):
            call(["no-such-prog-xyz", "--flag"])


def test_timeout() -> None:
    with pytest.raises(RuntimeFailed, match="timed out after 0.2s: sleep 5"):
        gateway.run(["sleep", "5"], timeout=0.2)


def test_notify_socket_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/x")
    out = gateway.run(["sh", "-c", "echo ${NOTIFY_SOCKET:-unset}"]).stdout
    assert out.strip() == "unset"


def test_notify_socket_not_passed_in_explicit_env() -> None:
    out = gateway.run(["sh", "-c", "echo ${NOTIFY_SOCKET:-unset} $X"],
                      env={"NOTIFY_SOCKET": "/run/x", "X": "kept", "PATH": "/usr/bin:/bin"}).stdout  # fmt: skip
    assert out.split() == ["unset", "kept"]
