"""Printing results as podman does: tables, `--format json`, Go templates, `table ...`."""

from __future__ import annotations

import sys

from podctl.cli.common import echo

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any


def to_json(data: Any) -> str:
    import json  # noqa: PLC0415 - pretty-printing only: not on the paths systemd units run

    return json.dumps(data, indent=4, default=str)


def header_for(field: str, headers: Mapping[str, str] | None = None) -> str:
    """`CreatedAt` -> `CREATED AT`, unless the command names the column itself."""
    if headers and field in headers:
        return headers[field]
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", field).upper()


def table(rows: Sequence[Sequence[str]], out: Any = None) -> None:
    """Columns padded like Go's tabwriter with podman's settings (min width, padding 2)."""
    if not rows:
        return
    out = out or sys.stdout
    widths = [0] * max(len(r) for r in rows)
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    for r in rows:
        cells = [cell.ljust(widths[i]) + "  " if i < len(r) - 1 else cell for i, cell in enumerate(r)]
        out.write("".join(cells).rstrip() + "\n")


def emit(
    items: Sequence[Any],
    fmt: str,
    *,
    single: bool = False,
    headers: Mapping[str, str] | None = None,
    default_columns: Sequence[str] = (),
    noheading: bool = False,
) -> None:
    """Print ITEMS (dicts or objects with attributes) in the form `--format` asks for.

    `json` prints a JSON array (or the single object with single=True, as `podman info` does).
    A Go template is applied to each item; with a leading `table` a header row comes first and
    columns are aligned.
    """
    from podctl.cli.gotemplate import Template, normalize

    if fmt == "json" or fmt == "{{json .}}" and single:
        echo(to_json(items[0] if single and items else list(items)))
        return
    if not fmt:
        fmt = "table " + "\t".join("{{." + c + "}}" for c in default_columns)
    if fmt.startswith("table"):
        body = fmt[len("table") :].lstrip()
        if not body:
            body = "\t".join("{{." + c + "}}" for c in default_columns)
        body = body.replace("\\t", "\t")
        cols = body.split("\t")
        tmpls = [Template(c) for c in cols]
        rows: list[list[str]] = []
        if not noheading:
            rows.append([_header_of(c, headers) for c in cols])
        for item in items:
            rows.append([t.render(item) for t in tmpls])
        table(rows)
        return
    tmpl = Template(normalize(fmt))
    write = sys.stdout.write
    for item in items:
        write(tmpl.render(item))


def _header_of(col: str, headers: Mapping[str, str] | None) -> str:
    import re

    fields = re.findall(r"\{\{-?\s*(?:\w+\s+)?\.([A-Za-z0-9_.]+)", col)
    if len(fields) == 1 and col.strip().startswith("{{"):
        return header_for(fields[0].split(".")[-1], headers)
    return re.sub(r"\{\{.*?\}\}", "", col).strip().upper() or col.upper()


def report_batch(
    items: Iterable[Any],
    *,
    line: Callable[[Any], str] = lambda it: str(it.ref),
    print_ok: bool = True,
    code_of: Callable[[Any], int] | None = None,
) -> int:
    """Batch verbs (`rm a b c`) report per item and keep going: LINE(item) for each that worked,
    `Error: ...` on stderr for each that failed. Returns the exit status of the last failure
    (CODE_OF(error), else the error's own exit code), 0 when none failed."""
    status = 0
    for it in items:
        if it.ok:
            if print_ok:
                echo(line(it))
        else:
            echo(f"Error: {it.error}", err=True)
            status = code_of(it.error) if code_of else it.error.exit_code
    return status


def emit_inspect(data: Sequence[Any], fmt: str, errors: Sequence[Exception] = ()) -> None:
    """`inspect` output as podman: the objects found (JSON array or template), then each
    missing name as an error; the last error becomes the exit status."""
    if not fmt or fmt == "json":
        echo(to_json(list(data)))
    else:
        emit(data, fmt)
    if errors:
        for e in errors[:-1]:
            echo(f"Error: {e}", err=True)
        raise errors[-1]
