"""One entry of `containers` / `initContainers` -> KubeContainer (a ContainerSpec plus extras)."""

from __future__ import annotations

import posixpath
import re

from podctl.errors import InvalidSpec
from podctl.kube.context import PodInfo, Scope
from podctl.kube.downward import field_choices, field_value, parse_divisor, resource_value
from podctl.kube.expand import expand, mapping_func
from podctl.kube.fields import Obj, describe
from podctl.kube.model import (
    ContainerPort,
    KubeContainer,
    Probe,
    ProbeAction,
    ProbeKind,
    Role,
    VolumeKind,
)
from podctl.kube.quantity import parse_quantity
from podctl.spec import ContainerSpec, Healthcheck, HealthOnFailure, Mount, MountType, RestartPolicy

# Not typing's TYPE_CHECKING: typing costs `kube play` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
PULL = {"Always": "always", "IfNotPresent": "missing", "Never": "never"}
AUTOUPDATE = "io.containers.autoupdate"
AUTOUPDATE_AUTHFILE = "io.containers.autoupdate.authfile"
# Filled in by the API server in `kubectl get -o yaml` output: accepted without a warning.
SERVER_DEFAULTS = ("terminationMessagePath", "terminationMessagePolicy")


def resources_of(raw: dict[str, object]) -> dict[str, object]:
    """limits/requests of a raw container mapping, parsed leniently (errors come later)."""
    out: dict[str, object] = {}
    res = raw.get("resources")
    if not isinstance(res, dict):
        return out
    for kind in ("limits", "requests"):
        values = res.get(kind)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            try:
                out[f"{kind}.{name}"] = parse_quantity(value)
            except (ValueError, TypeError):
                pass
    return out


