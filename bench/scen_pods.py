"""Scenarios: pods, kube play/down, throughput through a published port, systemd units."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import time
from pathlib import Path

from bench.proc import CommandFailed, descendants
from bench.report import ScenarioResult
from bench.scen_basic import ensure_busybox, remove_all
from bench.scenario import SLEEPER, Ctx, Helpers, Skipped, ToolFailed, free_port
from bench.stats import PODCTL, PODMAN, Target
from bench.tools import Tool


def remove_pods(tool: Tool) -> None:
    if tool.name == PODMAN or tool.has("pod", "rm"):
        tool.run("pod", "rm", "-a", "-f")
    remove_all(tool)


def pod(ctx: Ctx, res: ScenarioResult) -> None:
    """pod create -p H:80, two members started (run -d --pod), pod rm -f: whole sequence."""
    ctx.need_registry()
    ctx.require("pod create", "pod rm", "run")
    ctx.require_flag("pod create", "--publish")
    ctx.require_flag("run", "--pod")
    total = res.metric("pod create -p + 2x run -d --pod + pod rm -f",
                       target=Target("ratio_max", 0.5, "", "issue 5"))  # fmt: skip
    parts = {k: res.metric(k) for k in ("pod create -p", "run -d --pod (each)", "pod rm -f")}
    net = res.metric("network helper RSS per pod", unit="MiB")
    nnet = res.metric("network helper processes per pod", unit="count")
    allh = res.metric("all host helpers RSS per pod", unit="MiB")
    ctx.each(lambda t: ensure_busybox(ctx, t))
    seen: dict[str, str] = {}
    counter = [0]

    def step(tool: Tool, record: bool) -> None:
        counter[0] += 1
        name = f"bpod{counter[0]}"
        before = descendants()
        c = tool.time("pod", "create", "--name", name, "-p", f"127.0.0.1:{free_port()}:80").check()
        members = [
            tool.time(
                "run", "-d", "--pod", name, "--name", f"{name}-{m}", ctx.busybox, *SLEEPER
            ).check()  # fmt: skip
            for m in ("a", "b")
        ]
        time.sleep(0.2)
        helpers = Helpers.since(before, tool)
        seen[tool.name] = helpers.describe()
        r = tool.time("pod", "rm", "-f", name).check()
        if record:
            total.add(tool.name, c.wall + sum(m.wall for m in members) + r.wall)
            parts["pod create -p"].add(tool.name, c.wall)
            for m in members:
                parts["run -d --pod (each)"].add(tool.name, m.wall)
            parts["pod rm -f"].add(tool.name, r.wall)
            net.add(tool.name, helpers.rss(net=True))
            nnet.add(tool.name, helpers.count(net=True))
            allh.add(tool.name, helpers.rss())

    try:
        ctx.alternate(step)
    finally:
        for tool in ctx.order():
            remove_pods(tool)
    for name in (PODCTL, PODMAN):
        if name in seen:
            res.notes.append(f"{name}: a running pod with 2 members left {seen[name]} on the host")
    res.notes.append("pod total = sum of the four whole-process wall times")


KUBE_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: web
    image: {image}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; busybox httpd -f -p 80 -h /var/www & wait"]
    ports:
    - containerPort: 80
      hostPort: {port}
      hostIP: 127.0.0.1
  - name: side
    image: {image}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
"""


MANY_PODS = 5


def kube(ctx: Ctx, res: ScenarioResult) -> None:
    ctx.need_registry()
    ctx.require("kube play", "kube down")
    both = res.metric("kube play + kube down", target=Target("ratio_max", 0.5, "", "issue 6"))
    play = res.metric("kube play")
    down = res.metric("kube down")
    many = res.metric(f"kube play of {MANY_PODS} pods / of 1 pod", unit="x",
                      target=Target("abs_max", float(MANY_PODS), "", "issue 6: linear"))  # fmt: skip
    ctx.each(lambda t: ensure_busybox(ctx, t))
    counter = [0]

    def write(tool: Tool, pods: int) -> str:
        counter[0] += 1
        path = tool.base / f"kube{counter[0]}.yaml"
        docs = [KUBE_YAML.format(name=f"bkube{counter[0]}x{i}", image=ctx.busybox, port=free_port())
                for i in range(pods)]  # fmt: skip
        tool.user.write(path, "---\n".join(docs))
        return str(path)

    def step(tool: Tool, record: bool) -> None:
        path = write(tool, 1)
        p = tool.time("kube", "play", path).check()
        d = tool.time("kube", "down", path).check()
        if record:
            both.add(tool.name, p.wall + d.wall)
            play.add(tool.name, p.wall)
            down.add(tool.name, d.wall)
            path = write(tool, MANY_PODS)
            pm = tool.time("kube", "play", path).check()
            tool.time("kube", "down", path).check()
            many.add(tool.name, pm.wall / p.wall)

    try:
        ctx.alternate(step)
    finally:
        for tool in ctx.order():
            remove_pods(tool)
    res.notes.append("a pod of two busybox containers (httpd with hostPort, sleep), image cached; "
                     f"the {MANY_PODS}-pod file holds {MANY_PODS} such pods (one file, one play)")  # fmt: skip


