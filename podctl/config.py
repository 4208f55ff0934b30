"""XDG paths and containers.conf, read where podman reads them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from podctl.errors import InvalidConfig, PodctlError

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any
else:
    from podctl.records import dataclass, field

SYSTEM_CONF_DIRS = (Path("/usr/share/containers"), Path("/etc/containers"))


def home() -> Path:
    return Path(os.environ.get("HOME") or os.path.expanduser("~"))


def xdg_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or home() / ".config")


def xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or home() / ".local" / "share")


def xdg_runtime_dir() -> Path:
    """$XDG_RUNTIME_DIR, or /run/user/UID when it is ours, else a private dir in /tmp (as podman)."""
    env = os.environ.get("XDG_RUNTIME_DIR")
    if env:
        return Path(env)
    uid = os.getuid()
    run_user = Path(f"/run/user/{uid}")
    try:
        if run_user.stat().st_uid == uid:
            return run_user
    except OSError:
        pass
    return Path(f"/tmp/podctl-run-{uid}")


def ensure_private_dir(path: Path) -> Path:
    """Create a directory with mode 0700 (and its parents), and tighten it if it exists."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
        if st.st_mode & 0o077:
            path.chmod(0o700)
    except OSError as e:
        raise PodctlError(f"cannot create directory {path}: {e.strerror}") from e
    return path


def conf_files(name: str, env_var: str | None = None) -> list[Path]:
    """The config files podman reads for NAME, in override order (later wins).

    `$CONTAINERS_CONF` replaces the whole list, as in podman.
    """
    if env_var and os.environ.get(env_var):
        return [Path(os.environ[env_var])]
    stem = name.removesuffix(".conf")
    files: list[Path] = []
    for d in (*SYSTEM_CONF_DIRS, xdg_config_home() / "containers"):
        f = d / name
        if f.is_file():
            files.append(f)
        dropins = d / f"{stem}.conf.d"
        if dropins.is_dir():
            files.extend(sorted(p for p in dropins.glob("*.conf") if p.is_file()))
    return files


def load_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InvalidConfig(f"{path}: {e}") from e
    except OSError as e:
        raise InvalidConfig(f"{path}: cannot read: {e.strerror}") from e


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def merged(files: Iterable[Path]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in files:
        data = deep_merge(data, load_toml(f))
    return data


CONF_CACHE = "containers-conf.cache"


def _conf_key(files: Iterable[Path]) -> tuple[tuple[str, int, int, int, int], ...] | None:
    key = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return None
        key.append((str(f), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))
    return tuple(key)


def merged_cached(files: list[Path], cache_dir: Path) -> dict[str, Any]:
    """`merged(files)`, through a cache in CACHE_DIR (the runroot) keyed by each file's path,
    mtime, ctime, size and inode: every command reads containers.conf, and importing tomllib
    and parsing costs a few ms of each start-up. No cache file when CACHE_DIR does not exist;
    values marshal cannot store (TOML dates) are simply not cached."""
    import marshal

    key = _conf_key(files)
    if key is None or not files:
        return merged(files)
    cache = cache_dir / CONF_CACHE
    try:
        with open(cache, "rb") as fh:
            cached_key, data = marshal.load(fh)
        if cached_key == key and isinstance(data, dict):
            return data
    except (OSError, EOFError, ValueError, TypeError):
        pass
    data = merged(files)
    if cache_dir.is_dir():
        tmp = cache_dir / f".{CONF_CACHE}.{os.getpid()}"
        try:
            blob = marshal.dumps((key, data))
            with open(tmp, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, cache)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                tmp.unlink()
    return data


DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    """The effective settings: containers.conf merged, then the global flags on top."""

    root: Path
    runroot: Path
    runtime: str | None
    log_level: str
    files: tuple[Path, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def section(self, name: str) -> dict[str, Any]:
        sec = self.raw.get(name, {})
        if not isinstance(sec, dict):
            raise InvalidConfig(f"containers.conf: [{name}] must be a table")
        return sec

    @property
    def default_capabilities(self) -> tuple[str, ...]:
        caps = self.section("containers").get("default_capabilities")
        return tuple(c.upper().removeprefix("CAP_") for c in caps) if caps else DEFAULT_CAPABILITIES

    @property
    def rootless_network_cmd(self) -> str:
        """The network of a container or pod without --network: containers.conf [network]
        default_rootless_network_cmd (podman >= 4.7's key): pasta unless it says slirp4netns.
        pasta is podman 5's default too: one process per pod for outbound traffic and published
        ports, where slirp4netns needs a second one to forward ports fast (podctl.net)."""
        value = self.section("network").get("default_rootless_network_cmd", "pasta")
        if value not in ("slirp4netns", "pasta"):
            where = ", ".join(str(f) for f in self.files) or "containers.conf"
            raise InvalidConfig(f"{where}: [network] default_rootless_network_cmd = {value!r}: "
                                "must be \"slirp4netns\" or \"pasta\"")  # fmt: skip
        return str(value)

    @property
    def runtime_name(self) -> str | None:
        """--runtime, else containers.conf [engine] runtime; None means pick automatically."""
        return self.runtime or self.section("engine").get("runtime") or None

    def runtime_paths(self, name: str) -> list[str]:
        runtimes = self.section("engine").get("runtimes", {})
        paths = runtimes.get(name) if isinstance(runtimes, dict) else None
        return list(paths) if isinstance(paths, list) else []

    def helper_paths(self, key: str) -> list[str]:
        """[engine] conmon_path and similar lists of candidate paths."""
        paths = self.section("engine").get(key)
        if isinstance(paths, str):
            return [paths]
        return list(paths) if isinstance(paths, list) else []

    @property
    def storage_dir(self) -> Path:
        return self.root

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"


def load(
    *,
    root: str | None = None,
    runroot: str | None = None,
    runtime: str | None = None,
    log_level: str = "warn",
) -> Config:
    files = conf_files("containers.conf", "CONTAINERS_CONF")
    run_root = Path(runroot) if runroot else xdg_runtime_dir() / "podctl"
    raw = merged_cached(files, run_root)
    return Config(
        root=Path(root) if root else xdg_data_home() / "podctl",
        runroot=run_root,
        runtime=runtime,
        log_level=log_level,
        files=tuple(files),
        raw=raw,
    )


def data_path(*parts: str) -> Path:
    """A file shipped with podctl (templates/, man/): in the wheel, or in the source tree."""
    pkg = Path(__file__).resolve().parent
    installed = pkg / "_data" / Path(*parts)
    if installed.exists():
        return installed
    return pkg.parent / Path(*parts)