def _env(scope: Scope, pod: PodInfo, c: Obj, cname: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for src in c.objs("envFrom"):
        prefix = src.string("prefix") or ""
        cm, sec = src.obj("configMapRef"), src.obj("secretRef")
        src.finish()
        if (cm is None) == (sec is None):
            src.error(None, "exactly one of configMapRef and secretRef is required")
            continue
        ref = cm if cm is not None else sec
        assert ref is not None
        name = ref.string("name", required=True)
        optional = bool(ref.boolean("optional"))
        ref.finish()
        what = "ConfigMap" if cm is not None else "Secret"
        data = (scope.configmaps if cm is not None else scope.secrets).get(name or "")
        if data is None:
            if name is not None and not optional:
                ref.error("name", f"{what} {name!r} not found (define it in the file or pass "
                          "--configmap FILE), or set optional: true")  # fmt: skip
            continue
        for key, value in data.env_items():
            if not ENV_NAME.match(prefix + key):
                src.warn(None, f"{what} {name!r} key {key!r} is not a valid variable name; skipped")
                continue
            env[prefix + key] = _text(src, value)
    for e in c.objs("env"):
        name = e.string("name", required=True)
        text = e.string("value")
        vfrom = e.obj("valueFrom")
        e.finish()
        if name is None:
            continue
        if not ENV_NAME.match(name):
            e.error("name", f"{name!r} is not a valid environment variable name")
            continue
        if text is not None and vfrom is not None:
            e.error("valueFrom", "may not be set together with value")
            continue
        if vfrom is None:
            env[name] = expand(text or "", mapping_func(env))
            continue
        resolved = _value_from(scope, pod, vfrom, cname)
        if resolved is not None:
            env[name] = resolved
    return env


def _text(o: Obj, value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        o.warn(None, "value is not UTF-8 text; invalid bytes replaced")
        return value.decode(errors="replace")


def _value_from(scope: Scope, pod: PodInfo, vf: Obj, cname: str) -> str | None:
    present = [k for k in vf.data if vf.data[k] is not None]
    if len(present) != 1:
        vf.ignore(*vf.data)
        vf.error(None, "exactly one of configMapKeyRef, secretKeyRef, fieldRef and "
                 "resourceFieldRef is required")  # fmt: skip
        return None
    cm, sec = vf.obj("configMapKeyRef"), vf.obj("secretKeyRef")
    fref, rref = vf.obj("fieldRef"), vf.obj("resourceFieldRef")
    vf.finish()
    ref = cm or sec
    if ref is not None:
        name = ref.string("name", required=True)
        key = ref.string("key", required=True)
        optional = bool(ref.boolean("optional"))
        ref.finish()
        if name is None or key is None:
            return None
        what = "ConfigMap" if cm is not None else "Secret"
        data = (scope.configmaps if cm is not None else scope.secrets).get(name)
        raw = None if data is None or key in data.binary_keys else data.get(key)
        if raw is None and not optional:
            missing = f"{what} {name!r}" if data is None else f"key {key!r} in {what} {name!r}"
            ref.error(None, f"{missing} not found; define it (or pass --configmap FILE), "
                      "or set optional: true")  # fmt: skip
        return None if raw is None else _text(ref, raw)
    if fref is not None:
        path = fref.string("fieldPath", required=True)
        fref.ignore("apiVersion")
        fref.finish()
        if path is None:
            return None
        value = field_value(pod, path, volume=False)
        if value is None:
            fref.error("fieldPath", f"unsupported field {path!r}; expected one of "
                       + field_choices(False))  # fmt: skip
        return value
    if rref is None:
        return None  # the wrong type is reported already
    container = rref.string("containerName") or cname
    resource = rref.string("resource", required=True)
    divisor = parse_divisor(rref.raw("divisor"))
    rref.finish()
    if divisor is None:
        rref.error("divisor", "expected a positive quantity")
        return None
    if container not in pod.resources:
        rref.error("containerName", f"no container named {container!r} in this pod")
        return None
    if resource is None:
        return None
    value = resource_value(scope, pod, container, resource, divisor)
    if value is None:
        rref.error("resource", f"unsupported resource {resource!r}")
    return value


def _ports(c: Obj) -> tuple[ContainerPort, ...]:
    out: list[ContainerPort] = []
    for p in c.objs("ports"):
        cport = p.integer("containerPort", required=True)
        hport = p.integer("hostPort") or 0
        proto = (p.string("protocol") or "TCP").upper()
        host_ip = p.string("hostIP") or ""
        name = p.string("name") or ""
        p.finish()
        if proto not in ("TCP", "UDP", "SCTP"):
            p.error("protocol", f"must be TCP, UDP or SCTP, got {proto!r}")
            continue
        if cport is not None and not 0 < cport < 65536:
            p.error("containerPort", f"must be between 1 and 65535, got {cport}")
            continue
        if not 0 <= hport < 65536:
            p.error("hostPort", f"must be between 1 and 65535, got {hport}")
            continue
        if host_ip and not _is_ip(host_ip):
            p.error("hostIP", f"{host_ip!r} is not an IP address")
            continue
        if proto == "SCTP" and hport:
            p.warn("protocol", "SCTP ports cannot be forwarded rootless; the port is not published")
            hport = 0
        if cport is not None:
            out.append(ContainerPort(cport, proto.lower(), name, hport, host_ip))
    return tuple(out)


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _mounts(pod: PodInfo, c: Obj, env: dict[str, str]) -> tuple[Mount, ...]:
    mounts: list[Mount] = []
    for m in c.objs("volumeMounts"):
        name = m.string("name", required=True)
        dest = m.string("mountPath", required=True)
        ro = bool(m.boolean("readOnly"))
        sub = m.string("subPath") or ""
        sub_expr = m.string("subPathExpr") or ""
        prop = m.string("mountPropagation")
        if prop not in (None, "None"):
            m.warn("mountPropagation", f"mountPropagation {prop!r} is not supported; ignored")
        m.unsupported("recursiveReadOnly")
        m.finish()
        if sub and sub_expr:
            m.error("subPathExpr", "may not be set together with subPath")
            continue
        if sub_expr:
            sub = expand(sub_expr, mapping_func(env))
        if sub and (sub.startswith("/") or ".." in sub.split("/")):
            m.error("subPath", f"must be a relative path without '..', got {sub!r}")
            continue
        if name is None or dest is None:
            continue
        if not dest.startswith("/"):
            m.error("mountPath", f"must be an absolute path, got {dest!r}")
            continue
        if name in pod.unsupported_volumes:
            m.error("name", f"volume {name!r} has type {pod.unsupported_volumes[name]!r}, "
                    "which podctl does not support")  # fmt: skip
            continue
        vol = pod.volumes.get(name)
        if vol is None:
            m.error("name", f"no volume named {name!r} in the pod's volumes")
            continue
        dest = posixpath.normpath(dest)
        if vol.kind == VolumeKind.HOST_PATH:
            source = posixpath.join(vol.host_path, sub) if sub else vol.host_path
            mounts.append(Mount(MountType.BIND, dest, source, read_only=ro))
        else:
            opts = (f"subpath={posixpath.normpath(sub)}",) if sub else ()
            mounts.append(Mount(MountType.VOLUME, dest, vol.volume_name,
                                read_only=ro or vol.read_only, options=opts))  # fmt: skip
    return tuple(mounts)


def _resources(scope: Scope, c: Obj) -> tuple[int | None, float | None]:
    res = c.obj("resources")
    if res is None:
        return None, None
    memory: int | None = None
    cpus: float | None = None
    for kind in ("limits", "requests"):
        values = res.obj(kind)
        if values is None:
            continue
        for name in values.data:
            raw = values.raw(name)
            try:
                q = parse_quantity(raw)
            except (ValueError, TypeError):
                values.error(name, f"expected a quantity (like 500m, 2, 128Mi), got {describe(raw)}")
                continue
            if name not in ("cpu", "memory"):
                values.warn(name, f"resource {name!r} is not supported; ignored")
            elif kind == "limits":
                if name == "memory":
                    memory = int(-(-q // 1))
                else:
                    cpus = float(q)
                if not scope.options.cgroup_limits:
                    values.warn(name, f"the {name} limit cannot be enforced here (no rootless "
                                "cgroup controllers); the container runs without it")  # fmt: skip
        values.finish()
    res.unsupported("claims")
    res.finish()
    return memory, cpus


def _cap(name: str) -> str:
    name = name.upper()
    return name if name == "ALL" or name.startswith("CAP_") else f"CAP_{name}"


def _security(pod: PodInfo, c: Obj) -> dict[str, object]:
    sc = c.obj("securityContext")
    user, group, non_root = pod.run_as_user, pod.run_as_group, pod.run_as_non_root
    out: dict[str, object] = {"security_opt": list(pod.security_opt)}
    if sc is not None:
        user = sc.integer("runAsUser", minimum=0) if sc.has("runAsUser") else user
        group = sc.integer("runAsGroup", minimum=0) if sc.has("runAsGroup") else group
        non_root = sc.boolean("runAsNonRoot") if sc.has("runAsNonRoot") else non_root
        caps = sc.obj("capabilities")
        if caps is not None:
            out["cap_add"] = tuple(_cap(x) for x in caps.strs("add") or ())
            out["cap_drop"] = tuple(_cap(x) for x in caps.strs("drop") or ())
            caps.finish()
        out["privileged"] = bool(sc.boolean("privileged"))
        out["read_only"] = bool(sc.boolean("readOnlyRootFilesystem"))
        if sc.boolean("allowPrivilegeEscalation") is False:
            out["security_opt"].append("no-new-privileges")  # type: ignore[attr-defined]
        security_opts(sc, out["security_opt"])  # type: ignore[arg-type]
        proc = sc.string("procMount")
        if proc not in (None, "Default"):
            sc.warn("procMount", f"procMount {proc!r} is not supported; ignored")
        sc.unsupported("appArmorProfile")
        sc.unsupported("windowsOptions")
        sc.finish()
    if non_root and user == 0:
        c.error("securityContext", "runAsNonRoot is true but runAsUser is 0", "runAsNonRoot")
    elif non_root and user is None:
        c.warn("securityContext", "runAsNonRoot is not checked against the image's user; "
               "set runAsUser", "runAsNonRoot")  # fmt: skip
    out["user"] = None if user is None else (str(user) if group is None else f"{user}:{group}")
    out["group"] = group if user is None else None
    out["security_opt"] = tuple(out["security_opt"])  # type: ignore[arg-type]
    return out


def security_opts(sc: Obj, opts: list[str]) -> None:
    """seLinuxOptions and seccompProfile (pod or container level) as podman --security-opt."""
    se = sc.obj("seLinuxOptions")
    if se is not None:
        for key in ("user", "role", "type", "level"):
            v = se.string(key)
            if v:
                opts.append(f"label={key}:{v}")
        se.finish()
    sp = sc.obj("seccompProfile")
    if sp is not None:
        stype = sp.string("type", required=True)
        local = sp.string("localhostProfile")
        sp.finish()
        if stype == "Unconfined":
            opts.append("seccomp=unconfined")
        elif stype == "Localhost":
            if not local:
                sp.error("localhostProfile", "required when type is Localhost")
            else:
                opts.append(f"seccomp={local}")
        elif stype not in (None, "RuntimeDefault"):
            sp.error("type", f"must be RuntimeDefault, Unconfined or Localhost, got {stype!r}")


def _probe_port(o: Obj, ports: tuple[ContainerPort, ...]) -> int:
    raw = o.int_or_str("port", required=True)
    if isinstance(raw, str):
        found = next((p.container_port for p in ports if p.name == raw), None)
        if found is None:
            o.error("port", f"no container port named {raw!r}")
            return 0
        return found
    if raw is not None and not 0 < raw < 65536:
        o.error("port", f"must be between 1 and 65535, got {raw}")
        return 0
    return raw or 0


def _healthcheck(probes: tuple[Probe, ...]) -> Healthcheck | None:
    """The probe that becomes the container's healthcheck: liveness, else startup, else
    readiness (as KubeContainer.healthcheck); liveness/startup failures restart it."""
    for kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP, ProbeKind.READINESS):
        for p in probes:
            if p.kind == kind:
                return Healthcheck(
                    test=p.test, interval=float(max(p.period, 1)), timeout=float(max(p.timeout, 1)),
                    retries=max(p.failure_threshold, 1), start_period=float(p.initial_delay),
                    on_failure=HealthOnFailure(p.on_failure),
                )  # fmt: skip
    return None


def _probe(c: Obj, key: str, kind: ProbeKind, ports: tuple[ContainerPort, ...]) -> Probe | None:
    o = c.obj(key)
    if o is None:
        return None
    timing = {
        "initial_delay": o.integer("initialDelaySeconds", minimum=0),
        "period": o.integer("periodSeconds", minimum=1),
        "timeout": o.integer("timeoutSeconds", minimum=1),
        "success_threshold": o.integer("successThreshold", minimum=1),
        "failure_threshold": o.integer("failureThreshold", minimum=1),
    }
    o.unsupported("terminationGracePeriodSeconds")
    o.unsupported("grpc", "grpc probes are not supported; the probe is ignored")
    ex, http, tcp = o.obj("exec"), o.obj("httpGet"), o.obj("tcpSocket")
    o.finish()
    kwargs = {k: v for k, v in timing.items() if v is not None}
    handlers = [h for h in (ex, http, tcp) if h is not None]
    if "grpc" in o.data and not handlers:
        return None
    if len(handlers) != 1:
        o.error(None, "exactly one of exec, httpGet and tcpSocket is required")
        return None
    if ex is not None:
        cmd = ex.strs("command")
        ex.finish()
        if not cmd:
            ex.error("command", "required field is missing or empty")
            return None
        return Probe(kind, ProbeAction.EXEC, command=cmd, **kwargs)  # type: ignore[arg-type]
    if tcp is not None:
        port = _probe_port(tcp, ports)
        host = tcp.string("host") or ""
        tcp.finish()
        return Probe(kind, ProbeAction.TCP, host=host, port=port, **kwargs)  # type: ignore[arg-type]
    assert http is not None
    port = _probe_port(http, ports)
    scheme = (http.string("scheme") or "HTTP").upper()
    if scheme not in ("HTTP", "HTTPS"):
        http.error("scheme", f"must be HTTP or HTTPS, got {scheme!r}")
    headers: list[tuple[str, str]] = []
    for h in http.objs("httpHeaders"):
        hn, hv = h.string("name", required=True), h.string("value", required=True)
        h.finish()
        if hn is not None and hv is not None:
            headers.append((hn, hv))
    path = http.string("path") or "/"
    host = http.string("host") or ""
    http.finish()
    return Probe(kind, ProbeAction.HTTP, host=host, port=port, path=path, scheme=scheme,
                 headers=tuple(headers), **kwargs)  # type: ignore[arg-type]  # fmt: skip


def _stop_signal(c: Obj) -> str | None:
    lc = c.obj("lifecycle")
    if lc is None:
        return None
    sig = lc.string("stopSignal")
    for hook in ("postStart", "preStop"):
        lc.unsupported(hook, f"{hook} hooks are not supported; ignored")
    lc.finish()
    if sig is not None and not re.match(r"^(SIG)?[A-Z0-9+-]+$", sig):
        lc.error("stopSignal", f"{sig!r} is not a signal name (like SIGTERM)")
        return None
    return sig


def _labels(pod: PodInfo, name: str) -> tuple[tuple[str, str], ...]:
    labels: dict[str, str] = {}
    for key in (AUTOUPDATE, AUTOUPDATE_AUTHFILE):
        for ann in (key, f"{key}/{name}"):
            if ann in pod.annotations:
                labels[key] = pod.annotations[ann]
    return tuple(labels.items())


def translate_container(
    scope: Scope, pod: PodInfo, c: Obj, role: Role
) -> KubeContainer | None:
    """The container at C; None (with errors recorded) when it cannot be built."""
    errors_before = scope.diag.error_count
    name = c.string("name", required=True)
    if name is not None and (len(name) > 63 or not DNS_LABEL.match(name)):
        c.error("name", f"{name!r} is not a valid container name (lowercase letters, digits "
                "and '-', at most 63 characters)")  # fmt: skip
    image = c.string("image", required=True)
    policy = c.string("imagePullPolicy")
    if policy is not None and policy not in PULL:
        c.error("imagePullPolicy", f"must be Always, IfNotPresent or Never, got {policy!r}")
    # An empty list is the same as no list (the kubelet checks the length).
    command, args = c.strs("command") or None, c.strs("args") or None
    workdir = c.string("workingDir")
    if workdir is not None and not workdir.startswith("/"):
        c.error("workingDir", f"must be an absolute path, got {workdir!r}")
    cname = name or ""
    env = _env(scope, pod, c, cname)
    ports = _ports(c)
    mounts = _mounts(pod, c, env)
    memory, cpus = _resources(scope, c)
    sec = _security(pod, c)
    probes = tuple(p for p in (
        _probe(c, "livenessProbe", ProbeKind.LIVENESS, ports),
        _probe(c, "readinessProbe", ProbeKind.READINESS, ports),
        _probe(c, "startupProbe", ProbeKind.STARTUP, ports),
    ) if p is not None)  # fmt: skip
    stop_signal = _stop_signal(c)
    restart = c.string("restartPolicy")
    if restart is not None:
        if role == Role.APP:
            c.warn("restartPolicy", "restartPolicy on a regular container is not supported; "
                   "the pod's restartPolicy applies")  # fmt: skip
        elif restart == "Always":
            role = Role.SIDECAR
        else:
            c.error("restartPolicy", f"only Always is allowed on an init container, got {restart!r}")
    tty, stdin = bool(c.boolean("tty")), bool(c.boolean("stdin"))
    c.ignore("stdinOnce", *SERVER_DEFAULTS)
    c.unsupported("volumeDevices", "volumeDevices (block devices) are not supported; ignored")
    c.unsupported("resizePolicy", "resizePolicy has no effect here; ignored")
    c.finish()
    if scope.diag.error_count != errors_before or name is None or image is None:
        return None
    lookup = mapping_func(env)
    # Kubernetes `command` replaces the image's ENTRYPOINT and `args` its CMD; a command
    # without args drops the image's CMD.
    entrypoint = None if command is None else tuple(expand(s, lookup) for s in command)
    cmd = tuple(expand(s, lookup) for s in args) if args else (() if command else None)
    if role == Role.APP:
        restart_policy = pod.restart
    else:
        restart_policy = RestartPolicy.ALWAYS if role == Role.SIDECAR else RestartPolicy.NO
    extra: dict[str, Any] = {} if pod.stop_timeout is None else {"stop_timeout": pod.stop_timeout}
    try:
        spec = ContainerSpec(
            image=image, name=f"{pod.name}-{name}", command=cmd, entrypoint=entrypoint,
            env=tuple(env.items()), workdir=workdir, user=sec["user"],  # type: ignore[arg-type]
            labels=_labels(pod, name), annotations=tuple(pod.annotations.items()),
            mounts=mounts, restart_policy=restart_policy, tty=tty, interactive=stdin,
            cap_add=sec.get("cap_add", ()), cap_drop=sec.get("cap_drop", ()),  # type: ignore[arg-type]
            privileged=bool(sec.get("privileged")), read_only=bool(sec.get("read_only")),
            security_opt=sec["security_opt"], memory=memory, cpus=cpus,  # type: ignore[arg-type]
            stop_signal=stop_signal, pod=pod.name, pull=PULL.get(policy or "", "missing"),
            healthcheck=_healthcheck(probes), **extra,
        )  # fmt: skip
    except InvalidSpec as e:
        c.error(None, e.message)
        return None
    group = sec["group"]
    return KubeContainer(name=name, role=role, spec=spec, probes=probes, ports=ports,
                         group=group if isinstance(group, int) else None)  # fmt: skip

