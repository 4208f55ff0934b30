"""The downward API: pod fields and container resources as env values and volume files."""

from __future__ import annotations

import json
import re
from fractions import Fraction

from podctl.kube.context import PodInfo, Scope
from podctl.kube.model import RUNTIME_FIELDS, placeholder
from podctl.kube.quantity import ceil_div, parse_quantity

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['([^']*)'\]$")

ENV_FIELDS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
VOLUME_FIELDS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
)
RESOURCES = (
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
)


def _format_map(values: dict[str, str]) -> str:
    # The kubelet writes `key="value"` lines sorted by key (Go's %q quoting).
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(values.items()))


def field_value(pod: PodInfo, path: str, *, volume: bool) -> str | None:
    """The value of downward API field PATH, or None when PATH is not a supported field."""
    m = _SUBSCRIPT.match(path)
    if m:
        source = pod.labels if m.group(1) == "labels" else pod.annotations
        return source.get(m.group(2), "")
    allowed = VOLUME_FIELDS if volume else ENV_FIELDS
    if path not in allowed:
        return None
    if path == "metadata.name":
        return pod.name
    if path == "metadata.namespace":
        return pod.namespace
    if path == "metadata.labels":
        return _format_map(pod.labels)
    if path == "metadata.annotations":
        return _format_map(pod.annotations)
    if path == "spec.serviceAccountName":
        return "default"
    if path in RUNTIME_FIELDS:
        return placeholder(path)
    return None


def field_choices(volume: bool) -> str:
    base = VOLUME_FIELDS if volume else ENV_FIELDS
    return ", ".join((*base, "metadata.labels['KEY']", "metadata.annotations['KEY']"))


def resource_value(
    scope: Scope, pod: PodInfo, container: str, resource: str, divisor: Fraction
) -> str | None:
    """The value of RESOURCE of CONTAINER in units of DIVISOR, or None for an unknown resource."""
    if resource not in RESOURCES:
        return None
    res = pod.resources.get(container, {})
    value = res.get(resource)
    kind, _, name = resource.partition(".")
    if value is None and kind == "requests":
        value = res.get(f"limits.{name}")  # a request defaults to its limit
    if value is None:
        if kind == "requests":
            value = Fraction(0)
        elif name == "cpu":
            value = Fraction(scope.options.node_cpus)
        elif name == "memory":
            value = Fraction(scope.options.node_memory)
        else:
            value = Fraction(0)
    assert isinstance(value, Fraction)
    if divisor <= 0:
        divisor = Fraction(1)
    return str(ceil_div(value, divisor))


def parse_divisor(raw: object) -> Fraction | None:
    if raw is None:
        return Fraction(1)
    if not isinstance(raw, int | str) or isinstance(raw, bool):
        return None
    try:
        d = parse_quantity(raw)
    except ValueError:
        return None
    return d if d > 0 else None
