"""Shared by the kube/ unit tests: the fixture manifests, fixed node resources, golden files."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from podctl.kube import translate_text
from podctl.kube.context import TranslateOptions
from podctl.kube.model import KubePlan

FIXTURES = Path(__file__).parent / "kube_fixtures"
# Fixed node resources, so that percentages and defaults do not depend on the test machine.
OPTS = TranslateOptions(node_cpus=4, node_memory=8 << 30)
UPDATE = os.environ.get("PODCTL_UPDATE_GOLDEN") == "1"


def plan_of(text: str, **kw: Any) -> KubePlan:
    """Translate an indented manifest written inline in a test (OPTS unless given)."""
    kw.setdefault("options", OPTS)
    return translate_text(textwrap.dedent(text), "t.yaml", **kw)


def fixture_plan(name: str, **kw: Any) -> KubePlan:
    """Translate kube_fixtures/NAME (OPTS unless given)."""
    kw.setdefault("options", OPTS)
    return translate_text((FIXTURES / name).read_text(), name, **kw)


def golden(name: str, got: str) -> str:
    """The text of golden file kube_fixtures/NAME; with PODCTL_UPDATE_GOLDEN=1 it is first
    rewritten with GOT."""
    path = FIXTURES / name
    if UPDATE:
        path.write_text(got)
    return path.read_text()
