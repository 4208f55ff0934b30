"""Container command bodies (no click): run, create, start, stop, ps, rm, inspect, logs, exec ..."""

from __future__ import annotations

import functools
import os
import sys

from podctl import fastjson as json
from podctl.cli.common import Globals, echo, kv_pairs
from podctl.cli.output import emit, emit_inspect, report_batch, to_json
from podctl.errors import ContainerExit, InvalidSpec, NotFound, PodctlError

# Not typing.TYPE_CHECKING: importing typing costs start-up time on every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

PS_COLUMNS = ("ID", "Image", "Command", "Created", "Status", "Ports", "Names")
PS_HEADERS = {
    "ID": "CONTAINER ID",
    "Created": "CREATED",
    "CreatedHuman": "CREATED",
    "Names": "NAMES",
}


def require_refs(containers: Sequence[str], all_: bool) -> None:
    if not containers and not all_:
        raise InvalidSpec("at least one container name or ID must be specified")


# -- run / create ---------------------------------------------------------------------------------


def env_list(env: Sequence[str], env_files: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for path in env_files:
        try:
            text = open(path).read()
        except OSError as e:
            raise InvalidSpec(f"--env-file {path}: {e.strerror}") from e
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out += _env_item(line, f"--env-file {path}")
    for item in env:
        out += _env_item(item, "--env")
    return tuple(out)


def _env_item(item: str, where: str) -> list[tuple[str, str]]:
    k, sep, v = item.partition("=")
    if not k or any(c.isspace() for c in k):
        raise InvalidSpec(f"{where}: invalid environment variable {item!r}")
    if sep:
        return [(k, v)]
    if k.endswith("*"):
        return [(n, val) for n, val in os.environ.items() if n.startswith(k[:-1])]
    return [(k, os.environ[k])] if k in os.environ else []


def _entrypoint(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.startswith("["):
        try:
            data = json.loads(value)
        except ValueError as e:
            raise InvalidSpec(f"--entrypoint {value}: invalid JSON array") from e
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise InvalidSpec("--entrypoint: a JSON array must hold strings")
        return tuple(data)
    return (value,) if value else ()


def _size(value: str | None, flag: str) -> int | None:
    if not value:
        return None
    units = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    v = value.strip().lower()
    mult = units.get(v[-1], 0)
    num = v[:-1] if mult else v
    try:
        return int(float(num) * (mult or 1))
    except ValueError as e:
        raise InvalidSpec(f"{flag} {value}: expected a size like 512m") from e


def build_spec(image: str, command: Sequence[str], kw: dict[str, Any], default_network: str) -> Any:
    from podctl.spec import (
        ContainerSpec,
        SdNotify,
        parse_mount,
        parse_restart,
        parse_tmpfs,
        parse_volume,
    )

    policy, retries = parse_restart(kw["restart"])
    healthcheck, no_healthcheck = None, False
    if any(kw.get(k) is not None for k in ("health_cmd", "health_interval", "health_retries",
           "health_start_period", "health_timeout", "health_on_failure")) or kw.get("no_healthcheck"):  # fmt: skip
        from podctl.engine.health import from_flags

        healthcheck, no_healthcheck = from_flags(
            kw["health_cmd"], kw["health_interval"], kw["health_timeout"], kw["health_retries"],
            kw["health_start_period"], kw["health_on_failure"], kw["no_healthcheck"])  # fmt: skip
    mounts = [parse_volume(v) for v in kw["volumes"]]
    mounts += [parse_mount(m) for m in kw["mounts"]]
    mounts += [parse_tmpfs(t) for t in kw["tmpfs"]]
    from podctl import net

    network = kw["network"] or default_network
    net.parse_network(network)
    ports = tuple(net.parse_publish_list(kw["publish"]))
    pod = kw["pod"]
    if kw["pod_id_file"]:
        if pod:
            raise InvalidSpec("--pod and --pod-id-file cannot be used together")
        from podctl.engine.pods import read_id_file

        pod = read_id_file(kw["pod_id_file"])
    return ContainerSpec(
        ports=ports,
        publish_all=kw["publish_all"],
        dns_servers=tuple(kw["dns"]),
        dns_search=tuple(kw["dns_search"]),
        dns_options=tuple(kw["dns_option"]),
        add_hosts=tuple(kw["add_host"]),
        pod=pod or None,
        image=image,
        name=kw["name"],
        command=tuple(command) if command else None,
        entrypoint=_entrypoint(kw["entrypoint"]),
        env=env_list(kw["env"], kw["env_file"]),
        env_host=kw["env_host"],
        workdir=kw["workdir"],
        user=kw["user"],
        hostname=kw["hostname"],
        labels=kv_pairs(kw["labels"], "--label"),
        annotations=kv_pairs(kw["annotations"], "--annotation"),
        mounts=tuple(mounts),
        network=network,
        restart_policy=policy,
        restart_retries=retries,
        remove=kw["remove"],
        tty=kw["tty"],
        interactive=kw["interactive"],
        cap_add=tuple(kw["cap_add"]),
        cap_drop=tuple(kw["cap_drop"]),
        privileged=kw["privileged"],
        read_only=kw["read_only"],
        read_only_tmpfs=kw["read_only_tmpfs"],
        userns=kw["userns"],
        security_opt=tuple(kw["security_opt"]),
        ulimits=tuple(kw["ulimit"]),
        memory=_size(kw["memory"], "--memory"),
        cpus=kw["cpus"],
        pids_limit=kw["pids_limit"],
        stop_signal=kw["stop_signal"],
        stop_timeout=kw["stop_timeout"],
        sdnotify=SdNotify(kw["sdnotify"]),
        healthcheck=healthcheck,
        no_healthcheck=no_healthcheck,
        pull=kw["pull"],
        log_driver=kw["log_driver"],
        create_command=tuple(["podctl", *sys.argv[1:]]),
    )


def _new_pod(cfg: Any, spec: Any) -> Any:
    """`--pod new:NAME`: create the pod first; the container's ports, DNS and hosts move to it."""
    if not spec.pod or not spec.pod.startswith("new:"):
        return spec
    from podctl.engine import pods
    from podctl.spec import PodSpec

    name = spec.pod[4:]
    pspec = PodSpec(name=name, ports=spec.ports, network=spec.network, dns_servers=spec.dns_servers,
                    dns_search=spec.dns_search, dns_options=spec.dns_options, add_hosts=spec.add_hosts,
                    hostname=spec.hostname)  # fmt: skip
    pod = pods.create(cfg, pods.PodCreateOptions(pspec))
    return spec.replace(pod=pod.id, ports=(), hostname=None)


def create(g: Globals, *, image: str, command: tuple[str, ...], **kw: Any) -> None:
    from podctl.engine import containers as engine

    cfg = g.config()
    spec = build_spec(image, command, kw, cfg.rootless_network_cmd)
    spec = _new_pod(cfg, spec)
    rec = engine.create(
        cfg, engine.CreateOptions(spec, replace=kw["replace"], cidfile=kw["cidfile"])
    )
    echo(rec.id)


def run(g: Globals, *, image: str, command: tuple[str, ...], detach: bool, **kw: Any) -> None:
    from podctl.engine import containers as engine

    cfg = g.config()
    spec = build_spec(image, command, kw, cfg.rootless_network_cmd)
    spec = _new_pod(cfg, spec)
    opts = engine.RunOptions(
        engine.CreateOptions(spec, replace=kw["replace"], cidfile=kw["cidfile"]), detach=detach
    )
    rec = engine.run(cfg, opts)
    echo(rec.id)


# -- start / stop / restart / kill / rm / cleanup -------------------------------------------------


def start(g: Globals, *, containers: tuple[str, ...], attach: bool, all_: bool) -> int:
    from podctl.engine import containers as engine

    require_refs(containers, all_)
    if attach:
        if len(containers) != 1 or all_:
            raise InvalidSpec("you cannot start and attach multiple containers at once")
        engine.start_attached(g.config(), containers[0])
    return report_batch(engine.start(g.config(), containers, all_=all_))


def cid_refs(
    containers: Sequence[str], cidfiles: Sequence[str], all_: bool, ignore: bool
) -> list[str]:
    """The names given plus the IDs in the --cidfile files (podman: the first line). A missing
    file is skipped with --ignore (a unit's ExecStop after the container went)."""
    require_refs([*containers, *cidfiles], all_)
    refs = list(containers)
    for path in cidfiles:
        try:
            with open(path) as f:
                refs.append(f.read().split("\n", 1)[0].strip())
        except FileNotFoundError:
            if not ignore:
                raise InvalidSpec(
                    f"reading CIDFile: open {path}: no such file or directory"
                ) from None
        except OSError as e:
            raise InvalidSpec(f"reading CIDFile {path}: {e.strerror}") from e
    return refs


def stop(g: Globals, *, containers: tuple[str, ...], timeout: int | None, all_: bool, ignore: bool,
         cidfiles: tuple[str, ...] = ()) -> int:  # fmt: skip
    from podctl.engine import containers as engine

    refs = cid_refs(containers, cidfiles, all_, ignore)
    if not refs and not all_:
        return 0  # only missing --cidfile files, with --ignore
    return report_batch(engine.stop(g.config(), refs, timeout=timeout, all_=all_, ignore=ignore))


def restart(g: Globals, *, containers: tuple[str, ...], timeout: int | None, all_: bool) -> int:
    from podctl.engine import containers as engine

    require_refs(containers, all_)
    return report_batch(engine.restart(g.config(), containers, timeout=timeout, all_=all_))


def kill(g: Globals, *, containers: tuple[str, ...], sig: str, all_: bool) -> int:
    from podctl.engine import containers as engine

    require_refs(containers, all_)
    return report_batch(engine.kill(g.config(), containers, signal=sig, all_=all_))


def rm(g: Globals, *, containers: tuple[str, ...], force: bool, volumes: bool, all_: bool, ignore: bool,
       timeout: int | None, cidfiles: tuple[str, ...] = ()) -> int:  # fmt: skip
    from podctl.engine import containers as engine

    refs = cid_refs(containers, cidfiles, all_, ignore)
    if not refs and not all_:
        return 0  # only missing --cidfile files, with --ignore
    items = engine.rm(g.config(), refs, force=force, volumes=volumes, all_=all_, ignore=ignore,
                      timeout=timeout)  # fmt: skip
    return report_batch(items, code_of=lambda e: 1 if isinstance(e, NotFound) else e.exit_code)


def cleanup(g: Globals, *, container: str, remove: bool) -> None:
    from podctl.engine import containers as engine

    engine.cleanup(g.config(), container)


# -- listing ---------------------------------------------------------------------------------------


def ps(g: Globals, *, all_: bool, quiet: bool, filters: tuple[str, ...], fmt: str, noheading: bool,
       no_trunc: bool, last: int, latest: bool) -> None:  # fmt: skip
    from podctl.engine import containers as engine

    if latest:
        last, all_ = 1, True
    items = engine.ps(
        g.config(), engine.PsOptions(all=all_, filters=filters, last=last, no_trunc=no_trunc)
    )
    if quiet:
        for it in items:
            echo(it["view"]["ID"])
        return
    if fmt == "json" or fmt == "{{json .}}":
        if fmt == "json":
            echo(to_json([it["json"] for it in items]))
        else:
            from podctl.cli.gotemplate import go_json

            for it in items:
                echo(go_json(it["json"]))
        return
    emit(
        [it["view"] for it in items],
        fmt,
        headers=PS_HEADERS,
        default_columns=PS_COLUMNS,
        noheading=noheading,
    )


def inspect(g: Globals, *, names: tuple[str, ...], fmt: str, kind: str, size: bool) -> None:
    from podctl.engine import containers as engine

    cfg = g.config()
    data: list[Any] = []
    errors: list[PodctlError] = []
    if kind in ("all", "container"):
        found, errs = engine.inspect(cfg, names)
        data += found
        missing = [
            n for n in names if not any(d["Name"] == n or d["Id"].startswith(n) for d in found)
        ]
        errors = [e for e in errs if not isinstance(e, NotFound)]
    else:
        missing = list(names)
    if missing and kind in ("all", "image"):
        try:
            from podctl.engine import images as image_engine

            idata, ierrs = image_engine.inspect(cfg, missing)
            data += idata
            errors += ierrs
        except ImportError:
            errors += [NotFound(f'no such object: "{n}"') for n in missing]
    elif missing:
        errors += [NotFound(f'no such container "{n}"') for n in missing]
    emit_inspect(data, fmt, errors)


def exists(g: Globals, *, container: str) -> int:
    from podctl.engine import containers as engine

    return 0 if engine.exists(g.config(), container) else 1


# -- logs / exec / wait ----------------------------------------------------------------------------


def logs(g: Globals, *, containers: tuple[str, ...], follow: bool, tail: int, since: str | None,
         until: str | None, timestamps: bool, names: bool) -> None:  # fmt: skip
    from podctl.engine import containers as engine
    from podctl.runtime import logs as klog

    cfg = g.config()
    since_t = klog.parse_since(since) if since else None
    until_t = klog.parse_since(until) if until else None
    for name in containers:
        rec, path = engine.log_path(cfg, name)
        if lc_driver(rec) != "k8s-file":
            raise InvalidSpec(
                f"container {rec.name}: logs need the k8s-file log driver, not {lc_driver(rec)}"
            )
        prefix = (rec.name if names else rec.short_id) + " " if len(containers) > 1 or names else ""
        lines, offset = klog.read(path, tail=tail, since=since_t)
        for ln in lines:
            if until_t and ln.time > until_t:
                continue
            write_line(ln, timestamps, prefix)
        if follow:
            for ln in klog.follow(path, offset, functools.partial(engine.is_running, cfg, rec.id)):
                write_line(ln, timestamps, prefix)


def lc_driver(rec: Any) -> str:
    return str(rec.spec.get("log_driver", "k8s-file"))


def write_line(ln: Any, timestamps: bool, prefix: str) -> None:
    from podctl.runtime.logs import format_time

    out = sys.stderr.buffer if ln.stream == "stderr" else sys.stdout.buffer
    head = prefix.encode()
    if timestamps:
        head += format_time(ln.time).encode() + b" "
    out.write(head + ln.text + (b"" if ln.partial else b"\n"))
    out.flush()


def exec_(g: Globals, *, container: str, command: tuple[str, ...], interactive: bool, tty: bool,
          env: tuple[str, ...], env_file: tuple[str, ...], user: str | None, workdir: str | None,
          detach: bool, privileged: bool) -> None:  # fmt: skip
    from podctl.engine import containers as engine

    opts = engine.ExecOptions(command=command, interactive=interactive, tty=tty, env=env_list(env, env_file),
                              user=user, workdir=workdir, detach=detach, privileged=privileged)  # fmt: skip
    code = engine.exec_(g.config(), container, opts)
    if code:
        raise ContainerExit(code)


def wait(g: Globals, *, containers: tuple[str, ...], interval: str, condition: str) -> None:
    from podctl.engine import containers as engine

    if condition not in ("stopped", "exited"):
        raise InvalidSpec(f"--condition {condition}: only stopped and exited are supported")
    secs = duration(interval)
    for code in engine.wait(g.config(), containers, interval=secs):
        echo(code)


def duration(text: str) -> float:
    t = text.strip()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            try:
                return float(t[: -len(suffix)]) * mult
            except ValueError:
                break
    try:
        return float(t) / 1000  # podman: a bare number is milliseconds
    except ValueError as e:
        raise InvalidSpec(f"--interval {text}: expected a duration like 250ms") from e
