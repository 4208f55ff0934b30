"""Scenarios: CLI start-up, run --rm, ps -a, pull, disk per container, monitor RSS."""

from __future__ import annotations

import time
from pathlib import Path

from bench.images import BigImage, Pusher, build_and_push, oci_archive, registry_has
from bench.proc import CommandFailed, descendants, timed
from bench.report import ScenarioResult
from bench.scenario import SLEEPER, Ctx, Helpers, disk_usage
from bench.stats import PODCTL, PODMAN, Target
from bench.tools import Tool

PY_BASELINE = "python3 -c pass"


def startup(ctx: Ctx, res: ScenarioResult) -> None:
    """`--version` and `--help` of each tool, with `python3 -c pass` run just before each."""
    base = res.metric(PY_BASELINE)
    ver = res.metric("--version", target=Target("delta_max", 0.040, PY_BASELINE, "issue 2"))
    hlp = res.metric("--help", target=Target("delta_max", 0.040, PY_BASELINE, "issue 2"))

    def step(tool: Tool, record: bool) -> None:
        py = timed(ctx.user.argv(["/usr/bin/python3", "-c", "pass"]), tool.env()).check()
        v = tool.time("--version", bare=True).check()
        h = tool.time("--help", bare=True).check()
        if record:
            base.add(tool.name, py.wall)
            ver.add(tool.name, v.wall)
            hlp.add(tool.name, h.wall)

    runs = 1 if ctx.smoke else max(ctx.runs, 20)
    ctx.alternate(step, runs)
    res.notes.append(f"{runs} runs each (issue 2 asks for medians of 20); {PY_BASELINE} is "
                     "/usr/bin/python3 run just before each tool's pair, as the same user")  # fmt: skip


def ensure_busybox(ctx: Ctx, tool: Tool) -> None:
    """Have the busybox image in the tool's store (pull, or a first run that pulls)."""
    key = f"busybox:{tool.name}"
    if ctx.cache.get(key):
        return
    if tool.name == PODMAN or tool.has("pull"):
        tool.ok("pull", *tool.pull_args(), ctx.busybox, timeout=300)
    else:
        tool.ok("run", "--rm", "--network", "none", ctx.busybox, "true", timeout=300)
    ctx.cache[key] = True


def run_rm(ctx: Ctx, res: ScenarioResult) -> None:
    ctx.need_registry()
    ctx.require("run")
    wall = res.metric(
        "run --rm --network none true", target=Target("ratio_max", 0.5, "", "issue 4")
    )
    rss = res.metric("peak RSS (CLI + waited children)", unit="MiB")
    ctx.each(lambda t: ensure_busybox(ctx, t))

    def step(tool: Tool, record: bool) -> None:
        t = tool.time("run", "--rm", "--network", "none", ctx.busybox, "true", rss=True).check()
        if record:
            wall.add(tool.name, t.wall)
            rss.add(tool.name, t.maxrss_mib)

    ctx.alternate(step)


def remove_all(tool: Tool) -> None:
    if tool.name == PODMAN:
        tool.run("rm", "-a", "-f", "-t", "0")
    elif tool.has("rm"):
        tool.run("rm", "-a", "-f")


def ps_a(ctx: Ctx, res: ScenarioResult) -> None:
    ctx.need_registry()
    ctx.require("ps")
    if not ctx.podctl.has("create"):
        ctx.require("run")
    count = 5 if ctx.smoke else 50
    wall = res.metric(
        f"ps -a ({count} containers)", target=Target("ratio_max", 0.75, "", "issue 4")
    )

    def fill(tool: Tool) -> None:
        ensure_busybox(ctx, tool)
        verb = "create" if tool.name == PODMAN or tool.has("create") else "run"
        for i in range(count):
            tool.ok(verb, "--name", f"bps{i}", "--network", "none", ctx.busybox, "true")

    def step(tool: Tool, record: bool) -> None:
        t = tool.time("ps", "-a").check()
        lines = [ln for ln in t.out.splitlines() if ln.strip()]
        if len(lines) < count + 1:
            raise CommandFailed(
                t.argv, 0, t.out, f"listed {len(lines) - 1} containers, not {count}"
            )
        if record:
            wall.add(tool.name, t.wall)

    try:
        ctx.each(fill)
        ctx.alternate(step)
    finally:
        for tool in ctx.order():
            remove_all(tool)


def big_image(ctx: Ctx) -> BigImage:
    return BigImage(layers=2, layer_mib=5) if ctx.smoke else BigImage(layers=5, layer_mib=20)


def podctl_pusher(ctx: Ctx) -> Pusher | None:
    """Push with podctl (load the oci-archive, push it) once it can; "" when it did."""
    tool = ctx.podctl
    if not (tool.has("load") and tool.has("push") and tool.has("rmi")):
        return None

    def push(layout: Path, tag: str, ref: str) -> str:
        archive = tool.user.chown(oci_archive(layout, tag, tool.base / "tmp" / f"{tag}.tar"))
        try:
            loaded = tool.run("load", "-q", "-i", str(archive), timeout=600)
            if loaded.returncode != 0:
                return f"load: {loaded.stderr.strip()[-300:]}"
            image = loaded.stdout.strip().split()[-1] if loaded.stdout.strip() else ""
            image = image.split(",")[0]
            pushed = tool.run("push", "--tls-verify=false", image, f"docker://{ref}", timeout=600)
            tool.run("rmi", "-f", image)
            if pushed.returncode != 0:
                return f"push {image}: {pushed.stderr.strip()[-300:]}"
            return "" if registry_has(ctx.registry, *ref.split("/", 1)[1].rsplit(":", 1)) else (
                "the registry does not have it afterwards")  # fmt: skip
        finally:
            archive.unlink(missing_ok=True)

    return push


