"""Derive podctl/cli/argtable.py (the fast path's argument table) from the click tree.

click stays the one source of truth for options, help and errors; the fast path
(podctl.cli.fast) parses the hot commands from this table without importing click.

    python -m podctl.cli.argtable_gen --write     # regenerate podctl/cli/argtable.py
    python -m podctl.cli.argtable_gen --check     # exit 1 when the checked-in table is stale

tests/unit/test_cli_fast.py regenerates the table and asserts it equals the checked-in one.
A click feature the fast parser does not model (envvars, prompts, callbacks, nargs > 1,
other types ...) makes generation fail, rather than leaving a table that parses differently.
"""

from __future__ import annotations

import pprint
import sys
from pathlib import Path
from typing import Any

import click

from podctl.cli.main import cli, load_attr
from podctl.cli.registry import COMMANDS as REGISTRY

# The hot commands: click command ("module:attr") -> its click-free body ("module:function").
# Every path that reaches one of these click objects (aliases, `container X`) gets a table entry.
HOT: dict[str, str] = {
    "podctl.cli.container:run": "podctl.cli.actions.container:run",
    "podctl.cli.container:create": "podctl.cli.actions.container:create",
    "podctl.cli.container:start": "podctl.cli.actions.container:start",
    "podctl.cli.container:stop": "podctl.cli.actions.container:stop",
    "podctl.cli.container:restart": "podctl.cli.actions.container:restart",
    "podctl.cli.container:kill": "podctl.cli.actions.container:kill",
    "podctl.cli.container:rm": "podctl.cli.actions.container:rm",
    "podctl.cli.container:ps": "podctl.cli.actions.container:ps",
    "podctl.cli.container:inspect": "podctl.cli.actions.container:inspect",
    "podctl.cli.container:exists": "podctl.cli.actions.container:exists",
    "podctl.cli.container:cleanup": "podctl.cli.actions.container:cleanup",
    "podctl.cli.container:wait": "podctl.cli.actions.container:wait",
    "podctl.cli.container:logs": "podctl.cli.actions.container:logs",
    "podctl.cli.container:exec_": "podctl.cli.actions.container:exec_",
    "podctl.cli.pod:create": "podctl.cli.actions.pod:create",
    "podctl.cli.pod:start": "podctl.cli.actions.pod:start",
    "podctl.cli.pod:stop": "podctl.cli.actions.pod:stop",
    "podctl.cli.pod:rm": "podctl.cli.actions.pod:rm",
    "podctl.cli.pod:ps": "podctl.cli.actions.pod:ps",
    "podctl.cli.pod:exists": "podctl.cli.actions.pod:exists",
    "podctl.cli.pod:inspect": "podctl.cli.actions.pod:inspect",
    "podctl.cli.kube:kube_play": "podctl.cli.actions.kube:play",
    "podctl.cli.kube:kube_down": "podctl.cli.actions.kube:down",
    "podctl.cli.kube:play_kube": "podctl.cli.actions.kube:play_kube",
    "podctl.cli.healthcheck:run": "podctl.cli.actions.health:run",
}

TABLE_PATH = Path(__file__).with_name("argtable.py")


class Unsupported(Exception):
    """The click tree uses something the fast parser does not model."""


def _type(param: click.Parameter) -> tuple[str, tuple[str, ...]]:
    t = param.type
    if isinstance(t, click.Choice):
        if not t.case_sensitive or not all(isinstance(c, str) for c in t.choices):
            raise Unsupported(f"{param.name}: only case-sensitive str choices")
        return "choice", tuple(str(c) for c in t.choices)
    kinds = {click.types.StringParamType: "str", click.types.IntParamType: "int",
             click.types.FloatParamType: "float", click.types.BoolParamType: "bool",
             click.types.UnprocessedParamType: "raw"}  # fmt: skip
    name = kinds.get(type(t))
    if name is not None:
        return name, ()
    raise Unsupported(f"{param.name}: type {t!r}")


def _check_plain(param: click.Parameter) -> None:
    if param.envvar or param.callback is not None or param.is_eager or not param.expose_value:
        raise Unsupported(f"{param.name}: envvar, callback, eager or hidden value")
    if getattr(param, "prompt", None):
        raise Unsupported(f"{param.name}: prompt")


def _option_forms(opts: list[str]) -> None:
    for o in opts:
        if not o.startswith("-") or o.startswith("---") or len(o) < 2 or "=" in o:
            raise Unsupported(f"option spelling {o!r}")


