"""An OCI distribution (v2) client on http.client: auth, retries, redirects, streaming.

One `RegistryClient` talks to one registry host. Connections are kept per thread, so layers can
be fetched in parallel. Authentication follows the registry's challenge: Bearer tokens are
fetched from the realm and cached per scope; Basic credentials are sent as they are.
Redirects (blob storage behind the registry) drop `Authorization` on another origin.
Requests are retried with backoff on 429, 5xx and dropped connections.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from podctl import __version__
from podctl.errors import RegistryError
from podctl.image.auth import Credentials
from podctl.log import log

MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = (MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST)
MAX_MANIFEST = 4 << 20
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"podctl/{__version__}"
TIMEOUT = 60.0

Body = bytes | Callable[[], IO[bytes]] | None


class Unauthorized(RegistryError):
    pass


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" | "basic"
    params: Mapping[str, str]


def cert_dirs(host: str) -> list[Path]:
    """Where podman looks for a registry's CA (*.crt) and client certificates (*.cert, *.key)."""
    from podctl.config import xdg_config_home

    return [
        xdg_config_home() / "containers" / "certs.d" / host,
        Path("/etc/containers/certs.d") / host,
        Path("/etc/docker/certs.d") / host,
    ]


def parse_challenge(header: str) -> Challenge | None:
    m = re.match(r"\s*(\w+)\s*(.*)", header or "")
    if not m:
        return None
    params = {
        k.lower(): v1 if v1 is not None and v1 != "" or v2 is None else v2
        for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]*))', m.group(2))
    }
    return Challenge(m.group(1).lower(), params)


def registry_error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
        errs = data.get("errors") or []
        msgs = []
        for e in errs:
            code = str(e.get("code", "")).lower().replace("_", " ")
            msg = str(e.get("message", ""))
            msgs.append(f"{code}: {msg}" if code and msg and code != msg else msg or code)
        if msgs:
            return "; ".join(msgs)
    except (ValueError, AttributeError):
        pass
    text = body[:200].decode(errors="replace").strip()
    return text


