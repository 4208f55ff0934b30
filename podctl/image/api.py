"""What the layers above (containers, pods, kube, auto-update) may ask of the image store.

The store itself lives in podctl.image.store; this module holds only the contract, so the
runtime layer can depend on it without importing the registry client.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command. The
# Protocols below are for mypy; at run time they are plain classes nothing derives from.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any, Protocol
else:
    from podctl.records import dataclass, field

    Protocol = object


class PullPolicy(StrEnum):
    ALWAYS = "always"
    MISSING = "missing"
    NEVER = "never"
    NEWER = "newer"


@dataclass(frozen=True)
class ImageRecord:
    id: str  # hex sha256 of the config blob (podman's image id)
    names: tuple[str, ...]  # fully qualified "registry/repo:tag" names
    digest: str  # "sha256:..." of the manifest it was pulled by
    config: dict[str, Any] = field(compare=False)  # the whole OCI image config JSON
    layer_dirs: tuple[Path, ...] = ()  # unpacked layers, lowest first, ready for overlay lowerdir
    size: int = 0  # bytes unpacked


class ImageStore(Protocol):
    def resolve(self, ref: str) -> ImageRecord:
        """The local image named by REF (name, short name, id or id prefix); NotFound if absent."""
        ...

    def ensure(self, ref: str, policy: PullPolicy = PullPolicy.MISSING) -> ImageRecord:
        """The image, pulled first when the policy asks for it; errors are RegistryError."""
        ...

