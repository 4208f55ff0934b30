"""A subset of Go's text/template, enough for podman-style `--format` strings.

Supported: `{{.Field.Sub}}`, `{{.}}`, `{{$}}`, trim markers `{{-`/`-}}`, pipelines with `|`,
string/number literals, functions (json, upper, lower, title, join, len, index, printf,
truncate, split, println, contains, not, eq, ne, and, or), and `range`/`if`/`else`/`with`/`end`.
Field lookup works on dicts and on objects; a missing field is an error naming the field,
as in Go.
"""

from __future__ import annotations

import re

from podctl import fastjson as json
from podctl.errors import InvalidSpec

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||[^\s|()]+')


class TemplateError(InvalidSpec):
    pass


def _go_str(v: Any) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_str(x)}" for k, x in v.items()) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_go_str(x) for x in v) + "]"
    return str(v)


def _truthy(v: Any) -> bool:
    return bool(v)


def _printf(fmt: str, *args: Any) -> str:
    conv = re.sub(r"%v", "%s", fmt)
    try:
        return conv % tuple(_go_str(a) if isinstance(a, (dict, list, bool)) else a for a in args)
    except (TypeError, ValueError) as e:
        raise TemplateError(f"template: printf {fmt!r}: {e}") from e


def go_json(v: Any) -> str:
    """Go's encoding/json, as podman's `json` template func and `{{json .}}`: compact,
    non-ASCII and <>& unescaped."""
    return json.dumps(v, default=str, separators=(",", ":"), ensure_ascii=False)


FUNCS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "upper": lambda v: _go_str(v).upper(),
    "lower": lambda v: _go_str(v).lower(),
    "title": lambda v: _go_str(v).title(),
    "join": lambda v, sep: sep.join(_go_str(x) for x in (v or [])),
    "split": lambda v, sep: _go_str(v).split(sep),
    "len": lambda v: len(v),
    "index": lambda v, *keys: _index(v, keys),
    "printf": _printf,
    "print": lambda *a: "".join(_go_str(x) for x in a),
    "println": lambda *a: " ".join(_go_str(x) for x in a) + "\n",
    "truncate": lambda v, n: _go_str(v)[: int(n)],
    "contains": lambda s, sub: sub in _go_str(s),
    "not": lambda v: not _truthy(v),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "and": lambda *a: next((x for x in a if not _truthy(x)), a[-1] if a else None),
    "or": lambda *a: next((x for x in a if _truthy(x)), a[-1] if a else None),
}


def _index(v: Any, keys: tuple[Any, ...]) -> Any:
    for k in keys:
        try:
            v = v[k]
        except (KeyError, IndexError, TypeError):
            return None
    return v


def _field(obj: Any, name: str, path: str) -> Any:
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        # podman's Go structs are templated by field name (`.Host.Arch`) but printed as JSON
        # with lowerCamel tags (`host.arch`): accept both spellings.
        lower = name[:1].lower() + name[1:]
        if lower in obj:
            return obj[lower]
        folded = {k.lower(): k for k in obj if isinstance(k, str)}
        if name.lower() in folded:
            return obj[folded[name.lower()]]
        raise TemplateError(f"template: can't evaluate field {name} in {path or '.'}")
    if hasattr(obj, name):
        v = getattr(obj, name)
        return v() if callable(v) else v
    raise TemplateError(f"template: can't evaluate field {name} in type {type(obj).__name__}")


class _Node:
    pass


class _Text(_Node):
    def __init__(self, text: str) -> None:
        self.text = text


class _Action(_Node):
    def __init__(self, expr: str) -> None:
        self.expr = expr


class _Block(_Node):
    def __init__(self, kind: str, expr: str) -> None:
        self.kind = kind
        self.expr = expr
        self.body: list[_Node] = []
        self.else_body: list[_Node] = []


def _parse(src: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Block | None, list[_Node]]] = [(None, root)]
    pos = 0
    pending_trim = False
    for m in _ACTION.finditer(src):
        text = src[pos : m.start()]
        if pending_trim:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        if text:
            stack[-1][1].append(_Text(text))
        pos = m.end()
        pending_trim = bool(m.group(3))
        body = m.group(2)
        word, _, rest = body.partition(" ")
        if word in ("range", "if", "with"):
            blk = _Block(word, rest.strip())
            stack[-1][1].append(blk)
            stack.append((blk, blk.body))
        elif word == "else":
            blk_ = stack[-1][0]
            if blk_ is None:
                raise TemplateError("template: unexpected {{else}}")
            stack[-1] = (blk_, blk_.else_body)
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("template: unexpected {{end}}")
            stack.pop()
        elif body.startswith("/*"):
            continue
        else:
            stack[-1][1].append(_Action(body))
    if len(stack) != 1:
        raise TemplateError("template: unexpected EOF (missing {{end}})")
    tail = src[pos:]
    if pending_trim:
        tail = tail.lstrip()
    if tail:
        root.append(_Text(tail))
    return root


