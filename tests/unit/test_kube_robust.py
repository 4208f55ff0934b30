"""Any wrong shape of any field gives InvalidSpec (or warnings), never a crash."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podctl.errors import InvalidSpec
from podctl.kube.context import TranslateOptions
from podctl.kube.loader import Document, FieldPath, parse
from podctl.kube.translate import translate

FIXTURES = Path(__file__).parent / "kube_fixtures"
REPLACEMENTS: list[Any] = [None, 0, -1, 70000, "", "x", "$(", [], [1], {}, {"a": 1}, True, 1.5,
                           "../x", "/abs"]  # fmt: skip


def _paths(value: Any, path: FieldPath = ()) -> Iterator[FieldPath]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def test_mutated_manifests_never_crash() -> None:
    text = "---\n".join((FIXTURES / f).read_text()
                        for f in ("all_fields.yaml", "deployment.yaml", "projected.yaml"))  # fmt: skip
    docs = parse(text, "f.yaml")
    rnd = random.Random(20261128)
    outcomes = {"ok": 0, "invalid": 0}
    for _ in range(1500):
        i = rnd.randrange(len(docs))
        doc = docs[i]
        value = copy.deepcopy(doc.value)
        path = rnd.choice(list(_paths(value))[1:])
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and rnd.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rnd.choice(REPLACEMENTS))
        mutated = list(docs)
        mutated[i] = Document(doc.file, doc.index, value, doc.line, doc.value_marks, doc.key_marks)
        try:
            translate(mutated, options=TranslateOptions(node_cpus=2, node_memory=1 << 30))
            outcomes["ok"] += 1
        except InvalidSpec as e:
            assert str(e).startswith("f.yaml:") or "published twice" in str(e), str(e)
            outcomes["invalid"] += 1
    assert outcomes["ok"] > 100 and outcomes["invalid"] > 100, outcomes