def http_get(port: int, path: str, timeout: float = 60) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        if resp.status != 200:
            raise OSError(f"GET {path}: HTTP {resp.status}")
        n = 0
        while chunk := resp.read(1 << 20):
            n += len(chunk)
        return n
    finally:
        conn.close()


def throughput(ctx: Ctx, res: ScenarioResult) -> None:
    """MB/s of an HTTP GET of a file from busybox httpd in a container, through -p H:8080."""
    ctx.need_registry()
    ctx.require("run", "rm")
    ctx.require_flag("run", "--publish")
    mib = 10 if ctx.smoke else 100
    rate = res.metric(f"{mib} MiB GET through -p", unit="MB/s", better="higher",
                      target=Target("ratio_min", 0.8, "", "issue 5"))  # fmt: skip
    net = res.metric("network helper RSS after transfer", unit="MiB")
    ports: dict[str, int] = {}
    owned: dict[str, set[int]] = {}
    seen: dict[str, str] = {}
    script = (f"mkdir -p /w && dd if=/dev/zero of=/w/big bs=1M count={mib} 2>/dev/null && "
              "echo ok > /w/ready && exec busybox httpd -f -p 8080 -h /w")  # fmt: skip

    def start(tool: Tool) -> None:
        ensure_busybox(ctx, tool)
        port = free_port()
        before = descendants()
        tool.ok("run", "-d", "--name", "bweb", "-p", f"127.0.0.1:{port}:8080", ctx.busybox,
                "sh", "-c", script)  # fmt: skip
        owned[tool.name] = descendants() - before
        deadline = time.monotonic() + 60
        while True:
            try:
                http_get(port, "/ready", timeout=5)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise CommandFailed([tool.name, "run", "-p"], 0, "", f"port {port}: {e}") from e
                time.sleep(0.1)
        ports[tool.name] = port

    def step(tool: Tool, record: bool) -> None:
        t0 = time.perf_counter()
        try:
            n = http_get(ports[tool.name], "/big")
        except OSError as e:
            raise CommandFailed([tool.name, "GET /big"], 0, "", str(e)) from e
        secs = time.perf_counter() - t0
        if n != mib << 20:
            raise CommandFailed([tool.name, "GET /big"], 0, "", f"got {n} bytes, not {mib << 20}")
        if record:
            rate.add(tool.name, n / 1e6 / secs)
            # Only what this tool's `run -d` started: the other tool's container runs too.
            helpers = Helpers.since(descendants() - owned[tool.name], tool)
            net.add(tool.name, helpers.rss(net=True))
            seen[tool.name] = helpers.describe()

    try:
        ctx.each(start)
        ctx.alternate(step)
    finally:
        for tool in ctx.order():
            remove_all(tool)
    res.notes.append("one container per tool runs for the whole scenario; default rootless "
                     "network (podctl: pasta unless --podctl-network; podman: slirp4netns + rootlessport) "
                     "with -p 127.0.0.1:H:8080")  # fmt: skip
    for name, procs in seen.items():
        res.notes.append(f"{name}: after the last transfer the container left {procs} on the host")


