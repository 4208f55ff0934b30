"""A Quadlet source unit merged with its drop-ins, and the editing helpers the translator
needs, built on podctl's one unit-file parser (`podctl.systemd.unitfile`)."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path

from podctl.errors import InvalidSpec
from podctl.systemd.unitfile import Kind, Line, UnitFile, c_quote, parse_bool, split_words


class QuadletError(Exception):
    """A conversion error; the generator prefixes it with the file name."""


class Source:
    """One Quadlet file with its drop-ins merged in (drop-in lines appended, so a later
    value wins and an empty assignment resets a list, as systemd and podman read them)."""

    def __init__(self, unit: UnitFile, filename: str, path: Path | None) -> None:
        self.unit = unit
        self.filename = filename
        self.path = path
        self.warnings: list[str] = []

    @classmethod
    def parse(cls, text: str, filename: str, path: Path | None = None) -> Source:
        return cls(UnitFile.parse(text, path), filename, path)

    def merge(self, dropin: UnitFile) -> None:
        lines = self.unit.lines
        if lines and not lines[-1].raw.endswith("\n"):
            lines[-1].raw += "\n"
        lines.extend(copy.deepcopy(dropin.lines))

    # -- lookups with podman's semantics ---------------------------------------------------

    def lookup(self, group: str, key: str) -> str | None:
        return self.unit.lookup(group, key)

    def has(self, group: str, key: str) -> bool:
        return self.unit.lookup(group, key) is not None

    def value(self, group: str, key: str) -> str:
        """The last value, or "" when unset; a value wholly in double quotes is unquoted
        (`HealthCmd="a b"` is the one argument `a b`, as podman reads it)."""
        v = self.unit.lookup(group, key) or ""
        if len(v) >= 2 and v[0] == v[-1] == '"':
            words = self._split(group, key, v)
            if len(words) == 1:
                return words[0]
        return v

    def all(self, group: str, key: str) -> list[str]:
        return self.unit.lookup_all(group, key)

    def strv(self, group: str, key: str) -> list[str]:
        return self.unit.lookup_strv(group, key)

    def boolean(self, group: str, key: str) -> bool | None:
        v = self.unit.lookup(group, key)
        if v is None:
            return None
        try:
            return parse_bool(v)
        except InvalidSpec:
            return False

    def bool_default(self, group: str, key: str, default: bool) -> bool:
        v = self.boolean(group, key)
        return default if v is None else v

    def uint32(self, group: str, key: str) -> int:
        v = self.value(group, key).strip()
        m = re.match(r"\d+", v)
        return int(m.group(0)) if m else 0

    def _split(self, group: str, key: str, value: str) -> list[str]:
        try:
            return split_words(value)
        except InvalidSpec:
            self.warnings.append(
                f"{self.filename}: {group}.{key}={value}: unsupported escape char, key ignored"
            )
            return []

    def args(self, group: str, key: str) -> list[str]:
        """All words of every value (PodmanArgs=, GlobalArgs=, Mount= ...)."""
        out: list[str] = []
        for v in self.all(group, key):
            out.extend(self._split(group, key, v))
        return out

    def last_args(self, group: str, key: str) -> list[str] | None:
        v = self.lookup(group, key)
        return None if v is None else self._split(group, key, v)

    def keyvals(self, group: str, key: str) -> dict[str, str | None]:
        """KEY=VALUE words; a bare KEY maps to None (`--env KEY` takes the host's value)."""
        out: dict[str, str | None] = {}
        for word in self.args(group, key):
            k, eq, v = word.partition("=")
            out[k] = v if eq else None
        return out


# -- the generated service -------------------------------------------------------------


class Service:
    """The generated unit: a copy of the source whose lines are edited in place."""

    def __init__(self, source: Source, filename: str) -> None:
        self.unit = UnitFile(copy.deepcopy(source.unit.lines))
        self.filename = filename

    def lookup(self, group: str, key: str) -> str | None:
        return self.unit.lookup(group, key)

    def strv(self, group: str, key: str) -> list[str]:
        return self.unit.lookup_strv(group, key)

    def add(self, group: str, key: str, value: str) -> None:
        self.unit.add(group, key, value)

    def set(self, group: str, key: str, value: str) -> None:
        self.unit.set(group, key, value)

    def unset(self, group: str, key: str) -> None:
        self.unit.unset(group, key)

    def add_cmdline(self, key: str, argv: Sequence[str]) -> None:
        self.unit.add("Service", key, " ".join(quote_word(a) for a in argv))

    def rename_group(self, old: str, new: str) -> None:
        for line in self.unit.lines:
            if line.kind is Kind.SECTION and line.name == old:
                line.name = new
                line.raw = f"[{new}]\n"

    def prepend_unit_line(self, key: str, value: str) -> None:
        """Put KEY=VALUE first in [Unit], so a user's `After=` reset still wins."""
        entry = Line(Kind.ENTRY, f"{key}={value}\n", name=key, value=value)
        for idx, line in enumerate(self.unit.lines):
            if line.kind is Kind.SECTION and line.name == "Unit":
                self.unit.lines.insert(idx + 1, entry)
                return
        self.unit.lines[0:0] = [Line(Kind.SECTION, "[Unit]\n", name="Unit"), entry,
                                Line(Kind.BLANK, "\n")]  # fmt: skip

    def to_text(self, header: str) -> str:
        body = self.unit.to_text()
        if body and not body.endswith("\n"):
            body += "\n"
        return f"#\n# {header}\n#\n{body}"


_SAFE = re.compile(r"^[^\s\"'\\;]+$")


def quote_word(word: str) -> str:
    """One Exec*= word as podman's unit writer quotes it: `%` specifiers and `$` stay live
    (Quadlet values are meant to use them), anything with blanks or quotes is C-quoted."""
    if word and _SAFE.match(word) and all(ord(c) >= 32 for c in word):
        return word
    return c_quote(word)