def spec_of(cmd: click.Command, ctx: click.Context) -> dict[str, Any]:
    """The parse table of one command or group, in the shape podctl.cli.fast reads."""
    group = isinstance(cmd, click.Group)
    if (
        ctx.ignore_unknown_options
        or ctx.token_normalize_func
        or (ctx.allow_extra_args and not group)
    ):
        raise Unsupported(f"{cmd.name}: context settings")
    if ctx.default_map or ctx.auto_envvar_prefix:
        raise Unsupported(f"{cmd.name}: default_map or auto_envvar_prefix")
    options: dict[str, tuple[str, str, Any]] = {}
    params: dict[str, tuple[str, tuple[str, ...], bool]] = {}
    args: list[tuple[str, int, bool]] = []
    bail: list[str] = []
    for p in cmd.get_params(ctx):
        if isinstance(p, click.Option) and (p.is_eager and not p.expose_value):
            # --help, --version: click answers them itself
            _option_forms(p.opts + p.secondary_opts)
            bail += p.opts + p.secondary_opts
            continue
        _check_plain(p)
        assert p.name is not None
        kind, choices = _type(p)
        if isinstance(p, click.Argument):
            if p.nargs not in (1, -1) or p.multiple:
                raise Unsupported(f"{p.name}: argument nargs {p.nargs}")
            args.append((p.name, p.nargs, p.required))
            params[p.name] = (kind, choices, p.required)
            continue
        if not isinstance(p, click.Option) or p.nargs != 1 or p._flag_needs_value:
            raise Unsupported(f"{p.name}: option nargs {p.nargs} or optional value")
        _option_forms(p.opts + p.secondary_opts)
        action = "append" if p.multiple else "count" if p.count else "store"
        if p.is_flag:
            if not p.is_bool_flag:
                raise Unsupported(f"{p.name}: non-boolean flag")
            for o in p.opts:
                options[o] = (p.name, action + "_const", True)
            for o in p.secondary_opts:
                options[o] = (p.name, action + "_const", False)
        else:
            if p.secondary_opts:
                raise Unsupported(f"{p.name}: secondary names on a value option")
            for o in p.opts:
                options[o] = (p.name, action, None)
        params[p.name] = (kind, choices, p.required)
    if group and (args or ctx.allow_interspersed_args or cmd.chain or cmd.invoke_without_command):  # type: ignore[attr-defined]
        raise Unsupported(f"{cmd.name}: group settings")
    defaults = cmd.make_context(ctx.info_name, [], parent=ctx.parent, resilient_parsing=True).params
    for name, value in defaults.items():
        if not _literal(value):
            raise Unsupported(f"{name}: default {value!r}")
    return {
        "interspersed": ctx.allow_interspersed_args,
        "go_bools": tuple(getattr(cmd, "go_bools", ())),
        "options": options,
        "bail": tuple(bail),
        "args": tuple(args),
        "params": params,
        "defaults": defaults,
    }


def _literal(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_literal(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def build() -> dict[str, Any]:
    """Walk the click tree from the root: every path to a hot command, and the groups between."""
    hot = {id(load_attr(target)): target for target in HOT}
    root_ctx = click.Context(cli, info_name="podctl", **cli.context_settings)
    groups: dict[str, Any] = {}
    paths: dict[str, str] = {}
    commands: dict[str, Any] = {}

    def visit(path: list[str], cmd: click.Command, parent: click.Context) -> None:
        ctx = click.Context(cmd, info_name=path[-1], parent=parent, **cmd.context_settings)
        target = hot.get(id(cmd))
        if target is not None:
            paths[" ".join(path)] = target
            if target not in commands:
                commands[target] = {"action": HOT[target], **spec_of(cmd, ctx)}
            return
        if isinstance(cmd, click.Group) and len(path) == 1:
            before = len(paths)
            for name in sorted(cmd.commands):
                visit([*path, name], cmd.commands[name], ctx)
            if len(paths) > before:
                groups[path[0]] = spec_of(cmd, ctx)

    for name in sorted(REGISTRY):
        visit([name], load_attr(REGISTRY[name][0]), root_ctx)
    missing = set(HOT) - set(commands)
    if missing:
        raise Unsupported(f"hot commands not reachable from the root: {sorted(missing)}")
    return {"ROOT": spec_of(cli, root_ctx), "GROUPS": groups, "PATHS": paths, "COMMANDS": commands}


HEADER = '''"""The fast path's argument table for the hot commands. GENERATED from the click tree: do not edit.

Regenerate with `python -m podctl.cli.argtable_gen --write` (tests/unit/test_cli_fast.py fails
when this file no longer matches the click commands).

Command spec: interspersed (click's allow_interspersed_args), go_bools (kube's --x=false),
options (spelling -> (dest, parser action, const)), bail (--help/--version: leave to click),
args ((dest, nargs, required) in order), params (dest -> (type, choices, required)),
defaults (dest -> value click gives when absent).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# fmt: off
'''


def render(table: dict[str, Any] | None = None) -> str:
    table = build() if table is None else table
    out = [HEADER]
    for name in ("ROOT", "GROUPS", "PATHS", "COMMANDS"):
        text = pprint.pformat(table[name], width=100, sort_dicts=True)
        out.append(f"{name}: dict[str, Any] = {text}\n\n")
    return "".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["--write"]:
        TABLE_PATH.write_text(text)
        print(f"wrote {TABLE_PATH}")
        return 0
    if args == ["--check"]:
        if TABLE_PATH.read_text() != text:
            print(
                f"{TABLE_PATH} is stale: run python -m podctl.cli.argtable_gen --write",
                file=sys.stderr,
            )
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
