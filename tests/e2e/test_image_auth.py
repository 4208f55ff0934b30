"""Registry authentication for real: htpasswd Basic auth and Bearer tokens from a token issuer."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BUSYBOX, Podctl
from image_fakes import LocalRegistry, TokenIssuer, htpasswd
from image_helpers import insecure

pytestmark = pytest.mark.e2e

USER, PASSWORD = "alice", "s3cret-pw"


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    work = tmp_path_factory.mktemp("basic-registry")
    pw = htpasswd(work, USER, PASSWORD)
    reg = LocalRegistry(work, auth={"htpasswd": {"realm": "podctl", "path": str(pw)}}).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalRegistry, TokenIssuer]]:
    work = tmp_path_factory.mktemp("token-registry")
    issuer = TokenIssuer(work, USER, PASSWORD).start()
    reg = LocalRegistry(work, auth=issuer.registry_auth()).start()
    yield reg, issuer
    reg.stop()
    issuer.stop()


def seed(podctl: Podctl, dest: str, *extra: str) -> None:
    """Pull the test busybox and push it to DEST (podctl push, with EXTRA auth flags)."""
    podctl.ok("pull", "-q", BUSYBOX)
    podctl.ok("push", *extra, BUSYBOX, dest)


def authfile(podctl: Podctl) -> Path:
    return podctl.user.runtime_dir / "containers" / "auth.json"


def test_basic_auth_login_push_pull_logout(podctl: Podctl, registry: str,
                                           basic_registry: LocalRegistry) -> None:  # fmt: skip
    reg = basic_registry.address
    insecure(podctl, registry, reg)
    af = str(podctl.root / "auth.json")
    dest = f"{reg}/team/box:v1"
    # Without credentials: a clear error that says how to log in.
    podctl.ok("pull", "-q", BUSYBOX)
    p = podctl.run("push", BUSYBOX, dest)
    assert p.returncode == 125 and "authentication required" in p.stderr, p.stderr
    # Bad credentials are refused by login and nothing is stored.
    p = podctl.run("login", "--authfile", af, "-u", USER, "-p", "wrong", reg)
    assert p.returncode == 125 and "invalid username/password" in p.stderr, p.stderr
    assert not Path(af).exists()
    p = podctl.run("login", "--authfile", af, "-u", USER, "--password-stdin", reg, input=PASSWORD + "\n")
    assert p.returncode == 0 and "Login Succeeded!" in p.stdout, p.stderr
    stored = json.loads(Path(af).read_text())["auths"][reg]["auth"]
    assert base64.b64decode(stored).decode() == f"{USER}:{PASSWORD}"
    assert podctl.ok("login", "--authfile", af, "--get-login", reg).strip() == USER
    podctl.ok("push", "--authfile", af, BUSYBOX, dest)
    podctl.ok("rmi", "-a")
    assert len(podctl.ok("pull", "-q", "--authfile", af, dest).strip()) == 64
    assert podctl.ok("logout", "--authfile", af, reg).strip() == f"Removed login credentials for {reg}"
    p = podctl.run("pull", "-q", "--authfile", af, dest)
    assert p.returncode == 125 and "authentication required" in p.stderr
    # --creds works without any file.
    assert podctl.run("pull", "-q", "--creds", f"{USER}:{PASSWORD}", dest).returncode == 0
    p = podctl.run("pull", "-q", "--creds", f"{USER}:nope", dest)
    assert p.returncode == 125 and "invalid username/password" in p.stderr


def test_default_authfile_and_docker_fallback(podctl: Podctl, registry: str,
                                              basic_registry: LocalRegistry, tmp_path: Path) -> None:  # fmt: skip
    reg = basic_registry.address
    insecure(podctl, registry, reg)
    home = podctl.root / "home"
    podctl.user.mkdir(home)
    runtime = podctl.user.mkdir(podctl.root / "xdg-run")
    podctl.env.update({"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)})
    seed_ok = podctl.run("login", "-u", USER, "-p", PASSWORD, reg)
    assert seed_ok.returncode == 0, seed_ok.stderr
    # podman's default file: $XDG_RUNTIME_DIR/containers/auth.json, mode 0600
    default = runtime / "containers" / "auth.json"
    assert reg in json.loads(default.read_text())["auths"]
    assert default.stat().st_mode & 0o777 == 0o600
    seed(podctl, f"{reg}/fallback/box:latest")
    podctl.ok("logout", "--all")
    # ~/.docker/config.json is read when auth.json has nothing.
    docker = home / ".docker"
    podctl.user.mkdir(docker)
    cfg = docker / "config.json"
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    cfg.write_text(json.dumps({"auths": {f"http://{reg}/v1/": {"auth": token}}}))
    os.chown(cfg, podctl.user.uid, podctl.user.gid)
    podctl.ok("rmi", "-a")
    assert podctl.run("pull", "-q", f"{reg}/fallback/box:latest").returncode == 0


def test_bearer_token_flow(podctl: Podctl, registry: str,
                           token_registry: tuple[LocalRegistry, TokenIssuer]) -> None:  # fmt: skip
    reg, issuer = token_registry
    insecure(podctl, registry, reg.address)
    dest = f"{reg.address}/tok/box:v1"
    podctl.ok("pull", "-q", BUSYBOX)
    p = podctl.run("push", BUSYBOX, dest)
    assert p.returncode == 125 and "authentication required" in p.stderr, p.stderr
    af = str(podctl.root / "auth.json")
    p = podctl.run("login", "--authfile", af, "-u", USER, "-p", "bad", reg.address)
    assert p.returncode == 125 and "invalid username/password" in p.stderr, p.stderr
    podctl.ok("login", "--authfile", af, "-u", USER, "-p", PASSWORD, reg.address)
    issuer.requests.clear()
    podctl.ok("push", "--authfile", af, BUSYBOX, dest)
    assert any("scope=repository%3Atok%2Fbox%3Apull%2Cpush" in r for r in issuer.requests), issuer.requests
    # Tokens are cached per scope: one token request for the whole push.
    assert len(issuer.requests) == 1, issuer.requests
    podctl.ok("rmi", "-a")
    issuer.requests.clear()
    assert len(podctl.ok("pull", "-q", "--authfile", af, dest).strip()) == 64
    assert len(issuer.requests) == 1 and "pull" in issuer.requests[0]
    p = podctl.run("pull", "-q", "--creds", f"{USER}:wrong", dest)
    assert p.returncode == 125 and "invalid username/password" in p.stderr


def test_https_registry_with_certs_d(podctl: Podctl, registry: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """TLS for real: refused without the CA, trusted with certs.d/HOST/ca.crt, or --tls-verify=false."""
    import shutil

    from image_fakes import self_signed

    work = tmp_path_factory.mktemp("tls-registry")
    cert, key = self_signed(work)
    reg = LocalRegistry(work, tls={"certificate": str(cert), "key": str(key)}).start()
    try:
        insecure(podctl, registry)  # only the plain-HTTP test registry is insecure
        cfg_home = podctl.user.mkdir(podctl.root / "cfg")
        podctl.env["XDG_CONFIG_HOME"] = str(cfg_home)
        podctl.ok("pull", "-q", BUSYBOX)
        dest = f"{reg.address}/tls/box:v1"
        p = podctl.run("push", BUSYBOX, dest)
        assert p.returncode == 125 and "CERTIFICATE_VERIFY_FAILED" in p.stderr, p.stderr
        podctl.ok("push", "--tls-verify=false", BUSYBOX, dest)
        certs = podctl.user.mkdir(cfg_home / "containers" / "certs.d" / reg.address, 0o755)
        shutil.copy(cert, certs / "ca.crt")
        os.chmod(certs / "ca.crt", 0o644)
        podctl.ok("rmi", "-a")
        assert len(podctl.ok("pull", "-q", dest).strip()) == 64  # verified TLS
    finally:
        reg.stop()
