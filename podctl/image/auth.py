"""Registry credentials in podman's auth.json, with docker's config.json as a fallback.

Write: `--authfile`, else `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`.
Read: the same file first, then `$XDG_CONFIG_HOME/containers/auth.json` and
`~/.docker/config.json`. Keys are a registry (`quay.io`) or a repository prefix
(`quay.io/team`); the most specific key wins.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podctl.config import home, xdg_config_home, xdg_runtime_dir
from podctl.errors import InvalidConfig, InvalidSpec, PodctlError


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def default_authfile() -> Path:
    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return Path(env)
    return xdg_runtime_dir() / "containers" / "auth.json"


def read_files(authfile: str | None) -> list[Path]:
    if authfile:
        return [Path(authfile)]
    return [
        default_authfile(),
        xdg_config_home() / "containers" / "auth.json",
        home() / ".docker" / "config.json",
    ]


def parse_creds(text: str) -> Credentials:
    """`--creds USER[:PASS]`."""
    if not text:
        raise InvalidSpec("--creds: credentials must not be empty")
    user, sep, password = text.partition(":")
    if not user:
        raise InvalidSpec("--creds: the username must not be empty")
    if not sep:
        import getpass

        password = getpass.getpass("Password: ")
    return Credentials(user, password)


def _normalize_key(key: str) -> str:
    key = key.removeprefix("https://").removeprefix("http://").rstrip("/")
    if key.endswith("/v1") or key.endswith("/v2"):
        key = key[:-3]
    host, sep, rest = key.partition("/")
    if host in ("index.docker.io", "registry-1.docker.io"):
        host = "docker.io"
    return host + sep + rest


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidConfig(f"{path}: cannot read: {e.strerror}") from e
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InvalidConfig(f"{path}: invalid JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidConfig(f"{path}: must hold a JSON object")
    return data


def _decode(entry: Any, path: Path, key: str) -> Credentials | None:
    if not isinstance(entry, dict) or not entry.get("auth"):
        return None
    try:
        raw = base64.b64decode(entry["auth"]).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidConfig(f"{path}: entry {key!r} has an invalid auth value") from e
    user, sep, password = raw.partition(":")
    if not sep:
        raise InvalidConfig(f"{path}: entry {key!r} has an invalid auth value")
    return Credentials(user, password)


def lookup(name: str, authfile: str | None = None) -> Credentials | None:
    """Credentials for repository NAME (`registry/path`), most specific key first."""
    candidates = []
    parts = name.split("/")
    for i in range(len(parts), 0, -1):
        candidates.append("/".join(parts[:i]))
    for path in read_files(authfile):
        data = _load(path)
        helped = _from_helper(data, parts[0], path)
        if helped is not None:
            return helped
        auths = data.get("auths", {})
        if not isinstance(auths, dict):
            raise InvalidConfig(f"{path}: \"auths\" must be an object")
        normalized = {_normalize_key(k): (k, v) for k, v in auths.items()}
        for cand in candidates:
            if cand in normalized:
                key, entry = normalized[cand]
                creds = _decode(entry, path, key)
                if creds:
                    return creds
    return None


def _from_helper(data: dict[str, Any], host: str, path: Path) -> Credentials | None:
    """docker's `credHelpers` / `credsStore`: ask `docker-credential-NAME get`."""
    helpers = data.get("credHelpers") or {}
    name = None
    if isinstance(helpers, dict):
        for key, value in helpers.items():
            if _normalize_key(key) == host:
                name = value
    name = name or data.get("credsStore")
    if not name or not isinstance(name, str):
        return None
    from podctl import run as gateway
    from podctl.errors import RuntimeFailed
    from podctl.log import warn

    binary = gateway.which(f"docker-credential-{name}")
    if binary is None:
        warn("%s: credential helper docker-credential-%s is not installed", path, name)
        return None
    server = "https://index.docker.io/v1/" if host == "docker.io" else host
    try:
        proc = gateway.run([binary, "get"], input=server, check=False, timeout=30)
    except RuntimeFailed as e:
        warn("%s", e)
        return None
    if proc.returncode != 0:  # "credentials not found in native keychain"
        return None
    try:
        out = json.loads(proc.stdout)
        return Credentials(str(out["Username"]), str(out["Secret"]))
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidConfig(f"docker-credential-{name} get: invalid answer") from e


def store(key: str, creds: Credentials, authfile: str | None = None) -> Path:
    path = Path(authfile) if authfile else default_authfile()
    data = _load(path)
    auths = data.setdefault("auths", {})
    auths[_normalize_key(key)] = {
        "auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    }
    _write(path, data)
    return path


def remove(key: str, authfile: str | None = None) -> bool:
    path = Path(authfile) if authfile else default_authfile()
    data = _load(path)
    auths = data.get("auths", {})
    key = _normalize_key(key)
    found = [k for k in auths if _normalize_key(k) == key]
    for k in found:
        del auths[k]
    if found:
        _write(path, data)
    return bool(found)


def remove_all(authfile: str | None = None) -> None:
    path = Path(authfile) if authfile else default_authfile()
    data = _load(path)
    if data.get("auths"):
        data["auths"] = {}
        _write(path, data)


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent="\t")
            f.write("\n")
        os.replace(tmp, path)
    except OSError as e:
        raise PodctlError(f"{path}: cannot write credentials: {e.strerror}") from e