def systemctl(ctx: Ctx, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ctx.user.argv(["systemctl", "--user", *args]), env=ctx.user.env(),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def add_env(unit: Path, env: dict[str, str]) -> None:
    """Give a generated unit the bench-private configuration of its tool."""
    lines = "".join(f'Environment="{k}={v}"\n' for k, v in sorted(env.items()))
    text = unit.read_text()
    unit.write_text(
        re.sub(r"^\[Service\]\n", lambda m: m.group(0) + lines, text, count=1, flags=re.M)
    )


def has_pods(tool: Tool) -> bool:
    return tool.name == PODMAN or (
        tool.has("pod", "create") and tool.help_mentions(["pod", "create"], "--publish")
        and tool.help_mentions(["create"], "--pod")
    )  # fmt: skip


def systemd_units(ctx: Ctx, res: ScenarioResult) -> None:
    """Generated units: a container unit's start and stop; a two-member pod unit's start/stop."""
    ctx.need_registry()
    ctx.require("generate systemd", "create")
    bus = ctx.user.runtime_dir / "bus"
    # Not `is-system-running`: without systemd as PID 1 systemctl answers "offline" locally.
    state = (systemctl(ctx, "show", "-p", "SystemState", "--value").stdout.strip()
             if bus.exists() else "")  # fmt: skip
    if state not in ("running", "degraded"):
        raise Skipped(f"no systemd user manager for {ctx.user.name} ({bus}: {state or 'missing'}):"
                      " run scripts/host-setup")  # fmt: skip
    pods = all(has_pods(t) for t in ctx.order())
    c_start = res.metric("systemctl start container unit until active")
    c_poll = res.metric("  container unit: until the bench's systemctl calls returned")
    c_stop = res.metric("systemctl stop container unit (ExecStop)",
                        target=Target("ratio_max", 0.5, "", "issue 7"))  # fmt: skip
    if pods:
        p_start = res.metric("systemctl start pod unit until its 3 units are active",
                             target=Target("ratio_max", 0.5, "", "issue 7"))  # fmt: skip
        p_poll = res.metric("  pod unit: until the bench's systemctl calls returned")
        m_stop = res.metric("systemctl stop a member's unit")
        p_stop = res.metric("systemctl stop pod unit")
    else:
        res.notes.append("pod units not measured: podctl pod create -p / create --pod: "
                         "not available yet")  # fmt: skip
    unit_dir = ctx.user.mkdir(ctx.user.runtime_dir / "systemd" / "user", 0o755)
    # The unit dir is shared by every bench running as this user: names carry this run's tag.
    run_tag = re.sub(r"[^a-z0-9]", "", ctx.top.name[-6:].lower())
    units: dict[str, list[Path]] = {}
    names: dict[str, dict[str, str]] = {}

    def generate_for(tool: Tool, name: str, gen: Path) -> list[Path]:
        p = subprocess.run(tool.argv("generate", "systemd", "--new", "--files", "--name", name),
                           env=tool.env(), capture_output=True, text=True, cwd=gen,
                           timeout=120)  # fmt: skip
        if p.returncode != 0:
            raise CommandFailed(tool.argv("generate", "systemd", "--new", "--files", "--name", name),
                                p.returncode, p.stdout, p.stderr)  # fmt: skip
        files = sorted(gen.glob("*.service"))
        for f in files:
            add_env(f, tool.env_extra)
            shutil.copy(f, unit_dir / f.name)
            tool.user.chown(unit_dir / f.name)
            units.setdefault(tool.name, []).append(unit_dir / f.name)
        return files

    def generate(tool: Tool) -> None:
        ensure_busybox(ctx, tool)
        ctr = f"bsc{run_tag}{tool.name[-2:]}"
        tool.ok("create", "--name", ctr, "--network", "none", ctx.busybox, *SLEEPER)
        files = generate_for(tool, ctr, tool.user.mkdir(tool.base / "units-ctr"))
        remove_all(tool)
        unit = next((f.name for f in files if f.name.endswith(f"{ctr}.service")), "")
        if not unit:
            raise CommandFailed(["generate", "systemd", ctr], 0, "", f"unexpected units {files}")
        names[tool.name] = {"ctr": unit}

    def generate_pod(tool: Tool) -> None:
        pod = f"bsp{run_tag}{tool.name[-2:]}"
        tool.ok("pod", "create", "--name", pod, "-p", f"127.0.0.1:{free_port()}:80")
        for m in ("a", "b"):
            tool.ok("create", "--pod", pod, "--name", f"{pod}-{m}", ctx.busybox, *SLEEPER)
        files = generate_for(tool, pod, tool.user.mkdir(tool.base / "units-pod"))
        remove_pods(tool)
        pod_unit = next((f.name for f in files if f.name.startswith("pod-")), "")
        member = next((f.name for f in files if f.name.endswith(f"{pod}-a.service")), "")
        if not pod_unit or not member or len(files) != 3:
            raise CommandFailed(["generate", "systemd", pod], 0, "", f"unexpected units {files}")
        names[tool.name].update(pod=pod_unit, member=member,
                                all=" ".join(f.name for f in files))  # fmt: skip

    def sysctl(*args: str) -> float:
        t0 = time.perf_counter()
        p = systemctl(ctx, *args)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            st = systemctl(ctx, "status", "--no-pager", args[-1]).stdout[-800:]
            raise CommandFailed(["systemctl", "--user", *args], p.returncode, p.stdout,
                                p.stderr + st)  # fmt: skip
        return wall

    def until_active(all_units: list[str], t0: float) -> tuple[float, float]:
        """systemctl start waits for the named unit's job only: wait for every unit's job, then
        take when each became active from systemd's own clock (ActiveEnterTimestampMonotonic,
        CLOCK_MONOTONIC as time.monotonic). Returns (until the last one was active by
        systemd's timestamps, until the bench's calls saw it): the first is free of the
        bench's own calls' latency, and no polling loop competes with the units for the CPUs."""
        if len(all_units) > 1:
            # Their start jobs are queued already (Wants=): this start merges with them and
            # returns once they are done (active, or failed).
            sysctl("start", *all_units[1:])
        seen = time.monotonic() - t0
        p = systemctl(ctx, "show", "-p", "ActiveState", "-p", "ActiveEnterTimestampMonotonic",
                      *all_units)  # fmt: skip
        props = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                 for block in p.stdout.strip().split("\n\n")]  # fmt: skip
        states = [d.get("ActiveState", "?") for d in props]
        stamps = [int(d.get("ActiveEnterTimestampMonotonic") or 0) / 1e6 for d in props]
        if states != ["active"] * len(all_units) or min(stamps) < t0:
            raise CommandFailed(["systemctl", "--user", "show", *all_units], 0, p.stdout,
                                f"units are not all active since the start: {states}")  # fmt: skip
        return max(stamps) - t0, seen

    def step(tool: Tool, record: bool) -> None:
        n = names[tool.name]
        t0 = time.monotonic()
        sysctl("start", n["ctr"])
        a, a_seen = until_active([n["ctr"]], t0)
        b = sysctl("stop", n["ctr"])
        if record:
            c_start.add(tool.name, a)
            c_poll.add(tool.name, a_seen)
            c_stop.add(tool.name, b)
        if not pods:
            return
        t0 = time.monotonic()
        sysctl("start", n["pod"])
        c, c_seen = until_active([n["pod"], *(u for u in n["all"].split() if u != n["pod"])], t0)
        d = sysctl("stop", n["member"])
        e = sysctl("stop", n["pod"])
        if record:
            p_start.add(tool.name, c)
            p_poll.add(tool.name, c_seen)
            m_stop.add(tool.name, d)
            p_stop.add(tool.name, e)

    pod_failure = ""
    try:
        ctx.each(generate)
        if pods:
            try:
                ctx.each(generate_pod)
            except ToolFailed as e:  # keep the container units' figures; report podctl's failure
                if e.tool != PODCTL:
                    raise
                pods, pod_failure = False, f"pod units: {e}"
                for m in (p_start, p_poll, m_stop, p_stop):
                    res.metrics.remove(m)
                remove_pods(ctx.podctl)
        systemctl(ctx, "daemon-reload")
        ctx.alternate(step)
        if pod_failure:
            res.status, res.message = "failed", pod_failure
    finally:
        for files in units.values():
            for f in files:
                systemctl(ctx, "stop", f.name)
                f.unlink(missing_ok=True)
                # The units' ID files (%t/UNIT.service.ctr-id, %t/UNIT.pod-id, %t/UNIT.pid):
                # podman 4.3.1's rm and pod rm leave them behind.
                for leftover in (f"{f.name}.ctr-id", f"{f.stem}.pod-id", f"{f.stem}.pid"):
                    (ctx.user.runtime_dir / leftover).unlink(missing_ok=True)
            systemctl(ctx, "reset-failed", *[f.name for f in files])
        if units:
            systemctl(ctx, "daemon-reload")
        for tool in ctx.order():
            remove_pods(tool)
    res.notes.append(f"units from `generate systemd --new --files --name NAME`, placed in {unit_dir}"
                     " (the runtime unit dir: nothing written under ~/.config); container "
                     "--network none, pod -p 127.0.0.1:H:80")  # fmt: skip
