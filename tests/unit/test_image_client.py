"""The registry client against small in-process HTTP servers: auth, redirects, retries; auth.json."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podctl.errors import InvalidConfig, RegistryError
from podctl.image import auth
from podctl.image.client import RegistryClient, parse_challenge

Handler = Callable[[BaseHTTPRequestHandler], None]


class Server:
    def __init__(self, handle: Handler) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append((self.command, self.path, self.headers.get("Authorization")))
                handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k.replace("_", "-"), v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for s in made:
        s.close()


CREDS = auth.Credentials("u", "p")


def test_basic_auth_and_cross_origin_redirect_drops_authorization(servers: list[Server]) -> None:
    storage = Server(lambda h: reply(h, 200, b"blobdata"))
    servers.append(storage)

    def registry(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("Authorization") != CREDS.basic():
            reply(h, 401, WWW_Authenticate='Basic realm="r"')
        elif "/blobs/" in h.path:
            reply(h, 307, Location=f"http://{storage.addr}/data?sig=1")
        else:
            reply(h, 200, b"{}")

    reg = Server(registry)
    servers.append(reg)
    client = RegistryClient(reg.addr, insecure=True, creds=CREDS)
    with client.open_blob("repo", "sha256:" + "a" * 64) as resp:
        assert resp.read() == b"blobdata"
    assert storage.requests == [("GET", "/data?sig=1", None)]
    assert reg.requests[-1][2] == CREDS.basic()


def test_retries_on_429_and_5xx_then_gives_up(servers: list[Server]) -> None:
    calls = {"n": 0}

    def flaky(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/v2/":
            reply(h, 200)
            return
        calls["n"] += 1
        if calls["n"] == 1:
            reply(h, 429, Retry_After="0")
        elif calls["n"] == 2:
            reply(h, 502)
        else:
            reply(h, 200, b'{"schemaVersion":2}', Content_Type="application/vnd.oci.image.manifest.v1+json")

    s = Server(flaky)
    servers.append(s)
    client = RegistryClient(s.addr, insecure=True, backoff=0.01)
    body, ctype = client.get_manifest("repo", "latest")
    assert body == b'{"schemaVersion":2}' and ctype.endswith("manifest.v1+json")
    always = Server(lambda h: reply(h, 200) if h.path == "/v2/" else reply(h, 503, b'{"errors":[{"code":"UNAVAILABLE","message":"down"}]}'))
    servers.append(always)
    with pytest.raises(RegistryError, match=r"down \(HTTP 503\)"):
        RegistryClient(always.addr, insecure=True, backoff=0.01, retries=2).get_manifest("repo", "latest")


def test_bearer_tokens_cached_per_scope(servers: list[Server]) -> None:
    issued: list[str] = []

    def tokens(h: BaseHTTPRequestHandler) -> None:
        issued.append(h.path)
        if h.headers.get("Authorization") != CREDS.basic():
            reply(h, 401)
            return
        reply(h, 200, json.dumps({"token": f"T{len(issued)}"}).encode())

    tok = Server(tokens)
    servers.append(tok)

    def registry(h: BaseHTTPRequestHandler) -> None:
        if not (h.headers.get("Authorization") or "").startswith("Bearer T"):
            scope = h.path.split("/")[2]
            reply(h, 401, WWW_Authenticate=f'Bearer realm="http://{tok.addr}/token",service="svc",scope="repository:{scope}:pull"')
        else:
            reply(h, 200, b'{"schemaVersion":2}', Content_Type="application/vnd.oci.image.manifest.v1+json")

    reg = Server(registry)
    servers.append(reg)
    client = RegistryClient(reg.addr, insecure=True, creds=CREDS)
    for _ in range(3):
        client.get_manifest("a", "latest")
    client.get_manifest("b", "latest")
    assert len(issued) == 2
    assert "scope=repository%3Aa%3Apull" in issued[0] and "service=svc" in issued[0]
    bad = RegistryClient(reg.addr, insecure=True, creds=auth.Credentials("u", "wrong"))
    with pytest.raises(RegistryError, match="invalid username/password"):
        bad.get_manifest("a", "latest")


def test_parse_challenge() -> None:
    ch = parse_challenge('Bearer realm="https://auth.io/token",service="registry.io",scope="repository:x:pull,push"')
    assert ch is not None and ch.scheme == "bearer"
    assert ch.params == {"realm": "https://auth.io/token", "service": "registry.io", "scope": "repository:x:pull,push"}


def test_authfile_lookup_store_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    path = auth.store("quay.io", auth.Credentials("a", "1"))
    assert path == tmp_path / "run" / "containers" / "auth.json"
    auth.store("quay.io/team", auth.Credentials("b", "2"))
    assert auth.lookup("quay.io/team/app") == auth.Credentials("b", "2")  # most specific first
    assert auth.lookup("quay.io/other/app") == auth.Credentials("a", "1")
    assert auth.lookup("docker.io/library/x") is None
    docker = tmp_path / "home" / ".docker"
    docker.mkdir(parents=True)
    token = base64.b64encode(b"d:3").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": token}}}))
    assert auth.lookup("docker.io/library/x") == auth.Credentials("d", "3")
    assert auth.remove("quay.io/team") and not auth.remove("nothere.io")
    assert auth.lookup("quay.io/team/app") == auth.Credentials("a", "1")
    (docker / "config.json").write_text("{broken")
    with pytest.raises(InvalidConfig, match="config.json"):
        auth.lookup("docker.io/library/x")
    assert auth.parse_creds("u:p:with:colons") == auth.Credentials("u", "p:with:colons")


def test_docker_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-fake"
    helper.write_text('#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = quay.io ] && '
                      'echo \'{"ServerURL":"quay.io","Username":"hu","Secret":"hs"}\' && exit 0\n'
                      'echo "credentials not found in native keychain"; exit 1\n')  # fmt: skip
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    docker = tmp_path / "home" / ".docker"
    docker.mkdir(parents=True)
    (docker / "config.json").write_text(json.dumps({"credHelpers": {"quay.io": "fake"}}))
    assert auth.lookup("quay.io/x/y") == auth.Credentials("hu", "hs")
    assert auth.lookup("ghcr.io/x") is None
    (docker / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    assert auth.lookup("quay.io/x") == auth.Credentials("hu", "hs")
    assert auth.lookup("docker.io/library/x") is None  # the helper has nothing for it


@pytest.mark.parametrize("honours_range", [True, False])
def test_resume_blob(servers: list[Server], honours_range: bool) -> None:
    body = bytes(range(256)) * 100

    def handle(h: BaseHTTPRequestHandler) -> None:
        rng = h.headers.get("Range")
        if h.path == "/v2/":
            reply(h, 200)
        elif rng and honours_range:
            start = int(rng.split("=")[1].rstrip("-"))
            reply(h, 206, body[start:], Content_Range=f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            reply(h, 200, body)

    s = Server(handle)
    servers.append(s)
    client = RegistryClient(s.addr, insecure=True)
    resp = client.resume_blob("repo", "sha256:" + "a" * 64, 1000)
    assert resp.read() == body[1000:]