def pull(ctx: Ctx, res: ScenarioResult) -> None:
    ctx.need_registry()
    ctx.require("pull")
    spec = big_image(ctx)
    notes: list[str] = []
    base, plus = build_and_push(spec, ctx.registry, notes, podctl_pusher(ctx))
    res.notes.extend(notes)
    res.notes.append(f"image {base}: busybox + {spec.layers} layers of {spec.layer_mib} MiB of "
                     f"random bytes (gzip), then {plus} adds one {max(1, spec.layer_mib // 2)} "
                     "MiB layer; image removed (untimed) before each pull")  # fmt: skip
    wall = res.metric(f"pull ~{spec.total_mib} MiB, {spec.layers + 1} layers",
                      target=Target("ratio_max", 1.0, "", "issue 3"))  # fmt: skip
    rss = res.metric("pull peak RSS", unit="MiB", target=Target("abs_max", 80, "", "issue 3"))
    wall2 = res.metric("pull of 2nd image sharing all but 1 layer")
    podctl_rmi = ctx.podctl.has("rmi")
    if not podctl_rmi and not ctx.missing:
        res.notes.append("podctl has no rmi yet: podctl pulls into a fresh store each time")

    def forget(tool: Tool) -> None:
        if tool.name == PODMAN or podctl_rmi:
            tool.run("rmi", "-f", base, plus)
            if (tool.name == PODMAN or tool.has("image", "exists")) and any(
                tool.run("image", "exists", ref).returncode == 0 for ref in (base, plus)
            ):
                raise CommandFailed([tool.name, "rmi", "-f", base, plus], 0, "",
                                    "the image is still there: the next pull would not pull")  # fmt: skip
        else:
            tool.run("unshare", "rm", "-rf", str(tool.root))
            tool.user.mkdir(tool.root)
            ctx.cache.pop(f"busybox:{tool.name}", None)

    def step(tool: Tool, record: bool) -> None:
        forget(tool)
        args = tool.pull_args()
        a = tool.time("pull", *args, base, timeout=600, rss=True).check()
        b = tool.time("pull", *args, plus, timeout=600, rss=True).check()
        if record:
            wall.add(tool.name, a.wall)
            rss.add(tool.name, max(a.maxrss_mib, b.maxrss_mib))
            wall2.add(tool.name, b.wall)

    try:
        ctx.alternate(step)
    finally:
        for tool in ctx.order():
            forget(tool)


def disk(ctx: Ctx, res: ScenarioResult) -> None:
    """Bytes the store grows by when a second container of an image starts."""
    ctx.need_registry()
    ctx.require("run", "rm")
    used = res.metric("disk for a 2nd running container", unit="KiB")
    ctx.each(lambda t: ensure_busybox(ctx, t))

    def step(tool: Tool, record: bool) -> None:
        args = ("run", "-d", "--network", "none")
        try:
            tool.ok(*args, "--name", "bdisk1", ctx.busybox, *SLEEPER)
            before = disk_usage(tool.root) + disk_usage(tool.runroot)
            tool.ok(*args, "--name", "bdisk2", ctx.busybox, *SLEEPER)
            time.sleep(0.2)
            after = disk_usage(tool.root) + disk_usage(tool.runroot)
        finally:
            remove_all(tool)
        if record:
            used.add(tool.name, (after - before) / 1024)

    ctx.alternate(step, min(ctx.runs, 5))
    res.notes.append("du of --root and --runroot (allocated blocks, hard links once) before and "
                     "after `run -d` of a second busybox container")  # fmt: skip


def monitor(ctx: Ctx, res: ScenarioResult) -> None:
    """Host RSS of what stays outside the container per detached container (conmon, monitor)."""
    ctx.need_registry()
    ctx.require("run", "rm")
    k = 2 if ctx.smoke else 3
    rss = res.metric("host RSS per running container", unit="MiB",
                     target=Target("abs_max", 3, "", "issue 4"))  # fmt: skip
    nproc = res.metric("host processes per container", unit="count")
    rund = res.metric("run -d --network none")
    ctx.each(lambda t: ensure_busybox(ctx, t))
    seen: dict[str, str] = {}

    def step(tool: Tool, record: bool) -> None:
        before = descendants()
        try:
            walls = []
            for i in range(k):
                t = tool.time("run", "-d", "--network", "none", "--name", f"bmon{i}",
                              ctx.busybox, *SLEEPER).check()  # fmt: skip
                walls.append(t.wall)
            time.sleep(0.3)
            helpers = Helpers.since(before, tool)
            seen[tool.name] = helpers.describe()
        finally:
            remove_all(tool)
        if record:
            rss.add(tool.name, helpers.rss() / k)
            nproc.add(tool.name, helpers.count() / k)
            for w in walls:
                rund.add(tool.name, w)

    ctx.alternate(step, min(ctx.runs, 5))
    for name in (PODCTL, PODMAN):
        if name in seen:
            res.notes.append(f"{name}: {k} containers left {seen[name]} on the host")
