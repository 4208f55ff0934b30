"""The fast path: parse the hot commands' argv without importing click (~20 ms per process).

systemd's ExecStart/ExecStop lines, conmon's exit command (`container cleanup`) and scripts run
podctl over and over. `try_fast(argv)` parses argv with click's semantics from the generated
table in podctl.cli.argtable (derived from the click tree, see podctl.cli.argtable_gen), then
calls the same click-free command body the click callback calls. Anything it does not fully
understand (an unknown option, --help, a value click would reject, a missing argument, a
command not in the table) returns None: click then handles the whole argv exactly as before,
so every usage error and help text still comes from click.
"""

from __future__ import annotations

import os

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# click's `_PODCTL_COMPLETE` asks for shell completion: click's business.
COMPLETE_VAR = "_PODCTL_COMPLETE"


class _Refuse(Exception):
    """Something click would treat differently (or report): leave the argv to click."""


_UNSET: Any = object()  # click's UNSET: no value on the command line


def _is_short(opt: str) -> bool:
    # click's _split_opt: `-x` is short; `--x` and `-xy` are long
    return len(opt) == 2 and opt[1] != "-"


def _process(spec: dict[str, Any], opt: str, value: Any, values: dict[str, Any]) -> None:
    dest, action, const = spec["options"][opt]
    if action == "store":
        values[dest] = value
    elif action == "store_const":
        values[dest] = const
    elif action == "append":
        values.setdefault(dest, []).append(value)
    elif action == "append_const":
        values.setdefault(dest, []).append(const)
    elif action == "count":
        values[dest] = values.get(dest, 0) + 1
    else:
        raise _Refuse(action)


def _takes_value(spec: dict[str, Any], opt: str) -> bool:
    return spec["options"][opt][1] in ("store", "append")


def _known(spec: dict[str, Any], opt: str) -> bool:
    if opt in spec["bail"]:
        raise _Refuse(opt)  # --help and friends: click prints them
    return opt in spec["options"]


def _long(
    spec: dict[str, Any], opt: str, explicit: str | None, rargs: list[str], values: dict[str, Any]
) -> None:
    if _takes_value(spec, opt):
        if explicit is not None:
            value = explicit
        elif rargs:
            value = rargs.pop(0)
        else:
            raise _Refuse(f"{opt} requires an argument")
        _process(spec, opt, value, values)
    elif explicit is not None:
        raise _Refuse(f"{opt} does not take a value")
    else:
        _process(spec, opt, None, values)


def _short(spec: dict[str, Any], arg: str, rargs: list[str], values: dict[str, Any]) -> None:
    for i, ch in enumerate(arg[1:], start=2):
        opt = "-" + ch
        if not _is_short(opt) or not _known(spec, opt):
            raise _Refuse(f"no such option {opt}")
        if _takes_value(spec, opt):
            if i < len(arg):
                value = arg[i:]
            elif rargs:
                value = rargs.pop(0)
            else:
                raise _Refuse(f"{opt} requires an argument")
            _process(spec, opt, value, values)
            return
        _process(spec, opt, None, values)


def _options(spec: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """click's _OptionParser._process_args_for_options: the options, and the positionals."""
    values: dict[str, Any] = {}
    largs: list[str] = []
    rargs = list(args)
    while rargs:
        arg = rargs.pop(0)
        if arg == "--":
            break
        if arg[:1] == "-" and len(arg) > 1:
            long_opt, eq, explicit = arg.partition("=")
            if (not _is_short(long_opt) or long_opt in spec["bail"]) and _known(spec, long_opt):
                _long(spec, long_opt, explicit if eq else None, rargs, values)
            elif arg[:2] != "--":
                _short(spec, arg, rargs, values)
            else:
                raise _Refuse(f"no such option {long_opt}")
        elif spec["interspersed"]:
            largs.append(arg)
        else:
            rargs.insert(0, arg)
            break
    return values, largs + rargs


def _arguments(spec: dict[str, Any], positionals: list[str], values: dict[str, Any]) -> None:
    """click's _unpack_args for nargs 1 and -1 (at most one -1), then _Argument.process."""
    specs = spec["args"]
    rest = list(positionals)
    star = next((i for i, a in enumerate(specs) if a[1] == -1), None)
    head = specs if star is None else specs[:star]
    tail = [] if star is None else specs[star + 1 :]
    for dest, _nargs, _req in head:
        values[dest] = rest.pop(0) if rest else _UNSET
    tail_values: list[Any] = []
    for _ in tail:
        tail_values.insert(0, rest.pop() if rest else _UNSET)
    if star is not None:
        values[specs[star][0]] = tuple(rest) if rest else _UNSET
        rest = []
    for (dest, _nargs, _req), value in zip(tail, tail_values, strict=True):
        values[dest] = value
    if rest:
        raise _Refuse("unexpected extra arguments")


def _convert(kind: str, choices: tuple[str, ...], value: Any) -> Any:
    if kind in ("str", "raw", "bool"):
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise _Refuse(f"{value!r} is not an int") from None
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            raise _Refuse(f"{value!r} is not a float") from None
    if kind == "choice":
        if value not in choices:
            raise _Refuse(f"{value!r} is not one of {choices}")
        return value
    raise _Refuse(kind)


def parse_level(spec: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Parse ARGS against one command (or group) spec: its params as click's ctx.params, and
    what is left (a group's subcommand and its args). Raises _Refuse."""
    if spec["go_bools"]:
        from podctl.cli.actions.kube import go_bool_args

        try:
            args = go_bool_args(args, spec["go_bools"])
        except ValueError as e:
            raise _Refuse("not a boolean") from e
    values, positionals = _options(spec, args)
    if spec["args"]:
        _arguments(spec, positionals, values)
        positionals = []
    params: dict[str, Any] = {}
    for dest, (kind, choices, required) in spec["params"].items():
        raw = values.get(dest, _UNSET)
        if raw is _UNSET:
            if required:
                raise _Refuse(f"missing {dest}")
            params[dest] = spec["defaults"][dest]
        elif isinstance(raw, list | tuple):
            params[dest] = tuple(_convert(kind, choices, v) for v in raw)
        else:
            params[dest] = _convert(kind, choices, raw)
    return params, positionals


def parse(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(body "module:function", global params, command params), or None: leave it to click."""
    from podctl.cli import argtable

    try:
        root, rest = parse_level(argtable.ROOT, argv)
        if not rest:
            return None
        key, rest = rest[0], rest[1:]
        if key in argtable.GROUPS:
            _params, rest = parse_level(argtable.GROUPS[key], rest)
            if not rest:
                return None
            key, rest = f"{key} {rest[0]}", rest[1:]
        target = argtable.PATHS.get(key)
        if target is None:
            return None
        spec = argtable.COMMANDS[target]
        params, extra = parse_level(spec, rest)
        if extra:
            return None
    except _Refuse:
        return None
    return spec["action"], root, params


def try_fast(argv: list[str]) -> int | None:
    """Run ARGV through the fast path and return the exit status, or None for click to do it."""
    if COMPLETE_VAR in os.environ:
        return None
    try:
        parsed = parse(argv)
    except Exception:  # a parser bug must not break a command click can run: let click parse
        parsed = None
    if parsed is None:
        return None
    action, root, params = parsed
    from podctl.cli.common import invoke_as_click, make_globals, run_guarded

    module, _, attr = action.partition(":")
    body = getattr(__import__(module, fromlist=[attr]), attr)  # not importlib: its imports

    def call() -> Any:
        return body(make_globals(**root), **params)

    return run_guarded(lambda: invoke_as_click(call))
