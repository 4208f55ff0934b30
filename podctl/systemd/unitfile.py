"""The one reader/writer of systemd unit files (after podman's `pkg/systemd/parser`).

Unlike podman's parser, writing back is byte-exact: every physical line is kept as it was read
(comments, blank lines, order, repeated keys and sections, `\\` line continuations), and only
the entries a caller sets, adds or removes are re-rendered. Lookups follow systemd.syntax(7):

- a line ending in a backslash continues on the next line, the backslash read as a space,
  leading whitespace of every physical line skipped, comment lines inside a continuation
  ignored;
- a key may repeat: `lookup` gives the last value, `lookup_all` every value, where an empty
  assignment (`Key=`) resets the list as systemd does for list settings;
- a section may appear several times; it reads as one section;
- drop-ins (`NAME.d/*.conf`, applied in file-name order) are read after the main file.

The escaping helpers at the end quote command lines the way systemd.service(5) parses them
(`$` and `%` doubled, C escapes inside double quotes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from podctl.errors import InvalidSpec, NotFound

COMMENT_CHARS = "#;"
WHITESPACE = " \t\n\r"


class Kind(StrEnum):
    BLANK = "blank"
    COMMENT = "comment"
    SECTION = "section"
    ENTRY = "entry"


@dataclass
class Line:
    """One logical line: its exact text (all physical lines of a continuation) and meaning."""

    kind: Kind
    raw: str
    name: str = ""  # section name, or the entry's key
    value: str = ""  # the entry's value, continuations applied, stripped


def _continued(line: str) -> bool:
    """Ends in an unescaped backslash (`\\\\` at the end is a literal one, as in systemd)."""
    text = line.rstrip("\r\n")
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _join_continuation(physical: Sequence[str]) -> str:
    """systemd's reading of `A \\` + `  B`: the backslash becomes a space, indentation goes."""
    parts: list[str] = []
    for i, line in enumerate(physical):
        text = line.rstrip("\r\n")
        if i:
            text = text.lstrip(WHITESPACE)
            if text[:1] in COMMENT_CHARS and text:
                continue
        if _continued(text) and i < len(physical) - 1:
            text = text[:-1] + " "
        elif _continued(text):
            text = text[:-1]
        parts.append(text)
    return "".join(parts)


def _is_comment(line: str) -> bool:
    stripped = line.lstrip(WHITESPACE)
    return bool(stripped) and stripped[0] in COMMENT_CHARS


_SECTION_RE = re.compile(r"^\[([^\[\]]+)\][ \t]*$")


