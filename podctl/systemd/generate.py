"""`generate systemd`: unit files for a container or a pod, laid out as podman 4.3 lays them out.

A pure translator: it takes plain request objects (what the state knows about a container or
pod) and options, and returns unit texts. It reads no state and spawns nothing; the engine
(`podctl.engine.systemd`) fills the requests in. The templates in `templates/units/` hold only
the boilerplate; the command lines are assembled and escaped here.

`Flavor` says which CLI the units drive. `PODCTL` is the default; `PODMAN` reproduces podman
4.3.1's output byte for byte (the golden tests hold both to it), which keeps the layout honest.
Where podctl differs from podman on purpose (root flags such as `--root` are kept on every
command, `KillMode=mixed`, `RestartSec=` honoured, an ExecStopPost that starts no podctl when the
ID file says nothing is left), the flavor says so.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from podctl import __version__
from podctl.errors import InvalidSpec
from podctl.log import warn
from podctl.systemd.unitfile import escape_exec_arg, format_command

RESTART_POLICIES = (
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
)
DEFAULT_RESTART_POLICY = "on-failure"
MIN_TIMEOUT_STOP_SEC = 60  # added to the stop timeout: then systemd kills what is left
CIDFILE = "%t/%n.ctr-id"
# `/bin/sh -c GUARD sh FILE CMD...` runs CMD only if FILE exists ($$: a literal $ for systemd).
STOP_POST_GUARD = "/bin/sh -c '[ -e \"$$1\" ] || exit 0; shift; exec \"$$@\"' sh"

# Flags of `run`/`create` that take no value, so that the image (the first positional
# argument) can be found in a create command. podctl's own are added from its CLI.
BOOL_FLAGS = frozenset({
    "-d", "--detach", "--rm", "--replace", "-i", "--interactive", "-t", "--tty", "--privileged",
    "--read-only", "--read-only-tmpfs", "--no-read-only-tmpfs", "--env-host", "--init",
    "--no-hosts", "--no-healthcheck", "-P", "--publish-all", "--sig-proxy", "--http-proxy",
    "-q", "--quiet", "--rmi", "--help", "--tls-verify", "--oom-kill-disable",
})  # fmt: skip


@dataclass(frozen=True)
class Flavor:
    """The CLI the generated units drive, and the podman behaviours podctl departs from."""

    brand: str = "podctl"
    env_variable: str = "PODCTL_SYSTEMD_UNIT"
    man_page: str = "podctl-generate-systemd"
    run_root: str = "%t/podctl"  # RequiresMountsFor= of --new units without --runroot
    cgroups_flag: bool = False  # `run --cgroups=no-conmon` (podctl manages no cgroups)
    stop_cidfile: bool = True  # `stop`/`rm` accept `--cidfile`
    kill_mode: str = "mixed"  # SIGTERM to the monitor only; the container gets `stop`
    root_flags_everywhere: bool = True  # podman 4.3 drops --root/--runroot from ExecStop
    restart_sec: bool = True  # podman 4.3.1 accepts --restart-sec but writes no RestartSec=
    run_root_from_flags: bool = True  # --new: RequiresMountsFor= the create command's --runroot
    # --new: ExecStopPost runs `rm -f` only while the ID file exists. `rm`/`stop` remove the
    # file with its container, so after a clean ExecStop no podctl process starts here.
    stop_post_guard: bool = True
    # --new pods: ExecStart `pod create --start` (one podctl process, measured 0.90x -> ~0.7x
    # of podman's unit start) instead of podman's `pod create` in ExecStartPre then `pod start`.
    # Off: the units keep podman's structure, which users and issue 7 expect.
    pod_create_start: bool = False
    # `run --replace --cidfile` and `pod create --replace --pod-id-file` replace a leftover ID
    # file (and pod create a leftover --infra-conmon-pidfile): the units need no
    # `ExecStartPre=/bin/rm -f` first, one process less on every start.
    replace_id_files: bool = True


PODCTL = Flavor()
PODMAN = Flavor(
    brand="Podman",
    env_variable="PODMAN_SYSTEMD_UNIT",
    man_page="podman-generate-systemd",
    run_root="%t/containers",
    cgroups_flag=True,
    stop_cidfile=True,
    kill_mode="",
    root_flags_everywhere=False,
    restart_sec=False,
    run_root_from_flags=False,
    stop_post_guard=False,
    replace_id_files=False,
)


@dataclass(frozen=True)
class ContainerRequest:
    """What a unit needs to know about one container."""

    name: str
    id: str
    create_command: tuple[
        str, ...
    ] = ()  # argv it was created with: podctl [globals] run|create ...
    image: str = ""
    stop_timeout: int = 10
    restart_policy: str = ""  # the container's own --restart
    env: tuple[str, ...] = ()  # its environment, KEY=VALUE (for `-e KEY` pass-through)
    conmon_pidfile: str = ""  # needed without --new (Type=forking)
    run_root: str = ""  # the runroot it lives in (RequiresMountsFor= without --new)
    root_flags: tuple[str, ...] = ()  # global flags to reach it (--root, --runroot) without --new
    depends_on: tuple[str, ...] = ()  # names of other member containers it needs (pods)


@dataclass(frozen=True)
class PodRequest:
    name: str
    id: str
    infra_name: str
    infra_id: str
    infra_conmon_pidfile: str = ""
    create_command: tuple[str, ...] = ()  # podctl [globals] pod create ...
    stop_timeout: int = 10
    run_root: str = ""
    root_flags: tuple[str, ...] = ()
    members: tuple[ContainerRequest, ...] = ()


@dataclass(frozen=True)
class GenerateOptions:
    new: bool = False
    use_name: bool = False
    restart_policy: str | None = None
    restart_sec: int | None = None
    start_timeout: int | None = None
    stop_timeout: int | None = None
    container_prefix: str = "container"
    pod_prefix: str = "pod"
    separator: str = "-"
    wants: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # KEY=VALUE added as Environment= lines
    template: bool = False
    no_header: bool = False
    executable: tuple[str, ...] = ()  # () = this podctl
    timestamp: str | None = None  # None = now (unless no_header)
    version: str = __version__
    flavor: Flavor = PODCTL
    bool_flags: frozenset[str] = BOOL_FLAGS

    def __post_init__(self) -> None:
        if self.restart_policy is not None and self.restart_policy not in RESTART_POLICIES:
            raise InvalidSpec(
                f"--restart-policy={self.restart_policy}: must be one of {', '.join(RESTART_POLICIES)}"
            )
        for flag, value in (("--restart-sec", self.restart_sec), ("--start-timeout", self.start_timeout),
                            ("--stop-timeout", self.stop_timeout)):  # fmt: skip
            if value is not None and value < 0:
                raise InvalidSpec(f"{flag} must not be negative")
        for e in self.env:
            if "=" not in e or e.startswith("="):
                raise InvalidSpec(f"--env {e!r}: must be KEY=VALUE")


@dataclass(frozen=True)
class GeneratedUnit:
    service: str  # e.g. container-web (without .service)
    text: str
    kind: str  # container | pod
    template: bool = False

    @property
    def filename(self) -> str:
        return f"{self.service}{'@' if self.template else ''}.service"


def default_executable() -> tuple[str, ...]:
    """How systemd should run this podctl: its absolute path, else `python -m podctl`."""
    arg0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(arg0) == "podctl":
        path = arg0 if os.sep in arg0 else shutil.which(arg0)
        if path:
            return (os.path.abspath(path),)
    found = shutil.which("podctl")
    if found:
        return (os.path.abspath(found),)
    return (sys.executable, "-m", "podctl")


def service_name(prefix: str, separator: str, name: str) -> str:
    return f"{prefix}{separator}{name}" if prefix else name


# -- create commands -------------------------------------------------------------------------


@dataclass
class ParsedArgs:
    """The flags of a run/create (or pod create) command that generate cares about."""

    flag_count: int  # args before the first positional (the image)
    values: dict[str, list[str]] = field(default_factory=dict)  # long name -> values given

    def last(self, name: str) -> str | None:
        v = self.values.get(name)
        return v[-1] if v else None

    def given(self, name: str) -> bool:
        return name in self.values


_ALIASES = {"-d": "--detach", "-e": "--env", "-i": "--interactive", "-t": "--tty", "-P": "--publish-all",
            "-q": "--quiet"}  # fmt: skip


def parse_args(args: Sequence[str], bool_flags: Iterable[str]) -> ParsedArgs:
    """Find where the flags end (pflag with interspersed args off) and what they say."""
    bools = set(bool_flags)
    out = ParsedArgs(flag_count=len(args))
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.flag_count = i + 1
            return out
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if not eq and name not in bools:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            elif not eq:
                value = "true"
            out.values.setdefault(name, []).append(value)
        elif a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                short = "-" + a[j]
                name = _ALIASES.get(short, short)
                if a[j + 1 : j + 2] == "=":
                    out.values.setdefault(name, []).append(a[j + 2 :])
                    break
                if short in bools:
                    out.values.setdefault(name, []).append("true")
                    j += 1
                    continue
                value = a[j + 1 :]
                if not value:
                    value = args[i + 1] if i + 1 < len(args) else ""
                    i += 1
                out.values.setdefault(name, []).append(value)
                break
        else:
            out.flag_count = i
            return out
        i += 1
    return out


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes", "")


def _filter(
    args: Sequence[str], flag_count: int, drop_bool: set[str], drop_valued: set[str]
) -> list[str]:
    """Remove flags (all their spellings) from the flag part of ARGS."""
    out: list[str] = []
    i = 0
    while i < flag_count:
        a = args[i]
        name = a.partition("=")[0]
        if a in drop_bool or (name in drop_bool and "=" in a):
            i += 1
            continue
        if name in drop_valued:
            i += 1 if "=" in a else 2
            continue
        out.append(a)
        i += 1
    return out + list(args[flag_count:])


def _remove_exact(args: list[str], flag_count: int, words: set[str]) -> tuple[list[str], int]:
    head = [a for a in args[:flag_count] if a not in words]
    return head + args[flag_count:], len(head)


# -- rendering -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    from podctl.config import data_path

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("templates", "units"))),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return str(_environment().get_template(template).render(**context))
    except jinja2.TemplateNotFound as e:
        raise InvalidSpec(
            f"unit template {template} is missing from {_environment().loader.searchpath}"
        ) from e


def _timestamp(opts: GenerateOptions) -> str:
    if opts.no_header:
        return ""
    if opts.timestamp is not None:
        return opts.timestamp
    return time.strftime("%a %b %e %H:%M:%S %Z %Y")


def _common(opts: GenerateOptions, service: str, run_root: str) -> dict[str, Any]:
    f = opts.flavor
    return {
        "service_name": service,
        "template": opts.template,
        "no_header": opts.no_header,
        "brand": f.brand,
        "version": opts.version,
        "timestamp": _timestamp(opts),
        "man_page": f.man_page,
        "run_root": run_root,
        "wants": list(opts.wants),
        "after": list(opts.after),
        "requires": list(opts.requires),
        "env_variable": f.env_variable,
        "additional_envs": [escape_exec_arg(e) for e in opts.env],
        "restart_policy": opts.restart_policy or DEFAULT_RESTART_POLICY,
        "restart_sec": opts.restart_sec if f.restart_sec else None,
        "start_timeout": opts.start_timeout or 0,
    }


def _exe(opts: GenerateOptions) -> list[str]:
    return list(opts.executable or default_executable())


def _prefix(exe: Sequence[str], root: Sequence[str]) -> str:
    """`podctl --root X --runroot Y`, escaped and wrapped, to put a subcommand after."""
    return format_command([*exe, *root], wrap=True)


def _root_flags_of(cmd: Sequence[str], idx: int) -> list[str]:
    return list(cmd[1:idx])


def _run_root_of(root: Sequence[str], default: str) -> str:
    for i, a in enumerate(root):
        if a == "--runroot" and i + 1 < len(root):
            return escape_exec_arg(root[i + 1])
        if a.startswith("--runroot="):
            return escape_exec_arg(a.split("=", 1)[1])
    return default


# -- containers ------------------------------------------------------------------------------


def container_unit(
    req: ContainerRequest,
    opts: GenerateOptions,
    *,
    pod_service: str | None = None,
    pod_id_file: str | None = None,
) -> GeneratedUnit:
    name_or_id = req.name if opts.use_name else req.id
    service = service_name(opts.container_prefix, opts.separator, name_or_id)
    stop_timeout = opts.stop_timeout if opts.stop_timeout is not None else req.stop_timeout
    f = opts.flavor
    exe = _exe(opts)
    ctx = _common(opts, service, "")
    ctx.update(
        bound_to=[f"{pod_service}.service"] if pod_service else [],
        extra_envs=[],
        start_limit_burst="",
        timeout_stop_sec=MIN_TIMEOUT_STOP_SEC + stop_timeout,
        notify_access="",
        kill_mode="",
        pid_file="",
    )
    ctx["bound_to"] += sorted(
        f"{service_name(opts.container_prefix, opts.separator, d)}.service" for d in req.depends_on
    )
    if opts.new:
        _new_container(req, opts, ctx, exe, stop_timeout, service, pod_id_file)
    else:
        if opts.template:
            raise InvalidSpec("--template requires --new")
        if not req.conmon_pidfile:
            raise InvalidSpec(
                f"container {req.name}: conmon's PID file is unknown; start it once or use --new"
            )
        if req.restart_policy not in ("", "no"):
            warn(
                "container %s has restart policy %r which can lead to issues on shutdown: consider "
                "recreating it without a restart policy and use systemd's restart mechanism instead",
                req.name, req.restart_policy,
            )  # fmt: skip
        root = list(req.root_flags) if f.root_flags_everywhere else []
        prefix = _prefix(exe, root)
        target = escape_exec_arg(name_or_id)
        ctx.update(
            run_root=escape_exec_arg(req.run_root),
            exec_start_pre=[],
            exec_start=f"{prefix} start {target}",
            exec_stop=f"{prefix} stop  \\\n\t-t {stop_timeout} {target}",
            exec_stop_post=[f"{prefix} stop  \\\n\t-t {stop_timeout} {target}"],
            pid_file=escape_exec_arg(req.conmon_pidfile),
            type="forking",
        )
    return GeneratedUnit(service, render("container.service.j2", ctx), "container", opts.template)


def _new_container(
    req: ContainerRequest,
    opts: GenerateOptions,
    ctx: dict[str, Any],
    exe: list[str],
    stop_timeout: int,
    service: str,
    pod_id_file: str | None,
) -> None:
    f = opts.flavor
    cmd = list(req.create_command)
    idx = next((i + 1 for i, a in enumerate(cmd) if a in ("run", "create")), 0)
    if idx == 0 or len(cmd) <= idx:
        raise InvalidSpec(
            f"cannot use --new on container {req.name}: its create command is too short or "
            f"invalid: {cmd}"
        )
    root = _root_flags_of(cmd, idx - 1)
    rest = cmd[idx:]
    parsed = parse_args(rest, opts.bool_flags)
    container_restart = parsed.last("--restart")
    rest = _filter(rest, parsed.flag_count, {"--rm"}, {"--cgroups", "--cidfile", "--restart"})
    parsed = parse_args(rest, opts.bool_flags)
    # (word, already escaped)
    words: list[tuple[str, bool]] = [(w, False) for w in [*exe, *root]]
    words += [("run", False), (f"--cidfile={CIDFILE}", True)]
    if f.cgroups_flag:
        words.append(("--cgroups=no-conmon", True))
    words.append(("--rm", True))
    if pod_id_file:
        words += [("--pod-id-file", True), (pod_id_file, True)]
        rest = _filter(
            rest, parsed.flag_count, set(), {"--pod", "--pod-id-file", "--infra-conmon-pidfile"}
        )
        parsed = parse_args(rest, opts.bool_flags)
    sdnotify = parsed.last("--sdnotify")
    if sdnotify is None:
        words.append(("--sdnotify=conmon", True))
    elif sdnotify == "ignore":  # Type=notify would never become ready
        rest = _filter(rest, parsed.flag_count, set(), {"--sdnotify"})
        parsed = parse_args(rest, opts.bool_flags)
        words.append(("--sdnotify=conmon", True))
    if not _truthy(parsed.last("--detach")):
        words.append(("-d", True))
        if parsed.given("--detach"):
            rest, parsed.flag_count = _remove_exact(
                rest, parsed.flag_count, {"-d=false", "--detach=false"}
            )
    has_name = parsed.given("--name")
    if not has_name and not f.stop_cidfile:
        # Without `stop --cidfile` the unit can only find its container by name.
        words += [("--name", True), (escape_exec_arg(req.name), True)]
        has_name = True
    if has_name and not _truthy(parsed.last("--replace")):
        words.append(("--replace", True))
        if parsed.given("--replace"):
            rest, parsed.flag_count = _remove_exact(rest, parsed.flag_count, {"--replace=false"})
    if opts.restart_policy is None:
        # Unless --restart-policy says otherwise, the container's own --restart carries over.
        policy = container_restart
        if policy:
            if policy.startswith("on-failure:"):
                policy, _, burst = policy.partition(":")
                ctx["start_limit_burst"] = burst
            elif policy == "unless-stopped":
                policy = "always"
            ctx["restart_policy"] = policy
    container_env = dict(e.split("=", 1) for e in req.env if "=" in e)
    for e in parsed.values.get("--env", []):
        if "=" not in e and e in container_env:
            ctx["extra_envs"].append(escape_exec_arg(f"{e}={container_env[e]}"))
    escaped = [w if done else escape_exec_arg(w) for w, done in words]
    escaped += [escape_exec_arg(a) for a in rest]
    if opts.template:
        escaped = _name_for_template(escaped, service)
    root_for_stop = root if f.root_flags_everywhere else []
    prefix = _prefix(exe, root_for_stop)
    guard = f"{STOP_POST_GUARD} {CIDFILE} \\\n\t" if f.stop_post_guard else ""
    if f.stop_cidfile:
        stop = f"{prefix} stop \\\n\t--ignore -t {stop_timeout} \\\n\t--cidfile={CIDFILE}"
        stop_post = [
            f"{guard}{prefix} rm \\\n\t-f \\\n\t--ignore -t {stop_timeout} \\\n\t--cidfile={CIDFILE}"
        ]
    else:
        target = _name_in(escaped)
        stop = f"{prefix} stop \\\n\t--ignore -t {stop_timeout} {target}"
        # `rm --cidfile` would remove the ID file; without it, do so here.
        stop_post = [
            f"{guard}{prefix} rm \\\n\t-f \\\n\t--ignore -t {stop_timeout} {target}",
            f"/bin/rm \\\n\t-f {CIDFILE}",
        ]
    ctx.update(
        run_root=_run_root_of(root, f.run_root) if f.run_root_from_flags else f.run_root,
        exec_start_pre=[] if has_name and f.replace_id_files else [f"/bin/rm \\\n\t-f {CIDFILE}"],
        exec_start=format_command(escaped, wrap=True, escaped=True),
        exec_stop=stop,
        exec_stop_post=stop_post,
        type="notify",
        notify_access="all",
        kill_mode=f.kill_mode,
    )


def _name_in(escaped: Sequence[str]) -> str:
    for i, w in enumerate(escaped):
        if w == "--name" and i + 1 < len(escaped):
            return escaped[i + 1]
        if w.startswith("--name="):
            return w.split("=", 1)[1]
    raise InvalidSpec("the generated command has no --name")


def _name_for_template(escaped: list[str], service: str) -> list[str]:
    """Instances of a template unit each get their own container: NAME-%i."""
    out = list(escaped)
    for i, w in enumerate(out):
        if w == "--name" and i + 1 < len(out):
            out[i + 1] += "-%i"
            return out
        if w.startswith("--name="):
            out[i] += "-%i"
            return out
    run = out.index("run")
    out.insert(run + 1, f"--name={service}-%i")
    return out


# -- pods --------------------------------------------------------------------------------------

# `pod create`'s flags that take no value (to find whether --name/--replace were given).
POD_BOOL_FLAGS = frozenset({"--replace", "--infra", "--no-infra", "--start", "--help"})


def pod_units(req: PodRequest, opts: GenerateOptions) -> list[GeneratedUnit]:
    """The pod's unit first, then one unit per member container (sorted by unit name)."""
    if opts.template:
        raise InvalidSpec("--template is not supported for pods")
    if not req.members:
        raise InvalidSpec(f"pod {req.name} has no containers: nothing to supervise")
    f = opts.flavor
    name_or_id = req.name if opts.use_name else req.id
    service = service_name(opts.pod_prefix, opts.separator, name_or_id)
    stop_timeout = opts.stop_timeout if opts.stop_timeout is not None else req.stop_timeout
    exe = _exe(opts)
    members = sorted(
        (service_name(opts.container_prefix, opts.separator, m.name if opts.use_name else m.id), m)
        for m in req.members
    )
    ctx = _common(opts, service, escape_exec_arg(req.run_root))
    ctx.update(
        members=[f"{s}.service" for s, _ in members],
        timeout_stop_sec=MIN_TIMEOUT_STOP_SEC + stop_timeout,
    )
    pod_id_file: str | None = None
    if opts.new:
        pid_file = f"%t/{service}.pid"
        pod_id_file = f"%t/{service}.pod-id"
        cmd = list(req.create_command)
        idx = next((i for i in range(1, len(cmd)) if cmd[i - 1] == "pod" and cmd[i] == "create"), 0)
        if idx == 0:
            raise InvalidSpec(
                f"cannot use --new on pod {req.name}: it does not appear to be created with "
                f"`pod create`: {cmd}"
            )
        root = list(cmd[1 : idx - 1])
        args = _filter(
            cmd[idx + 1 :],
            len(cmd) - idx - 1,
            {"--start"},
            {"--pod", "--pod-id-file", "--infra-conmon-pidfile"},
        )
        parsed = parse_args(args, POD_BOOL_FLAGS)
        if parsed.given("--name") and not _truthy(parsed.last("--replace")):
            if parsed.given("--replace"):
                args, parsed.flag_count = _remove_exact(
                    args, parsed.flag_count, {"--replace=false"}
                )
            args.append("--replace")
        replacing = parsed.given("--name") or _truthy(parsed.last("--replace"))
        start = ["--start"] if f.pod_create_start else []
        words = [
            escape_exec_arg(w)
            for w in [*exe, *root, "pod", "create", *start, "--infra-conmon-pidfile"]
        ]
        words += [pid_file, "--pod-id-file", pod_id_file, "--exit-policy=stop"]
        words += [escape_exec_arg(a) for a in args]
        create = format_command(words, wrap=True, escaped=True)
        prefix = _prefix(exe, root)
        rm_files = [f"/bin/rm \\\n\t-f {pid_file} {pod_id_file}"]
        if replacing and f.replace_id_files:
            rm_files = []
        ctx.update(
            exec_start_pre=rm_files if start else [*rm_files, create],
            exec_start=create if start else f"{prefix} pod start \\\n\t--pod-id-file {pod_id_file}",
            exec_stop=f"{prefix} pod stop \\\n\t--ignore \\\n\t--pod-id-file {pod_id_file}  \\\n\t-t {stop_timeout}",
            exec_stop_post=[
                f"{prefix} pod rm \\\n\t--ignore \\\n\t-f \\\n\t--pod-id-file {pod_id_file}"
            ],
            pid_file=pid_file,
        )
    else:
        if not req.infra_conmon_pidfile:
            raise InvalidSpec(f"pod {req.name}: the infra container's conmon PID file is unknown")
        root = list(req.root_flags) if f.root_flags_everywhere else []
        prefix = _prefix(exe, root)
        infra = escape_exec_arg(req.infra_name if opts.use_name else req.infra_id)
        ctx.update(
            exec_start_pre=[],
            exec_start=f"{prefix} start {infra}",
            exec_stop=f"{prefix} stop  \\\n\t-t {stop_timeout} {infra}",
            exec_stop_post=[f"{prefix} stop  \\\n\t-t {stop_timeout} {infra}"],
            pid_file=escape_exec_arg(req.infra_conmon_pidfile),
        )
    units = [GeneratedUnit(service, render("pod.service.j2", ctx), "pod")]
    for _, m in members:
        units.append(container_unit(m, opts, pod_service=service, pod_id_file=pod_id_file))
    return units
