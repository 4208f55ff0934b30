"""The whole translation of a set of Quadlet sources, pure: no files read or written."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from podctl.errors import PodctlError
from podctl.quadlet.convert import units_info
from podctl.quadlet.keys import GROUPS, ORDER
from podctl.quadlet.model import QuadletError, Service, Source
from podctl.quadlet.units import CONVERTERS


@dataclass
class Result:
    services: list[Service] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _unambiguous(image: str) -> bool:
    if image.startswith("sha256:") or re.fullmatch(r"[0-9a-fA-F]{64}", image):
        return True
    domain, slash, _ = image.partition("/")
    return bool(slash) and (any(c in domain for c in ".:") or domain == "localhost")


def translate(sources: list[Source], *, user: bool, binary: str) -> Result:
    """Convert every source (images first, pods last, as references need); a unit that fails
    is reported as `converting "NAME": why` and the others are still generated."""
    result = Result()
    ordered = sorted(sources, key=lambda s: ORDER[os.path.splitext(s.filename)[1]])
    infos = units_info(ordered)
    for src in ordered:
        ext = os.path.splitext(src.filename)[1]
        if ext in (".container", ".volume", ".image"):
            image = src.lookup(GROUPS[ext][0], "Image")
            if image and not image.endswith((".image", ".build")) and not _unambiguous(image):
                result.warnings.append(
                    f'Warning: {src.filename} specifies the image "{image}" which not a fully '
                    "qualified image name. This is not ideal for performance and security "
                    "reasons. See the podman-pull manpage discussion of short-name-aliases.conf "
                    "for details."
                )
        try:
            result.services.append(CONVERTERS[ext](src, infos, user, binary))
        except (QuadletError, PodctlError) as e:
            result.errors.append(f'converting "{src.filename}": {e}')
        finally:
            result.warnings.extend(src.warnings)
            src.warnings.clear()
    return result
