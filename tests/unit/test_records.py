"""podctl.records.dataclass behaves as dataclasses.dataclass for what podctl uses."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

import pytest

from podctl import records


class Color(StrEnum):
    RED = "red"


def make(deco, fieldfn):  # type: ignore[no-untyped-def]
    @deco(frozen=True)
    class Inner:
        a: int
        b: tuple[str, ...] = ()

    @deco(frozen=True)
    class Outer:
        name: str
        inner: Inner | None = None
        items: tuple[Inner, ...] = ()
        color: Color = Color.RED
        extra: dict[str, object] = fieldfn(default_factory=dict, compare=False)
        count: int = fieldfn(default=3)

        def __post_init__(self) -> None:
            if not self.name:
                raise ValueError("name required")

        @property
        def upper(self) -> str:
            return self.name.upper()

    return Inner, Outer


FAST = make(records.dataclass, records.field)
REAL = make(dataclasses.dataclass, dataclasses.field)


@pytest.mark.parametrize("kinds", [FAST, REAL], ids=["records", "dataclasses"])
def test_same_behaviour(kinds) -> None:  # type: ignore[no-untyped-def]
    inner_cls, outer_cls = kinds
    i = inner_cls(1, ("x",))
    o = outer_cls("n", i, (inner_cls(2),), extra={"k": [1]})
    assert o.count == 3 and o.color == "red" and o.upper == "N"
    assert o == outer_cls("n", inner_cls(1, ("x",)), (inner_cls(2),), extra={"other": 1})  # extra not compared
    assert o != outer_cls("m", i)
    assert hash(i) == hash(inner_cls(1, ("x",)))
    assert outer_cls("a").extra is not outer_cls("a").extra  # default_factory per instance
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="name required"):
        outer_cls("")
    with pytest.raises(TypeError):
        outer_cls()
    with pytest.raises(TypeError):
        outer_cls("a", bogus=1)
    with pytest.raises(TypeError):
        inner_cls(1, (), 3)
    d = dataclasses.asdict(o)
    assert d == {"name": "n", "inner": {"a": 1, "b": ("x",)}, "items": ({"a": 2, "b": ()},),
                 "color": "red", "extra": {"k": [1]}, "count": 3}
    assert d["extra"]["k"] is not o.extra["k"]  # deep copy
    assert records.asdict(o) == d
    assert dataclasses.replace(o, name="z").name == "z"
    assert records.replace(o, count=9) == dataclasses.replace(o, count=9)
    assert [f.name for f in dataclasses.fields(o)] == ["name", "inner", "items", "color", "extra", "count"]
    assert records.field_names(outer_cls) == ("name", "inner", "items", "color", "extra", "count")
    assert dataclasses.is_dataclass(o)
    assert repr(i).endswith("Inner(a=1, b=('x',))")
    assert outer_cls.__match_args__ == ("name", "inner", "items", "color", "extra", "count")


def test_unsupported_options_fall_back_to_dataclasses() -> None:
    @records.dataclass(order=True)
    class Ordered:
        a: int

    assert Ordered(1) < Ordered(2)


def test_mutable_default_rejected() -> None:
    with pytest.raises(ValueError):

        @records.dataclass
        class Bad:
            a: list[int] = []  # noqa: RUF012