class RegistryClient:
    def __init__(
        self,
        host: str,
        *,
        tls_verify: bool = True,
        insecure: bool = False,
        creds: Credentials | None = None,
        retries: int = 4,
        backoff: float = 0.25,
        timeout: float = TIMEOUT,
    ) -> None:
        self.host = "registry-1.docker.io" if host == "docker.io" else host
        self.display = host
        self.tls_verify = tls_verify and not insecure
        self.allow_http = insecure or not tls_verify
        self.creds = creds
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.scheme: str | None = None
        self.challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def for_registry(
        cls, host: str, *, insecure: bool, tls_verify: bool | None, creds: Credentials | None
    ) -> RegistryClient:
        """A client for HOST, which registries.conf marks INSECURE or not; TLS_VERIFY is the
        user's --tls-verify (None: as registries.conf says; True overrides `insecure`)."""
        verify = tls_verify if tls_verify is not None else not insecure
        return cls(host, tls_verify=verify, insecure=insecure and tls_verify is not True, creds=creds)

    # -- connections -----------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        for d in cert_dirs(self.display):
            try:
                files = sorted(d.iterdir()) if d.is_dir() else []
            except OSError:
                continue
            for f in files:
                try:
                    if f.suffix == ".crt":
                        ctx.load_verify_locations(cafile=str(f))
                    elif f.suffix == ".cert":
                        ctx.load_cert_chain(str(f), str(f.with_suffix(".key")))
                except (OSError, ssl.SSLError) as e:
                    raise RegistryError(f"{f}: cannot load certificate: {e}") from e
        return ctx

    def _conn(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        conn = pool.get((scheme, netloc))
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=self.timeout, context=self._ssl_context(), blocksize=1 << 20
                )
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout, blocksize=1 << 20)
            pool[(scheme, netloc)] = conn
        return conn

    def _drop(self, scheme: str, netloc: str) -> None:
        pool = self._local.__dict__.get("pool", {})
        conn = pool.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for conn in self._local.__dict__.get("pool", {}).values():
            conn.close()
        self._local.__dict__["pool"] = {}

    def _raw(
        self, method: str, url: str, headers: Mapping[str, str], body: Body
    ) -> http.client.HTTPResponse:
        u = urllib.parse.urlsplit(url)
        path = u.path + (f"?{u.query}" if u.query else "")
        conn = self._conn(u.scheme, u.netloc)
        data: Any = body() if callable(body) else body
        hdrs = {"User-Agent": USER_AGENT, **headers}
        try:
            conn.request(method, path, body=data, headers=hdrs)
            return conn.getresponse()
        except BaseException:
            self._drop(u.scheme, u.netloc)
            raise
        finally:
            if callable(body) and hasattr(data, "close"):
                data.close()

    # -- scheme detection and auth ---------------------------------------------------------------

    def ping(self) -> None:
        """Find the scheme (https, or http when allowed) and the auth challenge, as c/image does."""
        if self.scheme is not None:
            return
        errors = []
        tls_failed = False
        for scheme in ("https", "http") if self.allow_http else ("https",):
            url = f"{scheme}://{self.host}/v2/"
            try:
                resp = self._with_retries(functools.partial(self._raw, "GET", url, {}, None), url)
            except (OSError, http.client.HTTPException) as e:
                tls_failed = tls_failed or isinstance(e, ssl.SSLError)
                errors.append(f"{scheme}: {e}")
                continue
            resp.read()
            if resp.status in (200, 401):
                self.scheme = scheme
                if resp.status == 401:
                    self.challenge = parse_challenge(resp.getheader("WWW-Authenticate", ""))
                return
            errors.append(f"{scheme}: status {resp.status}")
        hint = None
        if not self.allow_http and tls_failed:
            hint = (
                f"if {self.display} is a plain-HTTP registry, use --tls-verify=false or mark it "
                "insecure = true in registries.conf"
            )
        raise RegistryError(f"pinging registry {self.display}: {'; '.join(errors)}", hint=hint)

    def _token(self, scope: str, challenge: Challenge, force: bool = False) -> str:
        key = f"{challenge.params.get('realm')}|{challenge.params.get('service')}|{scope}"
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic() and not force:
                return cached[0]
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError(f"{self.display}: Bearer challenge without a realm")
        query = {}
        if challenge.params.get("service"):
            query["service"] = challenge.params["service"]
        if scope:
            query["scope"] = scope
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {"Authorization": self.creds.basic()} if self.creds else {}
        try:
            resp = self._with_retries(lambda: self._raw("GET", url, headers, None), url)
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise RegistryError(f"{self.display}: getting a token from {realm}: {e}") from e
        if resp.status in (401, 403):
            raise Unauthorized(
                f"{self.display}: authentication required: "
                + ("invalid username/password" if self.creds else "no credentials given"),
                hint=f"run podctl login {self.display}" if not self.creds else None,
            )
        if resp.status != 200:
            raise RegistryError(
                f"{self.display}: token server {realm} answered {resp.status}: "
                f"{registry_error_text(body)}"
            )
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
            expires = float(data.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as e:
            raise RegistryError(f"{self.display}: token server {realm} sent invalid JSON") from e
        if not token:
            raise RegistryError(f"{self.display}: token server {realm} sent no token")
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(expires - 5, 1))
        return str(token)

    def _auth(self, scope: str, force: bool = False) -> dict[str, str]:
        ch = self.challenge
        if ch is None:
            return {}
        if ch.scheme == "bearer":
            return {"Authorization": "Bearer " + self._token(scope, ch, force)}
        if ch.scheme == "basic" and self.creds:
            return {"Authorization": self.creds.basic()}
        return {}

    # -- requests --------------------------------------------------------------------------------

    def _with_retries(
        self, fn: Callable[[], http.client.HTTPResponse], what: str
    ) -> http.client.HTTPResponse:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                resp = fn()
            except ConnectionRefusedError:
                raise  # nothing listens there: retrying only delays the error
            except (TimeoutError, ConnectionError, http.client.RemoteDisconnected,
                    http.client.IncompleteRead, http.client.BadStatusLine) as e:  # fmt: skip
                if last:
                    raise
                log.debug("%s: %s, retrying in %.2fs", what, e, delay)
            else:
                if resp.status not in RETRY_STATUS or last:
                    return resp
                resp.read()
                retry_after = resp.getheader("Retry-After")
                if retry_after and retry_after.isdigit():
                    delay = min(float(retry_after), 10.0)
                log.debug("%s: status %s, retrying in %.2fs", what, resp.status, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str = "",
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        what: str = "",
    ) -> http.client.HTTPResponse:
        """Send a request, following redirects and auth challenges; the caller reads the body."""
        self.ping()
        what = what or f"{method} {path}"
        url = path if "://" in path else f"{self.scheme}://{self.host}{path}"
        origin = urllib.parse.urlsplit(url)[:2]
        base_headers = dict(headers or {})
        reauthed = False
        for _hop in range(10):
            same_origin = urllib.parse.urlsplit(url)[:2] == origin
            hdrs = dict(base_headers)
            if same_origin:
                hdrs.update(self._auth(scope, force=reauthed))
            try:
                resp = self._with_retries(functools.partial(self._raw, method, url, hdrs, body), what)
            except (OSError, http.client.HTTPException) as e:
                raise RegistryError(f"{self._where(what)}: {e or type(e).__name__}") from e
            if resp.status == 401 and same_origin and not reauthed:
                resp.read()
                ch = parse_challenge(resp.getheader("WWW-Authenticate", ""))
                if ch is None or (ch.scheme == "basic" and not self.creds):
                    raise Unauthorized(
                        f"{what}: {self.display}: authentication required",
                        hint=f"run podctl login {self.display}",
                    )
                self.challenge = ch
                if ch.scheme == "bearer" and ch.params.get("scope"):
                    scope = ch.params["scope"]
                reauthed = True
                continue
            if resp.status == 401:
                resp.read()
                raise Unauthorized(
                    f"{what}: {self.display}: authentication failed: "
                    + ("invalid username/password" if self.creds else "authentication required"),
                    hint=None if self.creds else f"run podctl login {self.display}",
                )
            if resp.status in (301, 302, 303, 307, 308):
                resp.read()
                loc = resp.getheader("Location")
                if not loc:
                    raise RegistryError(f"{what}: redirect without a Location")
                url = urllib.parse.urljoin(url, loc)
                if resp.status == 303:
                    method, body = "GET", None
                continue
            return resp
        raise RegistryError(f"{what}: too many redirects")

    def check(self, resp: http.client.HTTPResponse, what: str, ok: tuple[int, ...] = (200,)) -> None:
        if resp.status in ok:
            return
        body = resp.read()
        detail = registry_error_text(body) or resp.reason
        raise RegistryError(f"{self._where(what)}: {detail} (HTTP {resp.status})")

    def _where(self, what: str) -> str:
        return what if self.display in what else f"{what}: {self.display}"

    # -- the API ---------------------------------------------------------------------------------

    def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        """The raw manifest bytes and its media type."""
        what = f"reading manifest {ref} in {self.display}/{repo}"
        resp = self.request(
            "GET",
            f"/v2/{repo}/manifests/{ref}",
            scope=f"repository:{repo}:pull",
            headers={"Accept": ", ".join(MANIFEST_ACCEPT)},
            what=what,
        )
        self.check(resp, what)
        length = resp.getheader("Content-Length")
        if length and length.isdigit() and int(length) > MAX_MANIFEST:
            resp.close()
            raise RegistryError(f"{what}: manifest larger than {MAX_MANIFEST} bytes")
        try:
            body = resp.read(MAX_MANIFEST + 1)
        except (OSError, http.client.HTTPException) as e:
            self._drop(self.scheme or "https", self.host)
            raise RegistryError(f"{what}: {e}") from e
        if len(body) > MAX_MANIFEST:
            raise RegistryError(f"{what}: manifest larger than {MAX_MANIFEST} bytes")
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        return body, ctype

    def list_tags(self, repo: str) -> list[str]:
        """Every tag of REPO, following the `Link` pagination header."""
        what = f"listing tags of {self.display}/{repo}"
        path: str | None = f"/v2/{repo}/tags/list?n=1000"
        tags: list[str] = []
        while path:
            resp = self.request("GET", path, scope=f"repository:{repo}:pull", what=what)
            self.check(resp, what)
            try:
                data = json.loads(resp.read(MAX_MANIFEST))
                tags += [str(t) for t in data.get("tags") or []]
            except (ValueError, AttributeError) as e:
                raise RegistryError(f"{what}: invalid JSON") from e
            m = re.search(r"<([^>]+)>", resp.getheader("Link") or "")
            path = m.group(1) if m else None
        return tags

    @contextmanager
    def open_blob(self, repo: str, digest: str) -> Iterator[http.client.HTTPResponse]:
        what = f"fetching blob {digest} from {self.display}/{repo}"
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull",
                            what=what)  # fmt: skip
        self.check(resp, what)
        try:
            yield resp
        finally:
            if not resp.isclosed():
                # A half-read body makes the connection unusable: drop it.
                resp.close()
                for key in list(self._local.__dict__.get("pool", {})):
                    self._drop(*key)

    def resume_blob(self, repo: str, digest: str, offset: int) -> http.client.HTTPResponse:
        """The blob from byte OFFSET on (a Range request), after a connection broke."""
        what = f"resuming blob {digest} from {self.display}/{repo} at byte {offset}"
        self.close()  # the broken connection cannot carry another request
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull",
                            headers={"Range": f"bytes={offset}-"}, what=what)  # fmt: skip
        if resp.status == 206:
            m = re.match(r"bytes (\d+)-", resp.getheader("Content-Range") or "")
            if not m or int(m.group(1)) != offset:
                resp.close()
                raise RegistryError(f"{what}: the registry sent the wrong range")
            return resp
        self.check(resp, what)
        skip = offset  # the registry ignored Range: skip what we already have
        while skip > 0:
            chunk = resp.read(min(skip, 1 << 20))
            if not chunk:
                raise RegistryError(f"{what}: the blob ended early")
            skip -= len(chunk)
        return resp

    def blob_exists(self, repo: str, digest: str) -> bool:
        what = f"checking blob {digest} in {self.display}/{repo}"
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}",
                            scope=f"repository:{repo}:pull,push", what=what)  # fmt: skip
        resp.read()
        if resp.status == 200:
            return True
        if resp.status == 404:
            return False
        self.check(resp, what)
        return False

    def push_blob(self, repo: str, digest: str, size: int, opener: Callable[[], IO[bytes]]) -> None:
        what = f"uploading blob {digest} to {self.display}/{repo}"
        scope = f"repository:{repo}:pull,push"
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope,
                            headers={"Content-Length": "0"}, body=b"", what=what)  # fmt: skip
        self.check(resp, what, (202,))
        resp.read()
        loc = resp.getheader("Location")
        if not loc:
            raise RegistryError(f"{what}: the registry sent no upload location")
        url = urllib.parse.urljoin(f"{self.scheme}://{self.host}/v2/{repo}/blobs/uploads/", loc)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        resp = self.request(
            "PUT", url, scope=scope, body=opener, what=what,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )  # fmt: skip
        self.check(resp, what, (201, 204))
        resp.read()

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        what = f"writing manifest {ref} to {self.display}/{repo}"
        resp = self.request(
            "PUT", f"/v2/{repo}/manifests/{ref}", scope=f"repository:{repo}:pull,push",
            headers={"Content-Type": media_type, "Content-Length": str(len(data))}, body=data,
            what=what,
        )  # fmt: skip
        self.check(resp, what, (200, 201, 202))
        resp.read()
        return resp.getheader("Docker-Content-Digest") or ""

    def login_check(self) -> None:
        """Verify the credentials against /v2/ (podman login does the same)."""
        self.ping()
        if self.challenge is None:
            return
        what = f"logging in to {self.display}"
        if self.challenge.scheme == "bearer":
            self._token("", self.challenge, force=True)
            return
        resp = self.request("GET", "/v2/", what=what)
        resp.read()
        if resp.status != 200:
            self.check(resp, what)
