"""Typed, position-aware access to one YAML document, collecting errors and warnings.

`Obj` wraps a mapping at a field path. Each accessor checks the type, records that the key was
understood, and on a wrong type records an error (with FILE:LINE:COLUMN and the field path) and
returns the default, so one pass reports every problem of the whole input. `Obj.finish()` turns
every key nobody read into a "not supported" warning: a field is never ignored silently.
"""

from __future__ import annotations

import json

from podctl.kube.loader import Document, FieldPath, format_path
from podctl.kube.model import KubeWarning

# Not typing's TYPE_CHECKING: typing costs `kube play` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


class Diagnostics:
    """Errors and warnings of a whole translation, in input order."""

    def __init__(self) -> None:
        self._errors: list[tuple[int, int, int, str]] = []  # (file order, line, column, text)
        self._files: dict[str, int] = {}
        self.warnings: list[KubeWarning] = []

    @property
    def errors(self) -> list[str]:
        """Every error so far, in input order."""
        return [e[3] for e in sorted(self._errors)]

    @property
    def error_count(self) -> int:
        return len(self._errors)

    def error(self, doc: Document, path: FieldPath, msg: str, *, key: bool = False) -> None:
        where = format_path(path)
        line, col = doc.where(path, key=key)
        text = f"{doc.file}:{line}:{col}: {where + ': ' if where else ''}{msg}"
        order = self._files.setdefault(doc.file, len(self._files))
        self._errors.append((order, line, col, text))

    def warn(self, doc: Document, path: FieldPath, msg: str, *, key: bool = False) -> None:
        line, col = doc.where(path, key=key)
        self.warnings.append(KubeWarning(doc.file, line, col, format_path(path), msg))


class Obj:
    """A mapping at PATH in DOC."""

    def __init__(self, diag: Diagnostics, doc: Document, path: FieldPath, data: dict[str, Any]):
        self.diag = diag
        self.doc = doc
        self.path = path
        self.data = data
        self.used: set[str] = set()

    # -- diagnostics -------------------------------------------------------------------------
    def p(self, *parts: str | int) -> FieldPath:
        return self.path + parts

    def error(self, key: str | int | None, msg: str, *more: str | int) -> None:
        path = self.path if key is None else self.path + (key, *more)
        self.diag.error(self.doc, path, msg)

    def warn(self, key: str | int | None, msg: str, *more: str | int) -> None:
        path = self.path if key is None else self.path + (key, *more)
        self.diag.warn(self.doc, path, msg, key=not more and key is not None)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def ignore(self, *keys: str) -> None:
        """Accept KEYS without a warning (fields that have no meaning on one machine)."""
        self.used.update(keys)

    def unsupported(self, key: str, why: str = "not supported by podctl; ignored") -> None:
        if key in self.data:
            self.used.add(key)
            self.warn(key, why)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                self.diag.warn(self.doc, self.path + (key,), "field not supported; ignored",
                               key=True)  # fmt: skip

    # -- typed access ------------------------------------------------------------------------
    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def _typed(self, key: str, types: tuple[type, ...], what: str, required: bool) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            if required:
                self.error(key, "required field is missing")  # placed at the parent mapping
            return None
        if isinstance(value, bool) and bool not in types:
            self.error(key, f"expected {what}, got {describe(value)}")
            return None
        if not isinstance(value, types):
            self.error(key, f"expected {what}, got {describe(value)}")
            return None
        return value

    def string(self, key: str, *, required: bool = False) -> str | None:
        v: str | None = self._typed(key, (str,), "a string", required)
        if required and v == "":
            self.error(key, "must not be empty")
            return None
        return v

    def integer(self, key: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        v: int | None = self._typed(key, (int,), "an integer", required)
        if v is not None and minimum is not None and v < minimum:
            self.error(key, f"must be at least {minimum}, got {v}")
            return None
        return v

    def boolean(self, key: str) -> bool | None:
        v: bool | None = self._typed(key, (bool,), "a boolean (true or false)", False)
        return v

    def int_or_str(self, key: str, *, required: bool = False) -> int | str | None:
        v: int | str | None = self._typed(key, (int, str), "an integer or a string", required)
        return v

    def obj(self, key: str, *, required: bool = False) -> Obj | None:
        v = self._typed(key, (dict,), "a mapping", required)
        return None if v is None else Obj(self.diag, self.doc, self.path + (key,), v)

    def sequence(self, key: str) -> list[tuple[FieldPath, Any]]:
        v = self._typed(key, (list,), "a list", False)
        return [] if v is None else [(self.path + (key, i), item) for i, item in enumerate(v)]

    def objs(self, key: str) -> list[Obj]:
        out: list[Obj] = []
        for path, item in self.sequence(key):
            if isinstance(item, dict):
                out.append(Obj(self.diag, self.doc, path, item))
            else:
                self.diag.error(self.doc, path, f"expected a mapping, got {describe(item)}")
        return out

    def strs(self, key: str) -> tuple[str, ...] | None:
        if self.data.get(key) is None:
            self.used.add(key)
            return None
        out: list[str] = []
        for path, item in self.sequence(key):
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, int | float) and not isinstance(item, bool):
                # Kubernetes would reject it; say so rather than guess what was meant.
                self.diag.error(self.doc, path, f"expected a string, got {describe(item)}"
                                " (quote it)")  # fmt: skip
            else:
                self.diag.error(self.doc, path, f"expected a string, got {describe(item)}")
        return tuple(out)

    def strmap(self, key: str) -> dict[str, str]:
        v = self._typed(key, (dict,), "a mapping of strings", False)
        out: dict[str, str] = {}
        for k, item in (v or {}).items():
            if isinstance(item, str):
                out[k] = item
            else:
                self.diag.error(self.doc, self.path + (key, k),
                                f"expected a string, got {describe(item)}")  # fmt: skip
        return out