class UnitFile:
    """One file (a unit or a drop-in), kept line by line."""

    def __init__(self, lines: Iterable[Line] = (), path: Path | None = None) -> None:
        self.lines: list[Line] = list(lines)
        self.path = path

    # -- reading and writing -------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, path: Path | None = None) -> UnitFile:
        where = str(path) if path else "unit file"
        physical = text.splitlines(keepends=True)
        lines: list[Line] = []
        section = ""
        i = 0
        while i < len(physical):
            start = i
            stripped = physical[i].strip(WHITESPACE)
            if not stripped:
                lines.append(Line(Kind.BLANK, physical[i]))
                i += 1
                continue
            if stripped[0] in COMMENT_CHARS:
                lines.append(Line(Kind.COMMENT, physical[i]))
                i += 1
                continue
            m = _SECTION_RE.match(stripped)
            if m:
                section = m.group(1)
                lines.append(Line(Kind.SECTION, physical[i], name=section))
                i += 1
                continue
            # An entry, possibly continued over several physical lines; comment lines inside
            # a continuation are skipped and the continuation carries on after them.
            while _continued(physical[i]) and i + 1 < len(physical):
                i += 1
                while _is_comment(physical[i]) and i + 1 < len(physical):
                    i += 1
            chunk = physical[start : i + 1]
            i += 1
            logical = _join_continuation(chunk).strip(WHITESPACE)
            key, eq, value = logical.partition("=")
            key = key.strip(WHITESPACE)
            if not eq or not key:
                raise InvalidSpec(
                    f"{where}: line {start + 1}: {stripped!r} is not KEY=VALUE, [Section] or a comment"
                )
            if not section:
                raise InvalidSpec(f"{where}: line {start + 1}: {key}= appears before any [Section]")
            lines.append(Line(Kind.ENTRY, "".join(chunk), name=key, value=value.strip(WHITESPACE)))
        return cls(lines, path)

    @classmethod
    def read(cls, path: Path) -> UnitFile:
        try:
            text = path.read_text()
        except FileNotFoundError as e:
            raise NotFound(f"unit file {path} does not exist") from e
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidSpec(f"cannot read unit file {path}: {e}") from e
        return cls.parse(text, path)

    def to_text(self) -> str:
        return "".join(line.raw for line in self.lines)

    def write(self, path: Path | None = None) -> Path:
        """Write atomically (temp file + rename), so systemd never reads half a unit."""
        target = path or self.path
        if target is None:
            raise InvalidSpec("no path to write the unit file to")
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(self.to_text())
            tmp.replace(target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise InvalidSpec(f"cannot write unit file {target}: {e.strerror}") from e
        return target

    # -- structure -----------------------------------------------------------------------

    def _entries(self) -> Iterator[tuple[str, int, Line]]:
        section = ""
        for idx, line in enumerate(self.lines):
            if line.kind is Kind.SECTION:
                section = line.name
            elif line.kind is Kind.ENTRY:
                yield section, idx, line

    def sections(self) -> list[str]:
        seen: dict[str, None] = {}
        for line in self.lines:
            if line.kind is Kind.SECTION:
                seen.setdefault(line.name)
        return list(seen)

    def has_section(self, section: str) -> bool:
        return section in self.sections()

    def keys(self, section: str) -> list[str]:
        seen: dict[str, None] = {}
        for sec, _, line in self._entries():
            if sec == section:
                seen.setdefault(line.name)
        return list(seen)

    def raw_values(self, section: str, key: str) -> list[str]:
        """Every value of KEY in order, empty resets included."""
        return [
            line.value for sec, _, line in self._entries() if sec == section and line.name == key
        ]

    # -- lookups -------------------------------------------------------------------------

    def lookup(self, section: str, key: str) -> str | None:
        values = self.raw_values(section, key)
        return values[-1] if values else None

    def lookup_all(self, section: str, key: str) -> list[str]:
        return _apply_resets(self.raw_values(section, key))

    def lookup_bool(self, section: str, key: str, default: bool = False) -> bool:
        return parse_bool(self.lookup(section, key), default)

    def lookup_strv(self, section: str, key: str) -> list[str]:
        """Space-separated lists over all assignments (Wants=, After=, WantedBy= ...)."""
        out: list[str] = []
        for value in self.lookup_all(section, key):
            out.extend(split_words(value, unescape=False))
        return out

    def lookup_args(self, section: str, key: str) -> list[str] | None:
        """The last command line of KEY (ExecStart=...), split and unquoted as systemd does,
        `$$` and `%%` reduced (other specifiers stay as written)."""
        value = self.lookup(section, key)
        return None if value is None else split_exec(value)

    def lookup_env(self, section: str, key: str = "Environment") -> dict[str, str]:
        """Environment=-style KEY=VALUE words over all assignments (later wins)."""
        return env_words(self.lookup_all(section, key))

    # -- editing -------------------------------------------------------------------------

    def _section_end(self, section: str) -> int | None:
        """Index after the last entry/comment of the LAST block named SECTION."""
        end: int | None = None
        current = ""
        for idx, line in enumerate(self.lines):
            if line.kind is Kind.SECTION:
                current = line.name
                if current == section:
                    end = idx + 1
            elif current == section and line.kind is not Kind.BLANK:
                end = idx + 1
        return end

    def add(self, section: str, key: str, value: str) -> None:
        """Append KEY=VALUE at the end of SECTION (created at the end of the file if missing)."""
        line = _entry(key, value)
        end = self._section_end(section)
        if end is None:
            if self.lines and not self.lines[-1].raw.endswith("\n"):
                self.lines[-1].raw += "\n"
            if self.lines and self.lines[-1].kind is not Kind.BLANK:
                self.lines.append(Line(Kind.BLANK, "\n"))
            self.lines.append(Line(Kind.SECTION, f"[{_check_section(section)}]\n", name=section))
            self.lines.append(line)
            return
        prev = self.lines[end - 1]
        if not prev.raw.endswith("\n"):
            prev.raw += "\n"
        self.lines.insert(end, line)

    def set(self, section: str, key: str, value: str) -> None:
        """Replace the last KEY in SECTION (earlier ones stay: systemd reads the last), or add."""
        last = None
        for sec, idx, line in self._entries():
            if sec == section and line.name == key:
                last = idx
        if last is None:
            self.add(section, key, value)
            return
        old = self.lines[last]
        new = _entry(key, value)
        if not old.raw.endswith("\n"):
            new.raw = new.raw.removesuffix("\n")
        self.lines[last] = new

    def unset(self, section: str, key: str) -> int:
        """Remove every KEY in SECTION; returns how many lines went."""
        drop = {idx for sec, idx, line in self._entries() if sec == section and line.name == key}
        self.lines = [line for idx, line in enumerate(self.lines) if idx not in drop]
        return len(drop)

    def add_comment(self, text: str, *, top: bool = True) -> None:
        line = Line(Kind.COMMENT, f"# {text}\n" if text else "#\n")
        if top:
            self.lines.insert(0, line)
        else:
            self.lines.append(line)

    def set_args(self, section: str, key: str, argv: Sequence[str], *, wrap: bool = False) -> None:
        """Set a command line, each argument escaped; `wrap` puts each option on its own line."""
        self.set(section, key, format_command(argv, wrap=wrap))


def _check_section(name: str) -> str:
    if not name or any(c in name for c in "[]\n") or any(ord(c) < 32 for c in name):
        raise InvalidSpec(f"invalid unit file section name {name!r}")
    return name


def _entry(key: str, value: str) -> Line:
    if not key or "=" in key or key != key.strip() or "\n" in key or key[0] in COMMENT_CHARS + "[":
        raise InvalidSpec(f"invalid unit file key {key!r}")
    if "\r" in value:
        raise InvalidSpec(f"{key}=: value must not contain a carriage return")
    physical = value.split("\n")
    if len(physical) > 1 and not all(p.endswith("\\") for p in physical[:-1]):
        raise InvalidSpec(f"{key}=: value must not contain a newline (use a \\ continuation)")
    raw = f"{key}={value}\n"
    return Line(
        Kind.ENTRY,
        raw,
        name=key,
        value=_join_continuation(raw.splitlines()).partition("=")[2].strip(WHITESPACE),
    )


def _apply_resets(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v == "":
            out = []
        else:
            out.append(v)
    return out


def parse_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    v = value.strip().lower()
    if v in ("1", "yes", "y", "true", "t", "on"):
        return True
    if v in ("0", "no", "n", "false", "f", "off"):
        return False
    raise InvalidSpec(f"{value!r} is not a boolean (yes/no, true/false, on/off, 1/0)")


# -- units with drop-ins ---------------------------------------------------------------------


@dataclass
class Unit:
    """A unit file and its drop-ins, read as systemd reads them (drop-ins last, by name)."""

    main: UnitFile
    dropins: list[UnitFile] = field(default_factory=list)

    @property
    def files(self) -> list[UnitFile]:
        return [self.main, *self.dropins]

    def raw_values(self, section: str, key: str) -> list[str]:
        out: list[str] = []
        for f in self.files:
            out.extend(f.raw_values(section, key))
        return out

    def lookup(self, section: str, key: str) -> str | None:
        values = self.raw_values(section, key)
        return values[-1] if values else None

    def lookup_all(self, section: str, key: str) -> list[str]:
        return _apply_resets(self.raw_values(section, key))

    def lookup_strv(self, section: str, key: str) -> list[str]:
        out: list[str] = []
        for value in self.lookup_all(section, key):
            out.extend(split_words(value, unescape=False))
        return out

    def lookup_args(self, section: str, key: str) -> list[str] | None:
        value = self.lookup(section, key)
        return None if value is None else split_exec(value)

    def lookup_env(self, section: str, key: str = "Environment") -> dict[str, str]:
        return env_words(self.lookup_all(section, key))

    def sections(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.files:
            for s in f.sections():
                seen.setdefault(s)
        return list(seen)


def dropin_dirs(unit_path: Path) -> list[Path]:
    """`NAME.d/`, then for `a-b-c.service` the prefix dirs systemd also reads (`a-b-.service.d`,
    `a-.service.d`) and for an instance `tmpl@i.service` the template's `tmpl@.service.d`.
    Ordered broad to specific; systemd merges all `*.conf` by file name."""
    name = unit_path.name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return [unit_path.with_name(name + ".d")]
    dirs: list[str] = [f"{suffix}.d"]
    prefix, at, instance = stem.partition("@")
    parts = prefix.split("-")
    for i in range(1, len(parts)):
        dirs.append("-".join(parts[:i]) + f"-.{suffix}.d")
    if at and instance:
        dirs.append(f"{prefix}@.{suffix}.d")
    dirs.append(f"{name}.d")
    return [unit_path.with_name(d) for d in dirs]


def load(unit_path: Path) -> Unit:
    """Read a unit and every drop-in that applies to it; a later file name wins on conflicts."""
    main = UnitFile.read(unit_path)
    by_name: dict[str, Path] = {}
    for d in dropin_dirs(unit_path):
        if d.is_dir():
            for conf in d.glob("*.conf"):
                by_name[conf.name] = conf  # a more specific dir overrides the same file name
    dropins = [UnitFile.read(by_name[n]) for n in sorted(by_name)]
    return Unit(main, dropins)


# -- escaping -----------------------------------------------------------------------------


def escape_specifiers(text: str) -> str:
    """Make `%` literal in any unit file value (systemd.unit(5), "Specifiers")."""
    return text.replace("%", "%%")


def unescape_specifiers(text: str) -> str:
    return text.replace("%%", "%")


def escape_exec_arg(arg: str) -> str:
    """One argument of an Exec*= line, exactly as podman's generate systemd escapes it.

    `$` and `%` are doubled (no variable or specifier expansion); an argument with whitespace
    or a double quote is double-quoted with C escapes; elsewhere backslashes are doubled.
    """
    arg = arg.replace("$", "$$").replace("%", "%%")
    if arg == "":
        return '""'
    if any(c in arg for c in ' \t"') or any(ord(c) < 32 for c in arg):
        return c_quote(arg)
    if "'" in arg:
        return c_quote(arg)  # a bare ' would open a quote for systemd
    return arg.replace("\\", "\\\\")


def c_quote(s: str) -> str:
    """Go's strconv.Quote for an Exec*= word (systemd reads C escapes inside quotes)."""
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def format_command(argv: Sequence[str], *, wrap: bool = False, escaped: bool = False) -> str:
    """An Exec*= value. With `wrap`, every argument starting with `-` begins a new line
    (` \\` + newline + tab), as podman lays out its units."""
    words = list(argv) if escaped else [escape_exec_arg(a) for a in argv]
    if not words:
        return ""
    if not wrap:
        return " ".join(words)
    out = [words[0]]
    for w in words[1:]:
        out.append((" \\\n\t" if w.startswith("-") else " ") + w)
    return "".join(out)


EXEC_PREFIXES = "@-:+!"


def strip_exec_prefixes(value: str) -> str:
    """Drop the `-`, `@`, `+`, `!`, `:` prefixes of an Exec*= command."""
    v = value.lstrip()
    while v[:1] and v[0] in EXEC_PREFIXES:
        v = v[1:]
    return v


_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'", "s": " "}  # fmt: skip


def _unescape_one(s: str, i: int) -> tuple[str, int]:
    """C escape at s[i] (after the backslash): returns the text and the chars consumed."""
    c = s[i] if i < len(s) else ""
    if c in _C_ESCAPES:
        return _C_ESCAPES[c], 1
    if c == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", s[i + 1 : i + 3]):
        return chr(int(s[i + 1 : i + 3], 16)), 3
    if c == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 1 : i + 5]):
        return chr(int(s[i + 1 : i + 5], 16)), 5
    if c == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", s[i + 1 : i + 9]):
        return chr(int(s[i + 1 : i + 9], 16)), 9
    if re.fullmatch(r"[0-7]{3}", s[i : i + 3]):
        return chr(int(s[i : i + 3], 8)), 3
    raise InvalidSpec(f"unsupported escape \\{c} in {s!r}")


def split_words(value: str, *, unescape: bool = True) -> list[str]:
    """Split like systemd's extract_first_word (relaxed): whitespace separates, single and
    double quotes group and are removed, and with `unescape` C escapes are decoded (Exec*=
    lines); without it a backslash is an ordinary character (Wants=, WantedBy= lists)."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(value):
        c = value[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and unescape:
                text, n = _unescape_one(value, i + 1)
                cur.append(text)
                i += n
            else:
                cur.append(c)
        elif c in WHITESPACE:
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        elif c in "'\"":
            quote, in_word = c, True
        elif c == "\\" and unescape:
            in_word = True
            if i + 1 < len(value):
                text, n = _unescape_one(value, i + 1)
                cur.append(text)
                i += n
        else:
            cur.append(c)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def env_words(values: Iterable[str]) -> dict[str, str]:
    """`A=1 "B=two words"` assignments as a dict; a word without `=` is an error, as systemd
    ignores it with a warning and it is almost always an unquoted value with a space."""
    out: dict[str, str] = {}
    for value in values:
        for word in split_words(value):
            k, eq, v = word.partition("=")
            if not eq or not k:
                raise InvalidSpec(
                    f"{word!r} in {value!r} is not KEY=VALUE (quote values with spaces)"
                )
            out[k] = v
    return out


def split_exec(value: str) -> list[str]:
    """An Exec*= value as argv, with `$$` and `%%` reduced (no expansion of the rest)."""
    return [
        w.replace("$$", "$").replace("%%", "%") for w in split_words(strip_exec_prefixes(value))
    ]


_UNIT_NAME_RE = re.compile(
    r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|path|mount|scope|slice)$"
)


def check_unit_name(name: str) -> str:
    if len(name) > 255 or not _UNIT_NAME_RE.match(name) or name.startswith("."):
        raise InvalidSpec(f"{name!r} is not a valid systemd unit name")
    return name
