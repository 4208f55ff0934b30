"""The network layer's public API (re-exported by podctl.net; see its docstring)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from podctl import procs, records
from podctl.errors import InvalidSpec, PodctlError, RuntimeFailed
from podctl.log import warn
from podctl.net import etc, slirp
from podctl.net import ports as portmod
from podctl.net.options import NetworkMode, NetworkOptions, PortHandler

# podctl.records and not typing's TYPE_CHECKING: `pod rm` and `kube down` load this module
# only to stop helpers (see podctl/records.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import dataclass
    from typing import Any

    from podctl.net import nsexec
    from podctl.spec import PortMapping
else:
    from podctl.records import dataclass


@dataclass(frozen=True)
class NetworkState:
    """What setup() started: store it with the pod/container (to_dict) and give it to teardown()."""

    mode: str
    netns_path: str = ""
    helper: str = ""  # "slirp4netns" | "pasta" | "" (no helper process)
    pid: int = 0
    start_time: int = 0  # /proc/PID/stat start time: teardown never kills a recycled pid
    api_socket: str = ""
    log_path: str = ""
    pidfile: str = ""
    ports: tuple[PortMapping, ...] = ()  # resolved: one per port, host ports chosen
    ip: str = ""  # the namespace's address ("" when unknown)
    gateway: str = ""
    dns: tuple[str, ...] = ()  # resolvers to put first in resolv.conf
    host_gateway: str = ""  # the address that reaches the host (host.containers.internal)
    mtu: int = 0
    # port_handler=rootlesskit: the port forwarder process (podctl.net.portfwd)
    forwarder_pid: int = 0
    forwarder_start_time: int = 0
    forwarder_log: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = records.asdict(self)
        d["ports"] = portmod.to_dicts(self.ports)
        d["dns"] = list(self.dns)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkState:
        known = set(records.field_names(cls))
        d = {k: v for k, v in data.items() if k in known}
        d["ports"] = portmod.from_dicts(d.get("ports", ()))
        d["dns"] = tuple(d.get("dns", ()))
        return cls(**d)


def is_running(state: NetworkState) -> bool:
    """The helper process of STATE is still running (True when there is none to run)."""
    return (not state.pid or procs.alive(state.pid, state.start_time)) and (
        not state.forwarder_pid or procs.alive(state.forwarder_pid, state.forwarder_start_time)
    )


def _files(netns_path: str, run_dir: Path | None, helper: str) -> tuple[Path, Path, Path]:
    if run_dir is None:
        if netns_path.startswith("/proc/"):
            raise InvalidSpec(f"network setup for {netns_path}: a run directory is required")
        run_dir = Path(netns_path).parent
        prefix = Path(netns_path).name + "."
    else:
        prefix = ""
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return (run_dir / f"{prefix}{helper}.sock", run_dir / f"{prefix}{helper}.log",
            run_dir / f"{prefix}{helper}.pid")  # fmt: skip


def setup(
    netns_path: str,
    userns_pid: int | None,
    spec: NetworkOptions,
    ports: Sequence[PortMapping] = (),
    *,
    run_dir: Path | None = None,
    defer: bool = False,
) -> NetworkState:
    """Start user-mode networking for the namespace at NETNS_PATH and publish PORTS.

    NETNS_PATH: a bind-mounted netns file (create_netns) or /proc/PID/ns/net. USERNS_PID: the
    pause process holding the user namespace that owns it (None when the caller is in it or
    is real root). RUN_DIR: where the API socket, pid file and log go (default: beside
    NETNS_PATH, named after it). Raises PortInUse (naming the port) when a port is taken, and
    RuntimeFailed when the helper fails; either way nothing is left running.

    DEFER (pasta, and slirp4netns with port_handler=rootlesskit): do not wait here for the
    helpers to report ready (pasta takes 20-30 ms to start, the forwarder's Python tens of ms);
    what the caller does meanwhile (a pod's infra container starts) must not use the network.
    The caller must call await_ready(state) before anything uses the network and before it
    reports success (it stops the helpers and raises when one failed); a process that forgets
    is told at exit.
    """
    if spec.mode in (NetworkMode.HOST, NetworkMode.CONTAINER, NetworkMode.NS, NetworkMode.NONE):
        if ports:
            warn(f"port mappings have been discarded: --network {spec} has no published ports")
        return NetworkState(mode=str(spec.mode), netns_path=netns_path)
    if spec.mode == NetworkMode.SLIRP4NETNS:
        return _setup_slirp(netns_path, userns_pid, spec, ports, run_dir, defer)
    if spec.mode == NetworkMode.PASTA:
        return _setup_pasta(netns_path, userns_pid, spec, ports, run_dir, defer)
    raise InvalidSpec(f"--network {spec}: not supported")


def _check_v4(ports: Sequence[PortMapping]) -> None:
    for m in ports:
        if m.host_ip and ipaddress.ip_address(m.host_ip).version == 6:
            raise InvalidSpec(
                f"-p {m.host_ip}: port_handler=slirp4netns publishes on IPv4 host addresses only"
            )


def _setup_slirp(netns_path: str, userns_pid: int | None, spec: NetworkOptions,
                 ports: Sequence[PortMapping], run_dir: Path | None, defer: bool) -> NetworkState:  # fmt: skip
    if spec.slirp.port_handler == PortHandler.SLIRP4NETNS:
        _check_v4(ports)
    resolved = portmod.resolve(ports)
    if (
        not spec.slirp.allow_host_loopback
        and spec.slirp.port_handler == PortHandler.SLIRP4NETNS
        and any(m.protocol == "udp" for m in resolved)
    ):
        # libslirp drops the container's replies to 10.0.2.2 when host loopback is disabled
        # (podman#4586): UDP clients on other host addresses work, loopback ones get no answer.
        warn("published UDP ports do not answer clients on the host's loopback with "
             "slirp4netns unless --network slirp4netns:allow_host_loopback=true")
    sock, log, _ = _files(netns_path, run_dir, "slirp4netns")
    addrs = slirp.Addresses.of(spec.slirp.cidr)
    forwarded = spec.slirp.port_handler == PortHandler.ROOTLESSKIT and bool(resolved)
    # Its API (port_handler=slirp4netns) needs slirp4netns ready; nothing else here does.
    defer = defer and spec.slirp.port_handler == PortHandler.ROOTLESSKIT
    flog = _files(netns_path, run_dir, "portfwd")[1]
    pending, pid, started, fwd = _launch(
        slirp, lambda: slirp.spawn(netns_path, userns_pid=userns_pid, opts=spec.slirp, api_socket=sock, log_path=log),
        netns_path=netns_path, userns_pid=userns_pid, fwd_ports=resolved if forwarded else (), flog=flog,
        defer=defer, files=(sock, log),
    )  # fmt: skip
    state = NetworkState(
        mode=str(spec.mode), netns_path=netns_path, helper="slirp4netns", pid=pid, start_time=started,
        api_socket=str(sock), log_path=str(log), ip=addrs.ip, gateway=addrs.gateway, dns=(addrs.dns,),
        host_gateway=addrs.gateway if spec.slirp.allow_host_loopback else "", mtu=spec.slirp.mtu,
        ports=tuple(resolved) if forwarded else (),
    )  # fmt: skip
    state = _with_forwarder(state, fwd, flog)
    if defer:
        _defer(pid, pending)
        return state
    if spec.slirp.port_handler == PortHandler.ROOTLESSKIT:
        return state
    try:
        return _forward(state, resolved)
    except BaseException:
        teardown(state)
        raise


class _Pending:
    """Helpers of one namespace that are spawned but not yet known to be ready: the network
    helper (with its driver module, slirp or pasta) and podctl's port forwarder."""

    def __init__(self) -> None:
        self.helper: tuple[Any, nsexec.Starting] | None = None  # (driver, what it spawned)
        self.fwd: Any = None  # portfwd.Starting

    def wait(self) -> None:
        """Until all are ready; on failure every one is stopped and RuntimeFailed raised."""
        try:
            if self.helper is not None:
                (driver, s), self.helper = self.helper, None
                driver.finish(s)  # (stops the helper when it failed)
            if self.fwd is not None:
                f, self.fwd = self.fwd, None
                f.wait()
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        if self.helper is not None:
            (driver, s), self.helper = self.helper, None
            driver.abort(s)
        if self.fwd is not None:
            self.fwd.close()
            procs.kill(self.fwd.pid, self.fwd.start_time)
            self.fwd = None

    def close(self) -> None:
        """Forget them (teardown stops them by pid)."""
        if self.helper is not None:
            os.close(self.helper[1].ready_fd)
            self.helper = None
        if self.fwd is not None:
            self.fwd.close()
            self.fwd = None


def _launch(driver: Any, spawn: Callable[[], nsexec.Starting], *, netns_path: str, userns_pid: int | None,
            fwd_ports: Sequence[PortMapping], flog: Path, defer: bool, files: Sequence[Path]) -> tuple[_Pending, int, int, Any]:  # fmt: skip
    """Spawn the namespace's helper (SPAWN; DRIVER, slirp or pasta, finishes it) and, for
    FWD_PORTS, podctl's port forwarder watching it; wait for both unless DEFER. Returns the
    _Pending (for _defer), the helper's pid and start time, and the forwarder (None without
    FWD_PORTS). On failure both are stopped, FILES and FLOG removed, and the error raised."""
    pending = _Pending()
    socks: list[Any] = []
    fwd: Any = None
    try:
        if fwd_ports:
            from podctl.net import portfwd  # noqa: PLC0415

            socks = portfwd.bind_all(fwd_ports)  # a taken port fails before anything runs
        helper = spawn()
        pending.helper = (driver, helper)
        started = procs.start_time(helper.pid)
        if fwd_ports:  # it needs only the namespace: it starts while the helper configures it
            fwd = pending.fwd = portfwd.spawn(netns_path, userns_pid=userns_pid, socks=socks,
                                              ports=fwd_ports, log_path=flog, watch_pid=helper.pid)  # fmt: skip
        if not defer:
            pending.wait()
    except BaseException:
        pending.kill()
        _unlink(*files, flog)
        raise
    finally:
        for sock in socks:
            sock.close()
    return pending, helper.pid, started, fwd


def _with_forwarder(state: NetworkState, fwd: Any, flog: Path) -> NetworkState:
    if fwd is None:
        return state
    return records.replace(state, forwarder_pid=fwd.pid, forwarder_start_time=fwd.start_time,
                           forwarder_log=str(flog))  # fmt: skip


# What setup(defer=True) left starting, by the pid of the namespace's slirp4netns or pasta.
_pending: dict[int, _Pending] = {}


def _defer(pid: int, pending: _Pending) -> None:
    if not _pending:
        import atexit  # noqa: PLC0415

        atexit.register(_settle_at_exit)
    _pending[pid] = pending


def await_ready(state: NetworkState | None = None) -> None:
    """Wait for the helpers setup(defer=True) left starting (STATE's; None: every one this
    process started). On failure they are stopped and RuntimeFailed is raised: the caller
    stops what uses the network (teardown then removes the rest)."""
    pids = [state.pid] if state is not None else list(_pending)
    for pid in pids:
        pending = _pending.pop(pid, None)
        if pending is not None:
            pending.wait()


def _settle_at_exit() -> None:
    """No process leaves helpers it never heard from: a failure is at least told."""
    for pid in list(_pending):
        try:
            await_ready(NetworkState(mode="", pid=pid))
        except PodctlError as e:
            warn("%s", e)


def _forward(state: NetworkState, resolved: Sequence[PortMapping]) -> NetworkState:
    for m in resolved:
        try:
            slirp.add_hostfwd(state.api_socket, m.protocol, m.host_ip, m.host_port, m.container_port,
                              state.ip or None)  # fmt: skip
        except slirp.ApiError as e:
            ip = m.host_ip or "0.0.0.0"
            raise portmod.PortInUse(
                f"cannot publish port {ip}:{m.host_port}/{m.protocol}: slirp4netns could not bind it "
                f"({e.message.removeprefix('slirp4netns ')})"
            ) from e
    return records.replace(state, ports=(*state.ports, *resolved))


def publish(state: NetworkState, ports: Sequence[PortMapping]) -> NetworkState:
    """Publish more PORTS through a running slirp4netns; returns the new state."""
    if state.helper != "slirp4netns" or not is_running(state):
        raise RuntimeFailed(f"cannot publish ports: no slirp4netns runs for {state.netns_path}")
    if state.forwarder_pid:
        raise RuntimeFailed("cannot publish more ports with port_handler=rootlesskit once started")
    _check_v4(ports)
    resolved = portmod.resolve(ports)
    portmod.check_conflicts([*state.ports, *resolved])
    return _forward(state, resolved)


def _setup_pasta(netns_path: str, userns_pid: int | None, spec: NetworkOptions,
                 ports: Sequence[PortMapping], run_dir: Path | None, defer: bool) -> NetworkState:  # fmt: skip
    from podctl.net import pasta  # noqa: PLC0415

    resolved = portmod.resolve(ports)  # a taken port fails here, naming it, before anything runs
    # Debian 12's pasta gives no answers on the host's loopback for a UDP port published on
    # another container port: podctl's forwarder serves those (a second process only then).
    odd = [m for m in resolved if m.protocol == "udp" and m.host_port != m.container_port]
    own = [m for m in resolved if m not in odd]
    _, log, _ = _files(netns_path, run_dir, "pasta")
    flog = _files(netns_path, run_dir, "portfwd")[1]
    pending, pid, started, fwd = _launch(
        pasta, lambda: pasta.spawn(netns_path, userns_pid=userns_pid, user_args=spec.pasta_args, ports=own,
                                   log_path=log, allow_host_loopback=spec.slirp.allow_host_loopback),
        netns_path=netns_path, userns_pid=userns_pid, fwd_ports=odd, flog=flog, defer=defer, files=(log,),
    )  # fmt: skip
    addrs = pasta.layout(spec.pasta_args)
    ip, gw = (addrs.ip, addrs.gateway) if addrs is not None else ("", "")
    dns = pasta.dns_servers(spec.pasta_args)
    if dns is None and addrs is not None:
        dns = (addrs.dns,)  # pasta's --dns-forward, as podctl set it
    elif dns is None:  # the user's own layout: the host's resolvers (those pasta can reach)
        servers, _, _ = etc.parse_resolv(etc.read_host_resolv())
        dns = tuple(s for s in servers if not etc._is_loopback(s))
    state = NetworkState(
        mode=str(spec.mode), netns_path=netns_path, helper="pasta", pid=pid, start_time=started,
        log_path=str(log), ports=tuple(resolved), ip=ip, gateway=gw, dns=dns, mtu=pasta.MTU,
        host_gateway=gw if spec.slirp.allow_host_loopback else "",
    )  # fmt: skip
    state = _with_forwarder(state, fwd, flog)
    if defer:
        _defer(pid, pending)
    return state


def _unlink(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except OSError:
            pass


def hasten_teardown(state: NetworkState) -> None:
    """SIGTERM STATE's helper processes now, without waiting: their exit (the kernel takes
    ~15-20 ms to tear down slirp4netns's sandbox) then overlaps the caller's other work, and
    teardown() finds them gone or going. Only once nothing needs the network any more."""
    import signal  # noqa: PLC0415

    for pid, started in ((state.pid, state.start_time), (state.forwarder_pid, state.forwarder_start_time)):
        if pid and procs.alive(pid, started):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


def teardown(state: NetworkState) -> None:
    """Stop STATE's helper process and remove its socket, pid file and log. Idempotent.

    The network namespace itself is the caller's (remove_netns).
    """
    errors: list[str] = []
    pending = _pending.pop(state.pid, None)
    if pending is not None:  # never heard from: they go with the rest
        pending.close()
    for what, pid, started in ((state.helper, state.pid, state.start_time),
                               ("port forwarder", state.forwarder_pid, state.forwarder_start_time)):  # fmt: skip
        if pid:
            try:
                procs.stop(pid, started)
            except OSError as e:
                errors.append(f"stopping {what} (pid {pid}): {e.strerror}")
    for f in (state.api_socket, state.pidfile, state.log_path, state.forwarder_log):
        if f:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
            except OSError as e:
                errors.append(f"removing {f}: {e.strerror}")
    if errors:
        raise PodctlError("network teardown: " + "; ".join(errors))


def resolv_conf(
    state: NetworkState | None = None,
    *,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
    host_text: str | None = None,
) -> str:
    """/etc/resolv.conf text for a container on STATE's network (see etc.resolv_conf)."""
    return etc.resolv_conf(state.dns if state else (), host_text=host_text, dns=dns,
                           dns_search=dns_search, dns_options=dns_options)  # fmt: skip


def hosts_file(
    hostname: str,
    *,
    state: NetworkState | None = None,
    names: Sequence[str] = (),
    members: Iterable[str] = (),
    add_hosts: Iterable[str | tuple[str, str]] = (),
    host_text: str | None = None,
) -> str:
    """/etc/hosts text: localhost, HOSTNAME + NAMES + pod MEMBERS at the namespace's address,
    `--add-host` entries ("name:ip" strings or pairs), host.containers.internal."""
    network = {"ip": state.ip, "host_gateway": state.host_gateway, "mode": state.mode} if state else {}
    return etc.hosts_for(hostname, network, names=names, members=members, add_hosts=add_hosts,
                         host_text=host_text)  # fmt: skip
