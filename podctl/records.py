"""`@dataclass` for podctl's plain data classes, without the start-up cost of `dataclasses`.

`import dataclasses` pulls in inspect, ast, dis and tokenize (~6 ms here), and every
`@dataclass` compiles generated source for its methods (~0.3-1 ms per class, ContainerSpec
~2 ms): on the hot path of `run`, `ps`, `rm` and conmon's exit command that was ~20 ms per
process. This decorator builds the same classes from precompiled generic methods instead.

Modules use it as

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from dataclasses import dataclass, field     # mypy sees real dataclasses
    else:
        from podctl.records import dataclass, field

Behaviour kept: the constructor (positional and keyword arguments, defaults, default_factory,
`__post_init__`), `frozen` (dataclasses.FrozenInstanceError), `__eq__` and `__hash__` over the
compared fields, `__repr__`, `__match_args__`. `dataclasses.replace`, `fields`, `asdict` and
`is_dataclass` keep working: `__dataclass_fields__` is built from a real dataclass on first
use (importing `dataclasses` only then). Options this module does not implement (order,
init=False fields, kw_only, slots ...) fall back to the real `dataclasses.dataclass`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_MISSING = object()
_ATOMS = (str, int, float, bool, type(None), bytes)


class _Field:
    """What `field(...)` returns in a class body."""

    __slots__ = ("default", "default_factory", "compare", "repr", "hash", "unsupported")

    def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool,  # noqa: A002
                 hash: bool | None, unsupported: dict[str, Any]) -> None:  # fmt: skip  # noqa: A002
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr
        self.hash = hash
        self.unsupported = unsupported


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, compare: bool = True,
          repr: bool = True, hash: bool | None = None, **unsupported: Any) -> Any:  # fmt: skip  # noqa: A002
    return _Field(default, default_factory, compare, repr, hash, unsupported)


class _Spec:
    """The per-class field table the generic methods read."""

    __slots__ = ("names", "defaults", "factories", "compared", "shown", "hashed", "post_init")

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.defaults: dict[str, Any] = {}
        self.factories: dict[str, Callable[[], Any]] = {}
        self.compared: tuple[str, ...] = ()
        self.shown: tuple[str, ...] = ()
        self.hashed: tuple[str, ...] = ()
        self.post_init = False


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (text.startswith(("ClassVar", "typing.ClassVar", "InitVar",
                                                       "dataclasses.InitVar")))  # fmt: skip


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = type(self).__podctl_record__
    names = spec.names
    if len(args) > len(names):
        raise TypeError(f"{type(self).__qualname__}.__init__() takes {len(names) + 1} positional "
                        f"arguments but {len(args) + 1} were given")  # fmt: skip
    setter = object.__setattr__
    for name, value in zip(names, args, strict=False):
        if name in kwargs:
            raise TypeError(f"{type(self).__qualname__}.__init__() got multiple values for argument {name!r}")
        setter(self, name, value)
    for name in names[len(args):]:
        if name in kwargs:
            value = kwargs.pop(name)
        elif name in spec.defaults:
            value = spec.defaults[name]
        elif name in spec.factories:
            value = spec.factories[name]()
        else:
            raise TypeError(f"{type(self).__qualname__}.__init__() missing 1 required positional "
                            f"argument: {name!r}")  # fmt: skip
        setter(self, name, value)
    if kwargs:
        raise TypeError(f"{type(self).__qualname__}.__init__() got an unexpected keyword argument "
                        f"{next(iter(kwargs))!r}")  # fmt: skip
    if spec.post_init:
        self.__post_init__()


def _repr(self: Any) -> str:
    spec: _Spec = type(self).__podctl_record__
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in spec.shown)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__podctl_record__.compared  # type: ignore[attr-defined]
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    names = type(self).__podctl_record__.hashed
    return hash(tuple(getattr(self, n) for n in names))


def _frozen(self: Any, name: str) -> bool:
    """As dataclasses: fields are frozen, and so is everything on the decorated class itself
    (an undecorated subclass may set its own attributes)."""
    cls: Any = type(self)
    return name in cls.__podctl_record__.names or "__podctl_record__" in cls.__dict__


def _frozen_setattr(self: Any, name: str, value: object) -> None:
    if not _frozen(self, name):
        object.__setattr__(self, name, value)
        return
    import dataclasses

    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    if not _frozen(self, name):
        object.__delattr__(self, name)
        return
    import dataclasses

    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


class _LazyDataclassFields:
    """`cls.__dataclass_fields__` for dataclasses.replace/fields/asdict: real `Field`s, taken
    from a real dataclass made on first use (the only time `dataclasses` gets imported)."""

    def __get__(self, obj: object, owner: type) -> dict[str, Any]:
        import dataclasses

        spec: _Spec = owner.__podctl_record__  # type: ignore[attr-defined]
        cmp = set(spec.compared)
        shadow = dataclasses.make_dataclass(
            owner.__name__,
            [(n, object, dataclasses.field(compare=n in cmp)) for n in spec.names],
        )
        fields: dict[str, Any] = dict(shadow.__dataclass_fields__)  # type: ignore[attr-defined]
        type.__setattr__(owner, "__dataclass_fields__", fields)
        return fields


def _supported(cls: type) -> bool:
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name)
        if isinstance(value, _Field) and (value.unsupported or value.hash is not None):
            return False
    return True


def _process(cls: type, frozen: bool, eq: bool) -> type:
    spec = _Spec()
    names: list[str] = []
    for base in reversed(cls.__mro__[1:]):
        base_spec = base.__dict__.get("__podctl_record__")
        if base_spec is not None:
            names += [n for n in base_spec.names if n not in names]
            spec.defaults.update(base_spec.defaults)
            spec.factories.update(base_spec.factories)
    nocompare: set[str] = set()
    norepr: set[str] = set()
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        if name not in names:
            names.append(name)
        spec.defaults.pop(name, None)
        spec.factories.pop(name, None)
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            if not value.compare:
                nocompare.add(name)
            if not value.repr:
                norepr.add(name)
            if value.default_factory is not _MISSING:
                spec.factories[name] = value.default_factory
                delattr(cls, name)
            elif value.default is not _MISSING:
                spec.defaults[name] = value.default
                setattr(cls, name, value.default)
            else:
                delattr(cls, name)
        elif value is not _MISSING:
            if isinstance(value, (list, dict, set)):
                raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: "
                                 "use default_factory")  # fmt: skip
            spec.defaults[name] = value
    seen_default = False
    for name in names:
        has_default = name in spec.defaults or name in spec.factories
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        seen_default = seen_default or has_default
    spec.names = tuple(names)
    spec.compared = tuple(n for n in names if n not in nocompare)
    spec.shown = tuple(n for n in names if n not in norepr)
    spec.hashed = spec.compared
    spec.post_init = hasattr(cls, "__post_init__")
    setattr(cls, "__podctl_record__", spec)  # noqa: B010
    own = cls.__dict__
    if "__init__" not in own:
        setattr(cls, "__init__", _init)  # noqa: B010
    if "__repr__" not in own:
        setattr(cls, "__repr__", _repr)  # noqa: B010
    if eq and "__eq__" not in own:
        setattr(cls, "__eq__", _eq)  # noqa: B010
    if "__hash__" not in own or own["__hash__"] is None:
        if eq and frozen:
            setattr(cls, "__hash__", _hash)  # noqa: B010
        elif eq:
            setattr(cls, "__hash__", None)  # noqa: B010
    if frozen:
        setattr(cls, "__setattr__", _frozen_setattr)  # noqa: B010
        setattr(cls, "__delattr__", _frozen_delattr)  # noqa: B010
    setattr(cls, "__match_args__", spec.names)  # noqa: B010
    setattr(cls, "__dataclass_fields__", _LazyDataclassFields())  # noqa: B010
    return cls


def dataclass(cls: type | None = None, /, *, frozen: bool = False, eq: bool = True,
              **unsupported: Any) -> Any:  # fmt: skip
    """`dataclasses.dataclass` for the options podctl uses; anything else is the real one."""

    def wrap(c: type) -> type:
        if not unsupported and _supported(c):
            return _process(c, frozen, eq)
        import dataclasses

        for name in c.__dict__.get("__annotations__", {}):
            value = c.__dict__.get(name)
            if isinstance(value, _Field):
                kw = {"compare": value.compare, "repr": value.repr, "hash": value.hash, **value.unsupported}
                if value.default is not _MISSING:
                    kw["default"] = value.default
                if value.default_factory is not _MISSING:
                    kw["default_factory"] = value.default_factory
                setattr(c, name, dataclasses.field(**kw))
        return dataclasses.dataclass(c, frozen=frozen, eq=eq, **unsupported)  # type: ignore[no-any-return, call-overload]

    return wrap if cls is None else wrap(cls)


def is_record(obj: object) -> bool:
    return hasattr(type(obj), "__podctl_record__")


def field_names(cls_or_obj: Any) -> tuple[str, ...]:
    """The field names, in order, of a record or real dataclass (class or instance)."""
    spec = getattr(cls_or_obj, "__podctl_record__", None)
    if spec is not None:
        return spec.names  # type: ignore[no-any-return]
    import dataclasses

    return tuple(f.name for f in dataclasses.fields(cls_or_obj))


def replace(obj: Any, /, **changes: Any) -> Any:
    """dataclasses.replace for records (and real dataclasses)."""
    spec = getattr(type(obj), "__podctl_record__", None)
    if spec is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for name in spec.names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)


def asdict(obj: Any) -> dict[str, Any]:
    """dataclasses.asdict, for records (and real dataclasses inside them)."""
    if not is_record(obj) and not hasattr(type(obj), "__dataclass_fields__"):
        raise TypeError("asdict() should be called on dataclass instances")
    return _asdict(obj)  # type: ignore[no-any-return]


def _asdict(obj: Any) -> Any:
    if isinstance(obj, _ATOMS):
        return obj
    spec = getattr(type(obj), "__podctl_record__", None)
    if spec is not None:
        return {n: _asdict(getattr(obj, n)) for n in spec.names}
    if hasattr(type(obj), "__dataclass_fields__"):
        import dataclasses

        return {f.name: _asdict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_asdict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(_asdict(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_asdict(k), _asdict(v)) for k, v in obj.items())
    import enum

    if isinstance(obj, enum.Enum):
        return obj  # what copy.deepcopy returns for a member
    import copy

    return copy.deepcopy(obj)