class Template:
    def __init__(self, src: str) -> None:
        self.src = src
        self.nodes = _parse(src)

    def render(self, data: Any) -> str:
        out: list[str] = []
        self._exec(self.nodes, data, data, out)
        return "".join(out)

    def _exec(self, nodes: list[_Node], dot: Any, top: Any, out: list[str]) -> None:
        for n in nodes:
            if isinstance(n, _Text):
                out.append(n.text)
            elif isinstance(n, _Action):
                out.append(_go_str(self._eval(n.expr, dot, top)))
            elif isinstance(n, _Block):
                val = self._eval(n.expr, dot, top)
                if n.kind == "if":
                    self._exec(n.body if _truthy(val) else n.else_body, dot, top, out)
                elif n.kind == "with":
                    if _truthy(val):
                        self._exec(n.body, val, top, out)
                    else:
                        self._exec(n.else_body, dot, top, out)
                else:
                    items = list(val.values()) if isinstance(val, dict) else list(val or [])
                    if not items:
                        self._exec(n.else_body, dot, top, out)
                    for item in items:
                        self._exec(n.body, item, top, out)

    def _eval(self, expr: str, dot: Any, top: Any) -> Any:
        tokens = _TOKEN.findall(expr)
        if not tokens:
            raise TemplateError(f"template: empty command in {self.src!r}")
        val, rest = self._pipeline(tokens, dot, top)
        if rest:
            raise TemplateError(f"template: unexpected {' '.join(rest)!r} in {{{{{expr}}}}}")
        return val

    def _pipeline(self, tokens: list[str], dot: Any, top: Any) -> tuple[Any, list[str]]:
        cmds: list[list[str]] = [[]]
        depth = 0
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t == "(":
                depth += 1
            elif t == ")":
                if depth == 0:
                    break
                depth -= 1
            if t == "|" and depth == 0:
                cmds.append([])
            else:
                cmds[-1].append(t)
            i += 1
        val: Any = _NOARG
        for cmd in cmds:
            val = self._command(cmd, dot, top, val)
        return val, tokens[i:]

    def _command(self, tokens: list[str], dot: Any, top: Any, piped: Any) -> Any:
        if not tokens:
            raise TemplateError(f"template: missing command in {self.src!r}")
        head = tokens[0]
        args = self._args(tokens[1:], dot, top)
        if piped is not _NOARG:
            args.append(piped)
        if head in FUNCS:
            try:
                return FUNCS[head](*args)
            except TemplateError:
                raise
            except Exception as e:
                raise TemplateError(f"template: error calling {head}: {e}") from e
        if args:
            raise TemplateError(f"template: {head} is not a function")
        return self._operand(head, dot, top)

    def _args(self, tokens: list[str], dot: Any, top: Any) -> list[Any]:
        out: list[Any] = []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t == "(":
                val, rest = self._pipeline(tokens[i + 1 :], dot, top)
                out.append(val)
                i = len(tokens) - len(rest) + 1
                continue
            out.append(self._operand(t, dot, top))
            i += 1
        return out

    def _operand(self, t: str, dot: Any, top: Any) -> Any:
        if t.startswith('"'):
            return json.loads(t)
        if t.startswith("`"):
            return t[1:-1]
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        if t in ("true", "false"):
            return t == "true"
        if t == "nil":
            return None
        if t == ".":
            return dot
        if t.startswith("$"):
            base, path = top, t[1:]
        elif t.startswith("."):
            base, path = dot, t
        elif t in FUNCS:
            return FUNCS[t]()
        else:
            raise TemplateError(f'template: function "{t}" not defined')
        walked = ""
        for part in path.split(".")[1:] if path.startswith(".") else []:
            if not part:
                continue
            base = _field(base, part, walked)
            walked += "." + part
        return base


_NOARG = object()


def normalize(fmt: str) -> str:
    """podman's report.NormalizeFormat: `\\t` and `\\n` escapes, and a final newline."""
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    if not fmt.endswith("\n"):
        fmt += "\n"
    return fmt
