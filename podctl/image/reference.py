"""Image references, parsed and normalised as podman does (docker/reference + c/image shortnames).

`busybox` is a short name (no registry): it is resolved through registries.conf. A name whose
first component contains `.` or `:` or is `localhost` is qualified. `docker.io/busybox` becomes
`docker.io/library/busybox`, and `index.docker.io` is `docker.io`. A missing tag means `latest`
unless a digest is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from podctl.errors import InvalidSpec

DOCKER_IO = "docker.io"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(
    r"^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$"
)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_ID_RE = re.compile(r"^(?:sha256:)?[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """registry/path[:tag][@digest]; `domain` is empty for a short name."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def qualified(self) -> bool:
        return bool(self.domain)

    @property
    def name(self) -> str:
        """The repository name without tag or digest (`docker.io/library/busybox`)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def tag_or_latest(self) -> str:
        return self.tag or DEFAULT_TAG

    def with_domain(self, domain: str) -> Reference:
        """The reference qualified with DOMAIN (adding `library/` on docker.io)."""
        domain = normalize_domain(domain)
        path = self.path
        if domain == DOCKER_IO and "/" not in path:
            path = f"library/{path}"
        return replace(self, domain=domain, path=path)

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag)

    def with_digest(self, digest: str | None) -> Reference:
        return replace(self, digest=digest)

    def defaulted(self) -> Reference:
        """Tag `latest` added when neither tag nor digest is given."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    @property
    def tagged_name(self) -> str:
        """`registry/repo:tag` (latest when absent), the form images are stored under."""
        return f"{self.name}:{self.tag_or_latest}"

    @property
    def manifest_ref(self) -> str:
        """What to ask the registry for: the digest when given, else the tag."""
        return self.digest or self.tag_or_latest

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def normalize_domain(domain: str) -> str:
    return DOCKER_IO if domain in ("index.docker.io", "registry-1.docker.io") else domain


def is_image_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


def parse(text: str) -> Reference:
    """Parse an image reference; InvalidSpec names the reference when it is malformed."""
    original = text
    text = text.strip()
    for prefix in ("docker://",):
        text = text.removeprefix(prefix)
    if not text:
        raise InvalidSpec("invalid image reference: empty name")
    digest = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not _DIGEST_RE.match(digest):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid digest {digest!r}")
    tag = None
    last = text.rfind(":")
    if last > text.rfind("/"):
        text, tag = text[:last], text[last + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid tag {tag!r}")
    domain = ""
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _DOMAIN_RE.match(first):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid registry {first!r}")
        domain, text = normalize_domain(first), rest
    if not _PATH_RE.match(text):
        if text.lower() != text:
            raise InvalidSpec(
                f"invalid image reference {original!r}: repository name must be lowercase"
            )
        raise InvalidSpec(f"invalid image reference {original!r}: invalid repository name")
    if len(text) + len(domain) > 255:
        raise InvalidSpec(f"invalid image reference {original!r}: name longer than 255 characters")
    ref = Reference(domain, text, tag, digest)
    if domain == DOCKER_IO and "/" not in text:
        ref = ref.with_domain(DOCKER_IO)
    return ref


def parse_qualified(text: str) -> Reference:
    """A reference that must name its registry (push destinations, tags of pushed images)."""
    ref = parse(text)
    if not ref.qualified:
        raise InvalidSpec(f"{text!r} is not a fully qualified image reference (registry/repo:tag)")
    return ref


def normalize_name(text: str) -> str:
    """The stored form of a name for `tag`: unqualified names go to `localhost/` as podman does."""
    ref = parse(text)
    if ref.digest:
        raise InvalidSpec(f"{text!r}: a tag cannot contain a digest")
    if not ref.qualified:
        ref = ref.with_domain("localhost")
    return ref.tagged_name
