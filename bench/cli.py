"""`python -m bench`: run the scenarios, podctl and podman alternately, and print the report."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import scen_basic, scen_pods
from bench.images import BUSYBOX_REPO, registry_has
from bench.proc import User, become_subreaper, descendants, kill_tree, wrapper
from bench.report import ScenarioResult, exit_code, render, to_json
from bench.scenario import Ctx, Skipped, ToolFailed, Unavailable
from bench.stats import PODCTL, PODMAN
from bench.tools import RUNTIME, STORAGE_DRIVER, Tool, find_podctl, find_podman, make_tool

Scenario = Callable[[Ctx, ScenarioResult], None]

SCENARIOS: list[tuple[str, str, Scenario]] = [
    ("startup", "CLI start-up: --version, --help (vs python3 -c pass)", scen_basic.startup),
    ("run", "run --rm --network none IMAGE true", scen_basic.run_rm),
    ("ps", "ps -a with 50 containers", scen_basic.ps_a),
    ("pull", "pull of a ~100 MB multi-layer image", scen_basic.pull),
    ("pod", "pod create -p, two members, pod rm -f", scen_pods.pod),
    ("kube", "kube play + kube down, two containers, hostPort", scen_pods.kube),
    ("throughput", "100 MB through a published port", scen_pods.throughput),
    ("systemd", "generated units: start pod unit, stop container unit", scen_pods.systemd_units),
    ("disk", "disk used by a second container of the same image", scen_basic.disk),
    ("monitor", "host RSS per running detached container", scen_basic.monitor),
]


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--runs", type=int, default=10, help="measured runs per tool (default 10; "
                    "start-up uses at least 20)")  # fmt: skip
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="one run, no warm-up, small sizes: checks the harness (CI)",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ap.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these scenarios (repeat or comma-separate)",
    )
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--podctl", metavar="PATH", help="podctl binary (default: beside this Python)")
    ap.add_argument("--podman", metavar="PATH", help="podman binary (default: from PATH)")
    ap.add_argument("--no-podman", action="store_true", help="measure podctl alone")
    ap.add_argument("--registry", default=os.environ.get("PODCTL_TEST_REGISTRY", "127.0.0.1:5000"))
    ap.add_argument("--user", help="user to run both tools as when run as root (default podtest)")
    ap.add_argument(
        "--reference",
        action="store_true",
        help="measure podman even where podctl lacks the command (reference figures)",
    )
    ap.add_argument(
        "--podctl-runtime",
        default=RUNTIME,
        metavar="NAME",
        help=f"podctl's OCI runtime (default {RUNTIME}, as podman's); 'default' lets podctl pick "
        "its own (crun where it runs); podman always gets runc (its crun cannot run on hybrid cgroups)",
    )
    ap.add_argument(
        "--podctl-network",
        choices=("default", "slirp4netns", "pasta"),
        default="default",
        help="podctl's default rootless network, set in its private containers.conf "
        "([network] default_rootless_network_cmd); 'default' sets nothing (podctl's own default, "
        "pasta); podman 4.3.1 always uses slirp4netns + rootlessport",
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when podctl fails a scenario")
    ns = ap.parse_args(argv)
    if ns.runs < 1:
        ap.error("--runs must be at least 1")
    if ns.smoke:
        ns.runs = 1
    known = [s[0] for s in SCENARIOS]
    if ns.only:
        only = [n.strip() for o in ns.only for n in o.split(",") if n.strip()]
        bad = [n for n in only if n not in known]
        if bad:
            ap.error(f"--only: unknown scenario {', '.join(bad)} (known: {', '.join(known)})")
        ns.only = only
    return ns


def first_line(argv: list[str], pattern: str = r"version\s+(\S+)") -> str:
    if not shutil.which(argv[0]):
        return "not installed"
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(pattern, p.stdout + p.stderr)
    return m.group(1) if m else (p.stdout.strip().splitlines() or ["?"])[0]


def podctl_runtime(ctx: Ctx) -> str:
    """The runtime podctl picks by itself, as `podctl info` names it."""
    p = ctx.podctl.run("info", "--format", "{{.Host.OCIRuntime.Name}}")
    return p.stdout.strip() or "?"


def header(ctx: Ctx, ns: argparse.Namespace) -> dict[str, object]:
    podman = ctx.podman
    versions = {
        "podctl": ctx.podctl.version(),
        "podman": podman.version() if podman else "not used",
        "runc": first_line(["runc", "--version"]),
        "conmon": first_line(["conmon", "--version"]),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    settings = {
        "user": f"{ctx.user.name} (uid {ctx.user.uid})" + (", via setpriv" if ctx.user.drop else ""),
        "runtime": (f"{RUNTIME} for both (--runtime {RUNTIME})" if ctx.podctl.runtime == RUNTIME else
                    f"podctl: {ctx.podctl.runtime or 'its own choice (' + podctl_runtime(ctx) + ')'}; "
                    f"podman: {RUNTIME}"),
        "storage": f"{STORAGE_DRIVER} for both, private --root/--runroot per tool under "
                   f"{ctx.top}; podman 4.3.1 rootless mounts kernel overlay natively here "
                   "(userxattr in its user namespace, no fuse-overlayfs), as podctl does",
        "network": "--network none for run/ps/disk/monitor; default rootless network "
                   f"(podctl: {_podctl_network(ns)}; podman: slirp4netns, "
                   "publishing ports with rootlessport) for pod/kube/throughput/systemd",
        "cgroup manager": "cgroupfs (podman; hybrid cgroups, no systemd as PID 1)",
        "registry": f"{ctx.registry} (plain HTTP; podman via a private registries.conf)",
        "peak RSS": f"ru_maxrss read through {wrapper()[0]} (a small process that forks the "
                    "command: a direct child of the bench would inherit the bench's own peak "
                    "at exec); helpers' RSS from /proc of the bench's descendants "
                    "(the bench is their subreaper)",
        "podman config": "private CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, "
                         "CONTAINERS_REGISTRIES_CONF, tmp_dir (own pause process)",
    }  # fmt: skip
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "workdir": str(ctx.top),
        "runs": "smoke (1 run, no warm-up)" if ns.smoke else f"{ns.runs} per tool after 1 warm-up",
        "order": "podctl, podman alternately (A B A B)" if podman else "podctl only",
        "versions": versions,
        "settings": settings,
    }


def run_scenario(ctx: Ctx, name: str, title: str, fn: Scenario) -> ScenarioResult:
    res = ScenarioResult(name, title)
    before = descendants()
    t0 = time.monotonic()
    ctx.log(f"[bench] {name}: {title}")
    ctx.missing = ""
    try:
        fn(ctx, res)
        if ctx.missing:
            res.status, res.message = "unavailable", ctx.missing + " (podman measured alone)"
    except Unavailable as e:
        res.status, res.message = "unavailable", str(e)
    except Skipped as e:
        res.status, res.message = "skipped", str(e)
    except ToolFailed as e:
        res.status = "failed" if e.tool == PODCTL else "error"
        res.message = str(e)
    except Exception as e:  # the harness itself broke: say where
        res.status = "error"
        res.message = f"{type(e).__name__}: {e}"
        traceback.print_exc(file=sys.stderr)
    finally:
        kill_tree(descendants() - before - pause_processes(ctx))
    res.seconds = time.monotonic() - t0
    ctx.log(f"[bench] {name}: {res.status} {res.message}".rstrip() + f" ({res.seconds:.1f} s)")
    return res


def pause_processes(ctx: Ctx) -> set[int]:
    from bench.scenario import pause_pids

    out: set[int] = set()
    for tool in ctx.tools.values():
        out |= pause_pids(tool)
    return out


def _podctl_network(ns: argparse.Namespace) -> str:
    if ns.podctl_network == "default":
        return "its default, pasta"
    extra = ", publishing ports with its forwarder" if ns.podctl_network == "slirp4netns" else ""
    return f"{ns.podctl_network} (containers.conf){extra}"


def make_ctx(ns: argparse.Namespace, user: User, top: Path, log: Callable[[str], None]) -> Ctx:
    tag = top.name[-4:]
    podctl_bin = find_podctl(ns.podctl)
    if not podctl_bin:
        raise SystemExit("podctl is not installed (pip install -e . in a venv, or --podctl PATH)")
    tools: dict[str, Tool] = {
        PODCTL: make_tool(PODCTL, podctl_bin, user, top, tag, ns.registry,
                          None if ns.podctl_runtime == "default" else ns.podctl_runtime,
                          network=None if ns.podctl_network == "default" else ns.podctl_network),  # fmt: skip
    }
    podman_bin = None if ns.no_podman else find_podman(ns.podman)
    if podman_bin:
        tools[PODMAN] = make_tool(PODMAN, podman_bin, user, top, tag, ns.registry)
    repo, _, tag_ = BUSYBOX_REPO.partition(":")
    return Ctx(
        user=user, top=top, tools=tools, runs=ns.runs, warmup=not ns.smoke, smoke=ns.smoke,
        registry=ns.registry, busybox=f"{ns.registry}/{BUSYBOX_REPO}",
        registry_ok=registry_has(ns.registry, repo, tag_), log=log, reference=ns.reference,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ns = parse(argv)
    if ns.list:
        for name, title, _ in SCENARIOS:
            print(f"{name:12} {title}")
        return 0
    user = User.pick(ns.user)
    if user.drop and not user.runtime_dir.is_dir():
        raise SystemExit(f"{user.runtime_dir} does not exist: run scripts/host-setup")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # SIGTERM unwinds like Ctrl-C, so containers, pause processes and storage are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    become_subreaper()
    top = Path(tempfile.mkdtemp(prefix="podctl-bench-", dir="/var/tmp"))
    user.chown(top)
    ctx = None
    results: list[ScenarioResult] = []
    try:
        ctx = make_ctx(ns, user, top, log)
        if ctx.podman is None:
            log("[bench] podman not found: measuring podctl alone (no ratios)")
        head = header(ctx, ns)
        for name, title, fn in SCENARIOS:
            if ns.only and name not in ns.only:
                continue
            results.append(run_scenario(ctx, name, title, fn))
    finally:
        if ctx is not None:
            for tool in ctx.tools.values():
                try:
                    tool.cleanup()
                except Exception as e:  # keep cleaning the others
                    log(f"[bench] cleanup of {tool.name}: {e}")
        kill_tree(descendants())
        if ctx is not None:  # a pause process killed last may have held a runroot open
            for tool in ctx.tools.values():
                shutil.rmtree(tool.runroot, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)
    print(render(head, results))
    if ns.json:
        Path(ns.json).write_text(to_json(head, results) + "\n")
    return exit_code(results, ns.strict)
