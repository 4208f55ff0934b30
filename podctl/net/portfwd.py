"""A rootlessport-like port forwarder: one process per namespace, for every published port.

Used for `--network slirp4netns:port_handler=rootlesskit`. podctl binds the host sockets itself
(so a taken port fails in podctl, naming the port) and hands them over; this process accepts on
them in the host's network namespace and opens the other end inside the container's network
namespace (127.0.0.1:PORT there, as rootlessport does), from one thread that joined it. TCP data
moves with splice(2) (no copy through Python); UDP is relayed per client address. Unlike
slirp4netns's own forwarding, UDP replies reach clients on the host's loopback.

    python -m podctl.net.portfwd READY_FD WATCH_PID NETNS_PATH FD:PROTO:GUEST_PORT ...

runs inside the pause user namespace (the spawner joins it before exec), and exits when
WATCH_PID (the namespace's slirp4netns) is gone, so that it never outlives the network.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import sys
import time

from podctl.rootless import kernel

TYPE_CHECKING = False  # not typing's: this program's start-up is on the container start path
if TYPE_CHECKING:
    import queue
    import socket
    import threading
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from podctl.spec import PortMapping

_F_SETPIPE_SZ = 1031
_CHUNK = 1 << 20
_UDP_IDLE = 60.0


class Inside:
    """Creates sockets in the target network namespace, from a thread that joined it."""

    def __init__(self, netns_path: str) -> None:
        self.requests: queue.Queue[tuple[int, queue.Queue[socket.socket | BaseException]]] = queue.Queue()
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        joined: queue.Queue[BaseException | None] = queue.Queue()
        threading.Thread(target=self._run, args=(fd, joined), daemon=True).start()
        err = joined.get()
        if err:
            raise err

    def _run(self, fd: int, joined: queue.Queue[BaseException | None]) -> None:
        try:
            kernel.setns(fd, kernel.CLONE_NEWNET)  # this thread only
            os.close(fd)
        except BaseException as e:  # noqa: BLE001
            joined.put(e)
            return
        joined.put(None)
        while True:
            kind, box = self.requests.get()
            try:
                box.put(socket.socket(socket.AF_INET, kind))
            except OSError as e:
                box.put(e)

    def socket(self, kind: int) -> socket.socket:
        box: queue.Queue[socket.socket | BaseException] = queue.Queue()
        self.requests.put((kind, box))
        s = box.get()
        if isinstance(s, BaseException):
            raise s
        return s


def _pump(src: socket.socket, dst: socket.socket) -> None:
    r, w = os.pipe()
    try:
        try:
            fcntl.fcntl(w, _F_SETPIPE_SZ, _CHUNK)
        except OSError:
            pass
        while True:
            n = os.splice(src.fileno(), w, _CHUNK)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _tcp_conn(inside: Inside, client: socket.socket, guest: int) -> None:
    with client:
        try:
            peer = inside.socket(socket.SOCK_STREAM)
            peer.connect(("127.0.0.1", guest))
        except OSError:
            return
        with peer:
            back = threading.Thread(target=_pump, args=(peer, client), daemon=True)
            back.start()
            _pump(client, peer)
            back.join()


def _tcp(inside: Inside, listener: socket.socket, guest: int) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            time.sleep(0.01)
            continue
        threading.Thread(target=_tcp_conn, args=(inside, client, guest), daemon=True).start()


def _udp(inside: Inside, host: socket.socket, guest: int) -> None:
    flows: dict[tuple[str, int], tuple[socket.socket, list[float]]] = {}
    lock = threading.Lock()

    def replies(addr: tuple[str, int], peer: socket.socket, last: list[float]) -> None:
        peer.settimeout(5)
        while True:
            try:
                data = peer.recv(65535)
            except TimeoutError:
                if time.monotonic() - last[0] > _UDP_IDLE:
                    break
                continue
            except OSError:
                break
            last[0] = time.monotonic()
            try:
                host.sendto(data, addr)
            except OSError:
                pass
        with lock:
            flows.pop(addr, None)
        peer.close()

    while True:
        try:
            data, addr = host.recvfrom(65535)
        except OSError:
            continue
        with lock:
            flow = flows.get(addr)
            if flow is None:
                try:
                    peer = inside.socket(socket.SOCK_DGRAM)
                    peer.connect(("127.0.0.1", guest))
                except OSError:
                    continue
                flow = (peer, [time.monotonic()])
                flows[addr] = flow
                threading.Thread(target=replies, args=(addr, peer, flow[1]), daemon=True).start()
        flow[1][0] = time.monotonic()
        try:
            flow[0].send(data)
        except OSError:
            pass


def bind_all(ports: Sequence[PortMapping]) -> list[_socket.socket]:
    """Bind PORTS (resolved: one per port) on the host: PortInUse names a taken one."""
    from podctl.net.ports import bind_socket  # noqa: PLC0415

    socks: list[_socket.socket] = []
    try:
        for m in ports:
            socks.append(bind_socket(m, 128))
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


class Starting:
    """A forwarder spawned but not yet known to be ready: wait() it, or kill() it."""

    def __init__(self, pid: int, ready_fd: int, log_path: Path) -> None:
        from podctl.procs import start_time  # noqa: PLC0415

        self.pid = pid
        self.start_time = start_time(pid)
        self.ready_fd = ready_fd
        self.log_path = log_path

    def wait(self, timeout: float = 10.0) -> None:
        """Until it has joined the namespace and serves every port; on failure it is stopped
        and RuntimeFailed says why."""
        from podctl import procs  # noqa: PLC0415
        from podctl.errors import RuntimeFailed  # noqa: PLC0415
        from podctl.net import nsexec  # noqa: PLC0415

        if self.ready_fd < 0:
            return
        try:
            nsexec.wait_ready(self.ready_fd, timeout, "it")
        except RuntimeFailed as e:
            procs.kill(self.pid, self.start_time)
            detail = nsexec.log_tail(self.log_path)
            raise RuntimeFailed(f"the port forwarder failed: {e}{': ' + detail if detail else ''}") from None
        finally:
            self.close()

    def close(self) -> None:
        if self.ready_fd >= 0:
            os.close(self.ready_fd)
            self.ready_fd = -1


# The forwarder needs only the standard library and podctl: no site (.pth files,
# sitecustomize), which it would otherwise load on every pod start while the infra is created.
# PYTHONPATH names podctl's own directory instead.
def _package_parent() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spawn(netns_path: str, *, userns_pid: int | None, socks: Sequence[_socket.socket],
          ports: Sequence[PortMapping], log_path: Path, watch_pid: int = 0) -> Starting:  # fmt: skip
    """Start the forwarder on NETNS_PATH for SOCKS (bound by bind_all for PORTS), without
    waiting for it: the listening sockets queue connections until it serves them. The caller
    still owns (and closes) SOCKS. The forwarder exits by itself when WATCH_PID exits."""
    from podctl.net import nsexec  # noqa: PLC0415

    specs = [f"{s.fileno()}:{m.protocol}:{m.container_port}" for s, m in zip(socks, ports, strict=True)]
    helper = nsexec.spawn_helper(
        lambda ready_w: [sys.executable, "-S", "-m", "podctl.net.portfwd", str(ready_w), str(watch_pid),
                         netns_path, *specs],
        userns_pid=userns_pid, log_path=log_path, pass_fds=tuple(s.fileno() for s in socks),
        env={**os.environ, "PYTHONPATH": _package_parent()},
    )  # fmt: skip
    return Starting(helper.pid, helper.ready_fd, log_path)


def start(netns_path: str, *, userns_pid: int | None, ports: Sequence[PortMapping], log_path: Path,
          watch_pid: int = 0, timeout: float = 10.0) -> tuple[int, int]:  # fmt: skip
    """Bind PORTS (resolved: one per port) on the host and start the forwarder on NETNS_PATH.

    The forwarder exits by itself when WATCH_PID (slirp4netns) exits.

    Returns (pid, start_time). Raises PortInUse naming a port that cannot be bound; on any
    failure nothing is left running.
    """
    socks = bind_all(ports)
    try:
        s = spawn(netns_path, userns_pid=userns_pid, socks=socks, ports=ports, log_path=log_path,
                  watch_pid=watch_pid)  # fmt: skip
    finally:
        for sock in socks:
            sock.close()
    s.wait(timeout)
    return s.pid, s.start_time


def _watch(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        os._exit(0)
    import select  # noqa: PLC0415

    select.select([fd], [], [])  # readable when the process exits
    os._exit(0)


def _load_threads() -> None:
    """queue, socket and threading, for the forwarder program only: podctl processes that
    merely bind and spawn (pod start, kube play) do not pay their import (~2.5 ms)."""
    global queue, socket, threading  # noqa: PLW0603
    import queue
    import socket
    import threading


def main(argv: list[str]) -> int:
    _load_threads()
    ready_fd, watch, netns_path, specs = int(argv[0]), int(argv[1]), argv[2], argv[3:]
    if watch:
        threading.Thread(target=_watch, args=(watch,), daemon=True).start()
    inside = Inside(netns_path)
    for spec in specs:
        fd, proto, guest = spec.split(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(fileno=int(fd))
        if sock.type != kind:
            raise SystemExit(f"portfwd: fd {fd} is not a {proto} socket")
        target: Callable[..., None] = _tcp if proto == "tcp" else _udp
        threading.Thread(target=target, args=(inside, sock, int(guest)), daemon=True).start()
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
