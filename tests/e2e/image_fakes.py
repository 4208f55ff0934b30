"""A fault-injecting HTTP proxy in front of the real registry, a token issuer, and throwaway
docker-registry instances (htpasswd Basic auth, token auth) for the image tests."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import REGISTRY


@dataclass
class Fault:
    """Applied to requests whose "METHOD path" matches PATTERN, COUNT times (-1: always)."""

    pattern: str
    action: str  # status | corrupt | truncate | drop | stall | body
    count: int = -1
    status: int = 500
    body: bytes = b""
    content_type: str = ""
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str = REGISTRY
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)  # Range headers received
    streaming: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                proxy.handle(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _fault(self, key: str) -> Fault | None:
        for f in self.faults:
            if re.search(f.pattern, key) and (f.count < 0 or f.hits < f.count):
                f.hits += 1
                return f
        return None

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        key = f"{h.command} {h.path}"
        self.log.append(key)
        if h.headers.get("Range"):
            self.ranges.append(h.headers["Range"])
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        fault = self._fault(key)
        if fault is not None and fault.action == "status":
            _reply(h, fault.status, b'{"errors":[{"code":"UNKNOWN","message":"injected"}]}')
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn.request(h.command, h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        out_headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection")]  # fmt: skip
        if resp.status in (301, 302, 303, 307, 308):
            out_headers = [(k, v.replace(f"http://{self.upstream}", f"http://{self.address}"))
                           for k, v in out_headers]  # fmt: skip
        if fault is None:
            _reply(h, resp.status, data, out_headers, head=h.command == "HEAD")
            return
        if fault.action == "corrupt":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
            _reply(h, resp.status, data, out_headers)
        elif fault.action == "truncate":
            _reply(h, resp.status, data[: len(data) // 2], out_headers)
        elif fault.action == "body":
            hdrs = [(k, v) for k, v in out_headers if k.lower() not in ("content-type", "docker-content-digest")]
            hdrs.append(("Content-Type", fault.content_type or "application/json"))
            _reply(h, resp.status, fault.body, hdrs)
        elif fault.action in ("drop", "stall"):
            h.send_response(resp.status)
            for k, v in out_headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            self.streaming.set()
            if fault.action == "stall":
                time.sleep(30)
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _reply(h: BaseHTTPRequestHandler, status: int, data: bytes,
           headers: list[tuple[str, str]] | None = None, head: bool = False) -> None:  # fmt: skip
    h.send_response(status)
    for k, v in headers or []:
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    if not head:
        h.wfile.write(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalRegistry:
    """A throwaway docker-registry on a loopback port, with optional auth."""

    workdir: Path
    auth: dict[str, Any] | None = None
    tls: dict[str, str] | None = None  # {"certificate": PATH, "key": PATH}
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalRegistry:
        binary = shutil.which("docker-registry")
        if not binary:
            raise AssertionError("docker-registry is not installed: apt-get install docker-registry")
        self.port = free_port()
        conf: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error"},
            "storage": {"filesystem": {"rootdirectory": str(self.workdir / "data")},
                        "delete": {"enabled": True}},  # fmt: skip
            "http": {"addr": self.address},
        }
        if self.auth:
            conf["auth"] = self.auth
        if self.tls:
            conf["http"]["tls"] = self.tls
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(conf))  # JSON is YAML
        self.proc = subprocess.Popen([binary, "serve", str(path)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"docker-registry failed: {self.proc.stderr.read()!r}") from None  # type: ignore[union-attr]
                time.sleep(0.05)
        raise AssertionError("docker-registry did not start in 10s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def htpasswd(workdir: Path, user: str, password: str) -> Path:
    binary = shutil.which("htpasswd")
    if not binary:
        raise AssertionError("htpasswd is not installed: apt-get install apache2-utils")
    out = subprocess.run([binary, "-Bbn", user, password], capture_output=True, text=True, check=True)
    path = workdir / "htpasswd"
    path.write_text(out.stdout)
    return path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenIssuer:
    """A Docker token server: checks Basic credentials, signs RS256 JWTs with an x5c chain."""

    workdir: Path
    user: str
    password: str
    service: str = "podctl-test"
    issuer: str = "podctl-test-issuer"
    server: ThreadingHTTPServer | None = None
    requests: list[str] = field(default_factory=list)

    def start(self) -> TokenIssuer:
        openssl = shutil.which("openssl")
        if not openssl:
            raise AssertionError("openssl is not installed: apt-get install openssl")
        self.key = self.workdir / "token.key"
        self.cert = self.workdir / "token.crt"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=podctl-token", "-keyout", str(self.key), "-out", str(self.cert)],
                       capture_output=True, check=True)  # fmt: skip
        der = subprocess.run([openssl, "x509", "-in", str(self.cert), "-outform", "DER"],
                             capture_output=True, check=True).stdout  # fmt: skip
        self.x5c = base64.b64encode(der).decode()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                issuer.requests.append(self.path)
                status, data = issuer.token_reply(self.path, self.headers.get("Authorization", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def realm(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def registry_auth(self) -> dict[str, Any]:
        return {"token": {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                          "rootcertbundle": str(self.cert)}}  # fmt: skip

    def token_reply(self, path: str, authorization: str) -> tuple[int, bytes]:
        import urllib.parse

        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if authorization != expected:
            return 401, b'{"details":"invalid credentials"}'
        access = []
        for scope in q.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.user, "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
                  "access": access}  # fmt: skip
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                             input=signing_input.encode(), capture_output=True, check=True).stdout  # fmt: skip
        token = f"{signing_input}.{_b64(sig)}"
        return 200, json.dumps({"token": token, "expires_in": 300}).encode()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def self_signed(workdir: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for IP (subjectAltName) and its key."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise AssertionError("openssl is not installed: apt-get install openssl")
    cert, key = workdir / "server.crt", workdir / "server.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={ip}", "-addext", f"subjectAltName=IP:{ip}",
                    "-keyout", str(key), "-out", str(cert)], capture_output=True, check=True)  # fmt: skip
    return cert, key
