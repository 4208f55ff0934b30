"""Load multi-document Kubernetes YAML, keeping the line and column of every key and value.

PyYAML composes each document into nodes (which carry marks); we turn the nodes into plain
Python values ourselves and keep a `path -> (line, column)` index beside them, so every later
error or warning can say `FILE:LINE:COLUMN: spec.containers[0].image: ...`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from podctl.errors import InvalidSpec, NotFound

# podctl.records and not typing's TYPE_CHECKING: `kube down` reads YAML with none of
# dataclasses' start-up cost (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field

# A field path inside one document: ("spec", "containers", 0, "image").
FieldPath = tuple[str | int, ...]

STDIN_NAME = "<stdin>"


def format_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


@dataclass(frozen=True)
class Document:
    """One YAML document: its plain value and where each of its parts is written."""

    file: str
    index: int  # 0-based position in the stream
    value: Any
    line: int  # 1-based line of the document start
    value_marks: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: FieldPath, *, key: bool = False) -> tuple[int, int]:
        """(line, column), 1-based, of the value at PATH (or its key), else of its nearest parent."""
        p = path
        while True:
            if key and p in self.key_marks:
                return self.key_marks[p]
            if p in self.value_marks:
                return self.value_marks[p]
            if not p:
                return (self.line, 1)
            p = p[:-1]
            key = False

    def locate(self, path: FieldPath, *, key: bool = False) -> str:
        line, col = self.where(path, key=key)
        return f"{self.file}:{line}:{col}"


def _mark(node: Any) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _yaml_error(file: str, e: Exception) -> InvalidSpec:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is not None:
        return InvalidSpec(f"{file}:{mark.line + 1}:{mark.column + 1}: {msg}")
    return InvalidSpec(f"{file}: {msg}")


class _Converter:
    def __init__(self, file: str, loader: Any) -> None:
        self.file = file
        self.loader = loader
        self.value_marks: dict[FieldPath, tuple[int, int]] = {}
        self.key_marks: dict[FieldPath, tuple[int, int]] = {}
        self.depth = 0

    def convert(self, node: Any, path: FieldPath) -> Any:
        import yaml

        self.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # `<<` merge keys
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise self._error(knode, path, "mapping keys must be strings")
                key = self.loader.construct_object(knode)
                if not isinstance(key, str):
                    key = knode.value  # `80: x` or `true: x`: Kubernetes keys are strings
                if key in out:
                    raise self._error(knode, path + (key,), f"duplicate key {key!r}")
                self.key_marks[path + (key,)] = _mark(knode)
                out[key] = self.convert(vnode, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            raise self._error(node, path, f"invalid value: {getattr(e, 'problem', e)}") from e

    def _error(self, node: Any, path: FieldPath, msg: str) -> InvalidSpec:
        line, col = _mark(node)
        where = format_path(path)
        return InvalidSpec(f"{self.file}:{line}:{col}: {where + ': ' if where else ''}{msg}")


def parse(text: str, file: str) -> list[Document]:
    """Every non-empty document of TEXT; InvalidSpec with FILE:LINE:COLUMN on bad YAML."""
    import yaml

    # libyaml (when built in) composes several times faster and gives the same marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    docs: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                index += 1
                continue
            conv = _Converter(file, loader)
            value = conv.convert(node, ())
            line = node.start_mark.line + 1
            if value is not None:
                docs.append(Document(file, index, value, line, conv.value_marks, conv.key_marks))
            index += 1
    except yaml.YAMLError as e:
        raise _yaml_error(file, e) from e
    finally:
        loader.dispose()
    return docs


def read_source(path_or_dash: str | Path) -> tuple[str, str]:
    """(display name, text) of a file, or of stdin for `-`."""
    if str(path_or_dash) == "-":
        return STDIN_NAME, sys.stdin.read()
    p = Path(path_or_dash)
    try:
        return str(path_or_dash), p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise NotFound(f"{p}: no such file") from e
    except IsADirectoryError as e:
        raise InvalidSpec(f"{p}: is a directory, expected a YAML file") from e
    except UnicodeDecodeError as e:
        raise InvalidSpec(f"{p}: not UTF-8 text: {e}") from e
    except OSError as e:
        raise InvalidSpec(f"{p}: cannot read: {e.strerror or e}") from e


def load(path_or_dash: str | Path) -> list[Document]:
    name, text = read_source(path_or_dash)
    return parse(text, name)

