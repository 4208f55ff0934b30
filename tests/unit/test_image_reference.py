"""Image references and registries.conf, as podman parses and resolves them."""

from __future__ import annotations

import pytest

from podctl.errors import InvalidConfig, InvalidSpec, RegistryError
from podctl.image import registries
from podctl.image.reference import normalize_name, parse


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest"),
    [
        ("busybox", "", "busybox", None, None),
        ("busybox:1.36", "", "busybox", "1.36", None),
        ("library/busybox", "", "library/busybox", None, None),
        ("docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("index.docker.io/busybox:latest", "docker.io", "library/busybox", "latest", None),
        ("docker.io/foo/bar", "docker.io", "foo/bar", None, None),
        ("quay.io/a/b/c:v1", "quay.io", "a/b/c", "v1", None),
        ("localhost/x", "localhost", "x", None, None),
        ("127.0.0.1:5000/busybox:latest", "127.0.0.1:5000", "busybox", "latest", None),
        ("registry:5000/x", "registry:5000", "x", None, None),
        ("docker://quay.io/x", "quay.io", "x", None, None),
        ("quay.io/x@sha256:" + "a" * 64, "quay.io", "x", None, "sha256:" + "a" * 64),
        ("quay.io/x:t@sha256:" + "b" * 64, "quay.io", "x", "t", "sha256:" + "b" * 64),
    ],
)
def test_parse(text: str, domain: str, path: str, tag: str | None, digest: str | None) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)


def test_str_and_defaults() -> None:
    ref = parse("docker.io/busybox")
    assert str(ref) == "docker.io/library/busybox"
    assert ref.tagged_name == "docker.io/library/busybox:latest"
    assert ref.manifest_ref == "latest"
    d = parse("quay.io/x@sha256:" + "c" * 64)
    assert d.manifest_ref == "sha256:" + "c" * 64
    assert parse("busybox").with_domain("docker.io").name == "docker.io/library/busybox"
    assert parse("busybox").with_domain("quay.io").name == "quay.io/busybox"
    assert normalize_name("mybox") == "localhost/mybox:latest"
    assert normalize_name("quay.io/a:b") == "quay.io/a:b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Busybox", "lowercase"),
        ("quay.io/x:bad tag", "invalid tag"),
        ("x@sha256:short", "invalid digest"),
        ("quay.io/a//b", "invalid repository"),
        ("quay.io/-a", "invalid repository"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        parse(text)


CONF = """
unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "example.com/team"
location = "mirror.internal:5000/team-copy"
insecure = true

[[registry.mirror]]
location = "fast.local/cache"
pull-from-mirror = "digest-only"

[[registry]]
location = "evil.example.org"
blocked = true

[[registry]]
prefix = "*.corp.example"
insecure = true

[aliases]
"myalias" = "quay.io/someone/thing"
"""


def test_registries_conf_prefix_location_mirrors() -> None:
    conf = registries.parse_text(CONF)
    assert conf.search == ["quay.io", "docker.io"]
    srcs = conf.pull_sources(parse("example.com/team/app:v1"))
    assert [(str(r), ins) for r, ins in srcs] == [("mirror.internal:5000/team-copy/app:v1", True)]
    digest = "sha256:" + "d" * 64
    srcs = conf.pull_sources(parse(f"example.com/team/app@{digest}"))
    assert [str(r) for r, _ in srcs] == [f"fast.local/cache/app@{digest}",
                                        f"mirror.internal:5000/team-copy/app@{digest}"]  # fmt: skip
    # prefix matches whole path components only
    assert conf.find("example.com/teammate/x") is None
    assert conf.insecure("registry.corp.example")
    assert not conf.insecure("quay.io")
    with pytest.raises(RegistryError, match="blocked"):
        conf.pull_sources(parse("evil.example.org/x"))


def test_short_name_resolution() -> None:
    conf = registries.parse_text(CONF)
    refs = registries.candidates(conf, parse("busybox:1"))
    assert [str(r) for r in refs] == ["quay.io/busybox:1", "docker.io/library/busybox:1"]
    assert [str(r) for r in registries.candidates(conf, parse("myalias:v2"))] == ["quay.io/someone/thing:v2"]
    assert registries.candidates(conf, parse("quay.io/x")) == [parse("quay.io/x")]
    enforcing = registries.parse_text('short-name-mode = "enforcing"\n' + CONF)
    with pytest.raises(RegistryError, match="cannot prompt without a TTY"):
        registries.candidates(enforcing, parse("busybox"), interactive=False)
    one = registries.parse_text('unqualified-search-registries = ["quay.io"]\nshort-name-mode = "enforcing"')
    assert [str(r) for r in registries.candidates(one, parse("busybox"), interactive=False)] == ["quay.io/busybox"]
    with pytest.raises(RegistryError, match="no unqualified-search registries"):
        registries.candidates(registries.parse_text(""), parse("busybox"))


def test_registries_conf_errors() -> None:
    with pytest.raises(InvalidConfig, match="short-name-mode"):
        registries.parse_text('short-name-mode = "sometimes"')
    with pytest.raises(InvalidConfig, match="must not include a scheme"):
        registries.parse_text('[[registry]]\nlocation = "http://x"')
    with pytest.raises(InvalidConfig, match="v1"):
        registries.parse_text("[registries.search]\nregistries = []")
    with pytest.raises(InvalidConfig, match="registries.conf"):
        registries.parse_text("not toml [")


def test_config_files_order(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = tmp_path / "cfg" / "containers"
    (user / "registries.conf.d").mkdir(parents=True)
    (user / "registries.conf").write_text('unqualified-search-registries = ["a.io"]\n')
    (user / "registries.conf.d" / "50-x.conf").write_text('unqualified-search-registries = ["b.io"]\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("CONTAINERS_REGISTRIES_CONF", raising=False)
    main, dropins = registries.config_files()
    assert main == user / "registries.conf"
    assert dropins[-1] == user / "registries.conf.d" / "50-x.conf"
    assert registries.load().search == ["b.io"]  # drop-ins override the main file
    env = tmp_path / "env.conf"
    env.write_text('unqualified-search-registries = ["c.io"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(env))
    assert registries.config_files()[0] == env
