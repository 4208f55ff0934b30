"""`podctl-quadlet`: the systemd generator turning Quadlet files into podctl services.

Called by systemd as `GENERATOR NORMAL_DIR EARLY_DIR LATE_DIR` (the units go to the first),
or by hand as `podctl-quadlet [--user] [--dryrun] [--no-kmsg-log] [-v] OUTDIR`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from podctl.errors import PodctlError
from podctl.quadlet.keys import GROUPS
from podctl.quadlet.model import Source
from podctl.quadlet.translate import translate
from podctl.systemd.unitfile import UnitFile, dropin_dirs

UNIT_DIR_ADMIN = "/etc/containers/systemd"


class Log:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.prefix = f"podctl-quadlet[{os.getpid()}]: "

    def __call__(self, msg: str) -> None:
        print(self.prefix + msg, file=sys.stderr, flush=True)

    def debug(self, msg: str) -> None:
        if self.verbose:
            self(msg)


def unit_dirs(user: bool) -> list[Path]:
    env = os.environ.get("QUADLET_UNIT_DIRS")
    if env:
        return _with_subdirs([Path(d) for d in env.split(":") if os.path.isabs(d)])
    if not user:
        roots = [Path("/run/containers/systemd"), Path(UNIT_DIR_ADMIN),
                 Path("/usr/share/containers/systemd")]  # fmt: skip
        return [d for d in _with_subdirs(roots) if not _under(d, Path(UNIT_DIR_ADMIN, "users"))]
    roots = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        roots.append(Path(runtime, "containers/systemd"))
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    roots.append(Path(config, "containers/systemd"))
    users = Path(UNIT_DIR_ADMIN, "users")
    out = _with_subdirs(roots)
    # /etc/containers/systemd/users applies to every user, except its numeric subdirs which
    # apply only to the user of that uid
    out += [d for d in _with_subdirs([users])
            if not re.fullmatch(r"\d+", d.relative_to(users).parts[0] if d != users else "x")]  # fmt: skip
    out += _with_subdirs([users / str(os.getuid())])
    return out


def _under(d: Path, root: Path) -> bool:
    return d == root or root in d.parents


def _with_subdirs(roots: list[Path]) -> list[Path]:
    seen: dict[str, Path] = {}

    def walk(d: Path) -> None:
        try:
            real = d.resolve()
        except OSError:
            return
        if str(real) in seen or real.name.endswith(".d") or not real.is_dir():
            return
        seen[str(real)] = real
        try:
            children = sorted(real.iterdir())
        except OSError:
            return
        for c in children:
            walk(c)

    for r in roots:
        walk(r)
    return list(seen.values())


def load_sources(dirs: list[Path], log: Log, errors: list[str]) -> list[Source]:
    sources: list[Source] = []
    seen: set[str] = set()
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if name in seen or os.path.splitext(name)[1] not in GROUPS:
                continue
            path = d / name
            log.debug(f"Loading source unit file {path}")
            try:
                src = Source(UnitFile.read(path), name, path)
            except PodctlError as e:
                errors.append(f"error loading {str(path)!r}, {e}")
                continue
            seen.add(name)
            _load_dropins(src, dirs, errors)
            sources.append(src)
    return sources


def _load_dropins(src: Source, dirs: list[Path], errors: list[str]) -> None:
    # most specific directory first; the first file of a given name wins
    names = [p.name for p in reversed(dropin_dirs(Path(src.filename)))]
    found: dict[str, Path] = {}
    for d in dirs:
        for n in names:
            try:
                entries = sorted(os.listdir(d / n))
            except OSError:
                continue
            for e in entries:
                if e.endswith(".conf") and e not in found:
                    found[e] = d / n / e
    for name in sorted(found):
        try:
            src.merge(UnitFile.read(found[name]))
        except PodctlError as e:
            errors.append(f"error loading {str(found[name])!r}, {e}")


def podctl_binary() -> str:
    here = Path(os.path.realpath(sys.argv[0])).parent / "podctl"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("podctl") or "podctl"


def enable(outdir: Path, text_unit: UnitFile, filename: str, log: Log) -> None:
    """[Install] as symlinks, as `systemctl enable` would (it cannot for generated units)."""
    links = [os.path.normpath(a) for a in text_unit.lookup_strv("Install", "Alias")]
    stem, ext = os.path.splitext(filename)
    target_name = filename
    if "@" in stem and stem.endswith("@"):
        inst = text_unit.lookup("Install", "DefaultInstance")
        target_name = f"{stem}{inst}{ext}" if inst else ""
    if target_name:
        for key, suffix in (("WantedBy", "wants"), ("RequiredBy", "requires")):
            for unit in text_unit.lookup_strv("Install", key):
                if "/" not in unit:
                    links.append(f"{unit}.{suffix}/{target_name}")
    for rel in links:
        link = outdir / rel
        target = os.path.relpath(filename, os.path.dirname(rel) or ".")
        try:
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        except OSError as e:
            log(f"Failed creating symlink {link}: {e}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="podctl-quadlet",
        description="Generate systemd services running podctl from Quadlet files.",
    )
    p.add_argument("--user", "-user", action="store_true", help="run as a user generator")
    p.add_argument("--dryrun", "-dryrun", action="store_true", help="print units, write none")
    p.add_argument("--no-kmsg-log", "-no-kmsg-log", action="store_true",
                   help="log to stderr only (podctl-quadlet never writes to /dev/kmsg)")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="print debug information")
    p.add_argument("--version", "-version", action="store_true", help="print the version")
    p.add_argument("outdirs", nargs="*", metavar="OUTDIR")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        from podctl import __version__

        print(__version__)
        return 0
    log = Log(args.verbose or args.dryrun)
    # podman tells by the name (`podman-user-generator`); a generator run by a non-root user
    # can only be serving that user's manager
    user = args.user or "user" in os.path.basename(sys.argv[0]) or os.geteuid() != 0
    errors: list[str] = []
    if not args.dryrun and not args.outdirs:
        log("missing output directory argument")
        return 1
    outdir = Path(args.outdirs[0]) if args.outdirs else Path(".")
    dirs = unit_dirs(user)
    sources = load_sources(dirs, log, errors)
    if not sources:
        log.debug(f"No files parsed from {[str(d) for d in dirs]}")
        return _finish(errors, log)
    if not args.dryrun:
        outdir.mkdir(parents=True, exist_ok=True)
    result = translate(sources, user=user, binary=podctl_binary())
    for w in result.warnings:
        log(w)
    errors.extend(result.errors)
    header = f"Automatically generated by {sys.argv[0]}"
    for svc in result.services:
        text = svc.to_text(header)
        if args.dryrun:
            print(f"---{outdir / svc.filename}---\n{text}")
            continue
        try:
            (outdir / svc.filename).write_text(text)
        except OSError as e:
            errors.append(f"generating service file {outdir / svc.filename}: {e}")
            continue
        enable(outdir, svc.unit, svc.filename, log)
    return _finish(errors, log)


def _finish(errors: list[str], log: Log) -> int:
    for e in errors:
        log(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
