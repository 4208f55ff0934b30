"""json.loads and compact json.dumps straight on CPython's C accelerator (_json).

The json package itself costs every podctl process ~1.3 ms of imports (json.decoder,
json.encoder and json.scanner, measured 2026-11-28 against `import _json`: +1.30 ms against
+0.07 ms); its parsing and compact encoding are `_json`'s C scanner and encoder anyway. The
commands a systemd unit runs (pod create/start, run, stop, rm) read and write JSON on every
call, so they use this module. The results are the same as json's: the tests compare both.

Pretty-printing (`indent`) is left to the json package, which is imported only then.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    from _json import encode_basestring, encode_basestring_ascii, make_encoder, make_scanner
except ImportError:  # another Python without the C accelerator: the json package does it all
    make_scanner = None  # type: ignore[assignment,misc]

_WHITESPACE = " \t\n\r"


class _Context:
    """The attributes _json's scanner reads from a JSONDecoder (json.loads' defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


def _error(msg: str, doc: str, pos: int) -> ValueError:
    from json import JSONDecodeError  # noqa: PLC0415 - only on bad input

    return JSONDecodeError(msg, doc, pos)


def _default(o: object) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


if make_scanner is not None:
    _scan_once = make_scanner(_Context())  # type: ignore[arg-type]

    def loads(s: str | bytes | bytearray) -> Any:
        """json.loads(S): bytes are read as UTF-8; JSONDecodeError (a ValueError) on bad input."""
        if not isinstance(s, str):
            s = bytes(s).decode("utf-8-sig" if s[:3] == b"\xef\xbb\xbf" else "utf-8")
        elif s.startswith("\ufeff"):
            raise _error("Unexpected UTF-8 BOM (decode using utf-8-sig)", s, 0)
        start = len(s) - len(s.lstrip(_WHITESPACE))
        try:
            obj, end = _scan_once(s, start)
        except StopIteration as err:
            raise _error("Expecting value", s, err.value) from None
        rest = len(s) - len(s[end:].lstrip(_WHITESPACE))
        if rest != len(s):
            raise _error("Extra data", s, rest)
        return obj

    def dumps(obj: Any, *, indent: int | str | None = None, sort_keys: bool = False,
              separators: tuple[str, str] | None = None, ensure_ascii: bool = True,
              default: Callable[[Any], Any] | None = None) -> str:  # fmt: skip
        """json.dumps(OBJ, ...) for these keyword arguments; `indent` goes to the json package."""
        if indent is not None:
            import json  # noqa: PLC0415

            return json.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators,
                              ensure_ascii=ensure_ascii, default=default)  # fmt: skip
        item_sep, key_sep = separators or (", ", ": ")
        encode = make_encoder(
            {}, default or _default, encode_basestring_ascii if ensure_ascii else encode_basestring,
            None, key_sep, item_sep, sort_keys, False, True,
        )  # fmt: skip
        return "".join(encode(obj, 0))

else:  # pragma: no cover - CPython always has _json
    import json as _json_package

    def loads(s: str | bytes | bytearray) -> Any:
        return _json_package.loads(s)

    def dumps(obj: Any, *, indent: int | str | None = None, sort_keys: bool = False,
              separators: tuple[str, str] | None = None, ensure_ascii: bool = True,
              default: Callable[[Any], Any] | None = None) -> str:  # fmt: skip
        return _json_package.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators,
                                   ensure_ascii=ensure_ascii, default=default)  # fmt: skip
