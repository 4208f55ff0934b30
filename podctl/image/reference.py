"""Image references, parsed and normalised as podman does (docker/reference + c/image shortnames).

`busybox` is a short name (no registry): it is resolved through registries.conf. A name whose
first component contains `.` or `:` or is `localhost` is qualified. `docker.io/busybox` becomes
`docker.io/library/busybox`, and `index.docker.io` is `docker.io`. A missing tag means `latest`
unless a digest is given.
"""

from __future__ import annotations

from podctl.errors import InvalidSpec

# podctl.records: dataclasses without the import and class-creation cost (mypy sees the real ones).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, replace
else:
    from podctl.records import dataclass, replace

DOCKER_IO = "docker.io"
DEFAULT_TAG = "latest"

# docker/reference's grammar, checked without regular expressions on the paths every `run`
# takes (compiling them cost ~1.5 ms per process); the digest one compiles only when used.
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset("0123456789abcdef")
_DIGEST = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$"


def _path_ok(text: str) -> bool:
    """`[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*` components joined by `/`."""
    for comp in text.split("/"):
        if not comp or comp[0] not in _LOWER_ALNUM or comp[-1] not in _LOWER_ALNUM:
            return False
        i, n = 0, len(comp)
        while i < n:
            if comp[i] in _LOWER_ALNUM:
                i += 1
                continue
            j = i
            while j < n and comp[j] not in _LOWER_ALNUM:
                j += 1
            sep = comp[i:j]
            if sep not in (".", "_", "__") and sep.strip("-"):
                return False
            i = j
    return True


def _domain_ok(text: str) -> bool:
    """`localhost`, DNS labels joined by `.`, or `[ipv6]`; then an optional `:port`."""
    if text.startswith("["):
        end = text.find("]")
        inner, rest = text[1:end], text[end + 1 :]
        if end < 0 or not inner or any(c not in "0123456789abcdefABCDEF:" for c in inner):
            return False
    else:
        host, sep, port = text.partition(":")
        rest = sep + port
        for label in host.split("."):
            if not label or label[0] not in _ALNUM or label[-1] not in _ALNUM:
                return False
            if any(c not in _ALNUM and c != "-" for c in label):
                return False
    if rest:
        return len(rest) > 1 and rest[0] == ":" and all(c in "0123456789" for c in rest[1:])
    return True


def _tag_ok(tag: str) -> bool:
    """`[\\w][\\w.-]{0,127}` (\\w: str.isalnum() or `_`)."""
    return 0 < len(tag) <= 128 and (tag[0].isalnum() or tag[0] == "_") and all(
        c.isalnum() or c in "_.-" for c in tag
    )


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
    """`(sha256:)?` and 64 lowercase hex digits."""
    hexpart = text.removeprefix("sha256:")
    return len(hexpart) == 64 and all(c in _HEX for c in hexpart)


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
        import re

        if not re.match(_DIGEST, digest):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid digest {digest!r}")
    tag = None
    last = text.rfind(":")
    if last > text.rfind("/"):
        text, tag = text[:last], text[last + 1 :]
        if not _tag_ok(tag):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid tag {tag!r}")
    domain = ""
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _domain_ok(first):
            raise InvalidSpec(f"invalid image reference {original!r}: invalid registry {first!r}")
        domain, text = normalize_domain(first), rest
    if not _path_ok(text):
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
