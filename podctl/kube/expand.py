"""Kubernetes `$(VAR)` expansion, exactly as the kubelet does it.

A port of k8s.io/kubernetes third_party/forked/golang/expansion: `$(NAME)` becomes the value
of NAME when NAME is defined, and stays as written when it is not; `$$` is an escaped `$`
(so `$$(NAME)` gives the literal `$(NAME)`); any other `$` is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def mapping_func(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """Look NAME up in CONTEXTS in order; unknown names expand to themselves."""

    def lookup(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"$({name})"

    return lookup


def _read_variable(rest: str) -> tuple[str, bool, int]:
    # (text, is_variable, characters consumed after the `$`)
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        close = rest.find(")", 1)
        if close != -1:
            return rest[1:close], True, close + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def expand(text: str, lookup: Callable[[str], str]) -> str:
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text[cursor + 1 :])
            out.append(lookup(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)
