"""registries.conf (v2), read where podman reads it, and short-name resolution.

Files: `$CONTAINERS_REGISTRIES_CONF`, else `~/.config/containers/registries.conf` when it exists,
else `/etc/containers/registries.conf`; then drop-ins from `/etc/containers/registries.conf.d`
and `~/.config/containers/registries.conf.d` in order, each one replacing the
`unqualified-search-registries`, `short-name-mode` and the `[[registry]]` with the same prefix,
and adding `[aliases]` (c/image sysregistriesv2 semantics).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from podctl.config import load_toml, xdg_config_home
from podctl.errors import InvalidConfig, RegistryError
from podctl.image.reference import Reference, parse

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field

SYSTEM_CONF = Path("/etc/containers/registries.conf")
SYSTEM_DROPINS = Path("/etc/containers/registries.conf.d")


@dataclass(frozen=True)
class Endpoint:
    location: str  # host[:port][/path prefix]
    insecure: bool = False
    pull_from_mirror: str = "all"  # all | digest-only | tag-only

    @property
    def host(self) -> str:
        return self.location.split("/", 1)[0]


@dataclass(frozen=True)
class RegistryEntry:
    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirrors: tuple[Endpoint, ...] = ()


@dataclass
class RegistriesConf:
    search: list[str] = field(default_factory=list)
    short_name_mode: str = "permissive"
    registries: dict[str, RegistryEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def find(self, name: str) -> RegistryEntry | None:
        """The [[registry]] whose prefix matches NAME (repository name) best, as c/image does."""
        best: RegistryEntry | None = None
        best_len = -1
        for entry in self.registries.values():
            if _prefix_matches(entry.prefix, name) and len(entry.prefix) > best_len:
                best, best_len = entry, len(entry.prefix)
        return best

    def pull_sources(self, ref: Reference) -> list[tuple[Reference, bool]]:
        """Where to pull REF from: mirrors then the primary location, each with its `insecure`."""
        entry = self.find(ref.name)
        if entry is None:
            return [(ref, False)]
        if entry.blocked:
            raise RegistryError(
                f"registry {ref.domain} is blocked in registries.conf (prefix {entry.prefix!r})"
            )
        out: list[tuple[Reference, bool]] = []
        for m in entry.mirrors:
            if m.pull_from_mirror == "digest-only" and not ref.digest:
                continue
            if m.pull_from_mirror == "tag-only" and ref.digest:
                continue
            out.append((_rewrite(ref, entry.prefix, m.location), m.insecure))
        out.append((_rewrite(ref, entry.prefix, entry.location), entry.insecure))
        return out

    def insecure(self, domain: str) -> bool:
        entry = self.find(domain)
        return bool(entry and entry.insecure)

    def blocked(self, name: str) -> bool:
        entry = self.find(name)
        return bool(entry and entry.blocked)


def _prefix_matches(prefix: str, name: str) -> bool:
    if prefix.startswith("*."):
        host = name.split("/", 1)[0]
        return host.endswith(prefix[1:])
    if name == prefix:
        return True
    return name.startswith(prefix) and name[len(prefix)] in "/:@"


def _rewrite(ref: Reference, prefix: str, location: str) -> Reference:
    if prefix.startswith("*.") or not location:
        return ref
    rest = ref.name[len(prefix) :]
    new = parse(location + rest)
    return Reference(new.domain, new.path, ref.tag, ref.digest)


def config_files() -> tuple[Path | None, list[Path]]:
    """The main registries.conf and the drop-ins, in the order podman reads them."""
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    user_conf = xdg_config_home() / "containers" / "registries.conf"
    main: Path | None
    if env:
        main = Path(env)
    elif user_conf.is_file():
        main = user_conf
    elif SYSTEM_CONF.is_file():
        main = SYSTEM_CONF
    else:
        main = None
    dropins: list[Path] = []
    for d in (SYSTEM_DROPINS, xdg_config_home() / "containers" / "registries.conf.d"):
        if d.is_dir():
            dropins.extend(sorted(p for p in d.glob("*.conf") if p.is_file()))
    return main, dropins


def load() -> RegistriesConf:
    main, dropins = config_files()
    conf = RegistriesConf()
    for f in ([main] if main else []) + dropins:
        if main is not None and f == main and not f.exists():
            raise InvalidConfig(f"{f}: registries configuration does not exist")
        _merge(conf, load_toml(f), f)
        conf.files.append(f)
    return conf


def parse_text(text: str, name: str = "registries.conf") -> RegistriesConf:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidConfig(f"{name}: {e}") from e
    conf = RegistriesConf()
    _merge(conf, data, Path(name))
    return conf


def _merge(conf: RegistriesConf, data: dict[str, Any], path: Path) -> None:
    if "registries" in data and isinstance(data["registries"], dict):
        raise InvalidConfig(f"{path}: registries.conf v1 ([registries.search]) is not supported")
    if "unqualified-search-registries" in data:
        search = data["unqualified-search-registries"]
        if not isinstance(search, list) or not all(isinstance(s, str) for s in search):
            raise InvalidConfig(f"{path}: unqualified-search-registries must be a list of strings")
        conf.search = list(search)
    if "short-name-mode" in data:
        mode = data["short-name-mode"]
        if mode not in ("enforcing", "permissive", "disabled"):
            raise InvalidConfig(f"{path}: short-name-mode {mode!r} is not enforcing|permissive|disabled")
        conf.short_name_mode = mode
    regs = data.get("registry", [])
    if not isinstance(regs, list):
        raise InvalidConfig(f"{path}: [[registry]] must be an array of tables")
    for i, reg in enumerate(regs):
        entry = _entry(reg, f"{path}: [[registry]] #{i + 1}")
        conf.registries[entry.prefix] = entry
    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict):
        raise InvalidConfig(f"{path}: [aliases] must be a table")
    for k, v in aliases.items():
        if not isinstance(v, str):
            raise InvalidConfig(f"{path}: alias {k!r} must be a string")
        conf.aliases[k] = v


def _entry(reg: Any, where: str) -> RegistryEntry:
    if not isinstance(reg, dict):
        raise InvalidConfig(f"{where} must be a table")
    location = str(reg.get("location", "")).rstrip("/")
    prefix = str(reg.get("prefix", "") or location).rstrip("/")
    if not prefix:
        raise InvalidConfig(f"{where}: needs a location or a prefix")
    if location.startswith(("http://", "https://")):
        raise InvalidConfig(f"{where}: location {location!r} must not include a scheme")
    mirrors = []
    for j, m in enumerate(reg.get("mirror", []) or []):
        if not isinstance(m, dict) or not m.get("location"):
            raise InvalidConfig(f"{where}: mirror #{j + 1} needs a location")
        mode = m.get("pull-from-mirror", "all") or "all"
        if mode not in ("all", "digest-only", "tag-only"):
            raise InvalidConfig(f"{where}: mirror #{j + 1}: pull-from-mirror {mode!r} is invalid")
        mirrors.append(Endpoint(str(m["location"]).rstrip("/"), bool(m.get("insecure")), mode))
    return RegistryEntry(
        prefix=prefix,
        location=location,
        insecure=bool(reg.get("insecure", False)),
        blocked=bool(reg.get("blocked", False)),
        mirrors=tuple(mirrors),
    )


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def candidates(conf: RegistriesConf, ref: Reference, *, interactive: bool | None = None) -> list[Reference]:
    """The qualified references to try for REF, in order (podman's short-name resolution)."""
    if ref.qualified:
        return [ref]
    alias = conf.aliases.get(ref.path)
    if alias and conf.short_name_mode != "disabled":
        target = parse(alias)
        if not target.qualified:
            raise InvalidConfig(f"registries.conf: alias {ref.path!r} -> {alias!r} is not qualified")
        return [Reference(target.domain, target.path, ref.tag or target.tag, ref.digest)]
    if not conf.search:
        raise RegistryError(
            f"short-name {str(ref)!r} did not resolve to an alias and no "
            "unqualified-search registries are defined in registries.conf",
            hint="use a fully qualified name (registry/repository:tag)",
        )
    refs = [ref.with_domain(r) for r in conf.search]
    if len(refs) == 1 or conf.short_name_mode != "enforcing":
        return refs
    if interactive is None:
        interactive = _interactive()
    if not interactive:
        raise RegistryError(
            f"short-name resolution enforced but cannot prompt without a TTY: {str(ref)!r} "
            f"could be any of {', '.join(r.name for r in refs)}",
            hint="use a fully qualified name (registry/repository:tag)",
        )
    return [_prompt(refs)]


def _prompt(refs: list[Reference]) -> Reference:
    import click

    click.echo("? Please select an image:", err=True)
    for i, r in enumerate(refs, 1):
        click.echo(f"  {i}. {r.name}:{r.tag_or_latest}", err=True)
    choice = click.prompt("Choice", type=click.IntRange(1, len(refs)), err=True)
    return refs[int(choice) - 1]

