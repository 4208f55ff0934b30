"""podctl.fastjson gives json's results: the same text from dumps, the same values and errors
from loads."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from podctl import fastjson

SAMPLES = [
    {"a": [1, 2.5, None, True, False, "x\u00e9\n\"\\\t"], "b": {"c": -1e300, "d": ""}},
    [],
    {},
    "str",
    "\u2603 snow",
    0,
    -17,
    10**30,
    1.0,
    0.1,
    None,
    [float("inf"), float("-inf")],
    {"z": 1, "a": 2, "m": [{"y": None}]},
    {1: "int key", False: "bool key", None: "null key", 2.5: "float key"},
    ("tuple", "as", "list"),
    {"ociVersion": "1.0.2", "process": {"args": ["sleep", "100"], "env": ["PATH=/bin"]}},
]


def _random_value(rnd: random.Random, depth: int = 0) -> object:
    kind = rnd.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rnd.randint(-(10**12), 10**12)
    if kind == 1:
        return rnd.uniform(-1e6, 1e6)
    if kind == 2:
        return "".join(chr(rnd.choice([rnd.randrange(32, 127), rnd.randrange(0, 0x3000)]))
                       for _ in range(rnd.randrange(12)))  # fmt: skip
    if kind == 3:
        return rnd.choice([None, True, False])
    if kind == 4:
        return ""
    if kind in (5, 6):
        return {str(_random_value(rnd, 4)): _random_value(rnd, depth + 1) for _ in range(rnd.randrange(5))}
    return [_random_value(rnd, depth + 1) for _ in range(rnd.randrange(5))]


KWARGS = [{}, {"sort_keys": True}, {"separators": (",", ":")}, {"ensure_ascii": False},
          {"indent": 2}, {"indent": 4, "default": str}]  # fmt: skip


def _outcome(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(*args, **kwargs))
    except (TypeError, ValueError) as e:
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("kwargs", KWARGS)
def test_dumps_matches_json(kwargs: dict) -> None:
    rnd = random.Random(7)
    for value in [*SAMPLES, *(_random_value(rnd) for _ in range(300))]:
        assert _outcome(fastjson.dumps, value, **kwargs) == _outcome(json.dumps, value, **kwargs)


def test_dumps_unserializable_and_default() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        fastjson.dumps({"x": object()})
    assert fastjson.dumps({"x": object()}, default=lambda o: "obj") == '{"x": "obj"}'
    with pytest.raises(ValueError, match="Circular reference"):
        loop: list[object] = []
        loop.append(loop)
        fastjson.dumps(loop)


def test_loads_matches_json() -> None:
    rnd = random.Random(11)
    for value in [*SAMPLES, *(_random_value(rnd) for _ in range(300))]:
        for text in (json.dumps(value), json.dumps(value, indent=1), f" \n\t{json.dumps(value)}\r\n "):
            assert repr(fastjson.loads(text)) == repr(json.loads(text))
            assert repr(fastjson.loads(text.encode())) == repr(json.loads(text.encode()))


@pytest.mark.parametrize("bad", ["", " ", "{", "[1,]", "1 2", '{"a":1}x', "nul", "\ufeff1", '"\\x"',
                                 "[1,2", '"a\nb"', "{'a': 1}", "[1] [2]", "NaNx"])  # fmt: skip
def test_loads_errors_match_json(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(bad)
    with pytest.raises(json.JSONDecodeError) as got:
        fastjson.loads(bad)
    assert (got.value.msg, got.value.pos) == (want.value.msg, want.value.pos)


def test_loads_bytes_with_bom_and_constants() -> None:
    assert fastjson.loads(b"\xef\xbb\xbf[1]") == [1]
    assert repr(fastjson.loads("[NaN, Infinity, -Infinity]")) == "[nan, inf, -inf]"


def test_import_leaves_json_package_out() -> None:
    """The point of the module: loading it and using it does not import the json package."""
    code = ("import sys, podctl.fastjson as f; f.loads(f.dumps({'a': [1, 'b']}, sort_keys=True)); "
            "print(sorted(m for m in sys.modules if m == 'json' or m.startswith('json.') or m == 'typing'))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
