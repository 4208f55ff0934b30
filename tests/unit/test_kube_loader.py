"""podctl.kube.loader: multi-document YAML with line/column for every key and value."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from podctl.errors import InvalidSpec, NotFound
from podctl.kube import loader


def test_positions_of_keys_and_values() -> None:
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        spec:
          containers:
          - name: app
            ports:
            - containerPort: 80
        """)
    (doc,) = loader.parse(text, "web.yaml")
    path = ("spec", "containers", 0, "ports", 0, "containerPort")
    assert doc.value["spec"]["containers"][0]["ports"][0]["containerPort"] == 80
    assert doc.where(path) == (7, 22)
    assert doc.where(path, key=True) == (7, 7)
    assert doc.locate(("spec", "containers", 0, "name")) == "web.yaml:5:11"
    # A missing field is placed at its nearest parent.
    assert doc.where(("spec", "containers", 0, "image")) == (5, 5)
    assert loader.format_path(path) == "spec.containers[0].ports[0].containerPort"


def test_multi_document_skips_empty_documents_and_keeps_index() -> None:
    text = "---\na: 1\n---\n---\nb: [x, 2]\n...\n"
    docs = loader.parse(text, "f.yaml")
    assert [d.value for d in docs] == [{"a": 1}, {"b": ["x", 2]}]
    assert [d.index for d in docs] == [0, 2]
    assert docs[1].where(("b", 1)) == (5, 8)


def test_invalid_yaml_names_file_line_column() -> None:
    with pytest.raises(InvalidSpec) as e:
        loader.parse("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    assert str(e.value).startswith("bad.yaml:3:2: invalid YAML: ")


def test_tab_indentation_is_an_error_with_position() -> None:
    with pytest.raises(InvalidSpec, match=r"^t\.yaml:2:1: invalid YAML: "):
        loader.parse("a:\n\tb: 1\n", "t.yaml")


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(InvalidSpec) as e:
        loader.parse("metadata:\n  name: a\n  name: b\n", "d.yaml")
    assert str(e.value) == "d.yaml:3:3: metadata.name: duplicate key 'name'"


def test_merge_keys_and_anchors() -> None:
    (doc,) = loader.parse("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert doc.value["derived"] == {"x": 1, "y": 2}


def test_non_string_keys_become_strings() -> None:
    (doc,) = loader.parse("data:\n  80: http\n  true: yes\n", "k.yaml")
    assert doc.value["data"] == {"80": "http", "true": True}


def test_stdin_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a: [1\n"))
    with pytest.raises(InvalidSpec, match=r"^<stdin>:2:1: invalid YAML"):
        loader.load("-")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        loader.load(tmp_path / "nope.yaml")
    with pytest.raises(InvalidSpec, match="is a directory"):
        loader.load(tmp_path)
