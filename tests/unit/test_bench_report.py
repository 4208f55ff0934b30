"""bench: the printed and JSON report, exit codes, argument parsing, alternation, helpers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import cli  # noqa: E402
from bench.proc import CommandFailed, User, timed  # noqa: E402
from bench.report import ScenarioResult, exit_code, render, short, to_json  # noqa: E402
from bench.scenario import Ctx, ToolFailed, Unavailable, disk_usage, is_net_helper  # noqa: E402
from bench.stats import PODCTL, PODMAN, Target  # noqa: E402
from bench.tools import registries_conf  # noqa: E402

HEADER = {
    "date": "2026-11-28 00:00:00 UTC",
    "runs": "10 per tool after 1 warm-up",
    "versions": {"podctl": "0.1.0", "podman": "4.3.1", "runc": "1.1.5"},
    "settings": {"runtime": "runc for both", "storage": "overlay for both"},
}


def results() -> list[ScenarioResult]:
    ok = ScenarioResult("run", "run --rm true")
    m = ok.metric("run --rm true", target=Target("ratio_max", 0.5, source="issue 4"))
    for a, b in ((0.05, 0.2), (0.06, 0.19), (0.07, 0.21)):
        m.add(PODCTL, a)
        m.add(PODMAN, b)
    rss = ok.metric("peak RSS", unit="MiB")
    rss.add(PODCTL, 30)
    rss.add(PODMAN, 36)
    ok.notes.append("a note")
    missing = ScenarioResult("kube", "kube play", status="unavailable",
                             message="podctl kube play: not available yet")  # fmt: skip
    broken = ScenarioResult("pod", "pod", status="failed", message="podctl: pod create exited 125\n"
                            "Error: boom")  # fmt: skip
    return [ok, missing, broken]


def test_render_table_and_header() -> None:
    text = render(HEADER, results())
    assert "versions: podctl 0.1.0, podman 4.3.1, runc 1.1.5" in text
    assert "runtime: runc for both" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("run "))
    assert "60.0 ms [50.0-70.0]" in row
    assert "200.0 ms [190.0-210.0]" in row
    assert "0.30x" in row
    assert "ratio <= 0.5 (issue 4): PASS" in row
    assert "UNAVAILABLE: podctl kube play: not available yet" in text
    assert "FAILED: podctl: pod create exited 125" in text
    assert "problems:\n  pod (failed): podctl: pod create exited 125\nError: boom" in text
    assert "run: a note" in text
    assert text.rstrip().endswith(
        "scenarios: 1 ok, 1 unavailable, 1 failed; targets: 1 PASS, 0 FAIL"
    )


def test_json_report_round_trips() -> None:
    data = json.loads(to_json(HEADER, results()))
    assert data["header"]["versions"]["podman"] == "4.3.1"
    run = data["scenarios"][0]
    assert run["status"] == "ok"
    assert run["metrics"][0]["summary"]["podctl"]["median"] == pytest.approx(0.06)
    assert run["metrics"][0]["ratio"] == pytest.approx(0.3)
    assert run["metrics"][0]["target"]["verdict"] == "PASS"
    assert run["metrics"][1]["unit"] == "MiB"
    assert [s["status"] for s in data["scenarios"]] == ["ok", "unavailable", "failed"]


def test_exit_code() -> None:
    rs = results()
    assert exit_code(rs) == 0
    assert exit_code(rs, strict=True) == 1
    rs.append(ScenarioResult("x", "x", status="error", message="TypeError"))
    assert exit_code(rs) == 1
    assert exit_code([ScenarioResult("s", "s", status="skipped")], strict=True) == 0


def test_short_cuts_long_messages() -> None:
    assert short("a\nb") == "a"
    assert short("x" * 100, 10) == "xxxxxxx..."
    assert short("") == ""


def test_parse_arguments() -> None:
    ns = cli.parse(["--smoke", "--runs", "7", "--only", "run,ps", "--only", "pull"])
    assert ns.runs == 1 and ns.smoke
    assert ns.only == ["run", "ps", "pull"]
    assert cli.parse([]).runs == 10
    with pytest.raises(SystemExit):
        cli.parse(["--only", "nope"])
    with pytest.raises(SystemExit):
        cli.parse(["--runs", "0"])
    assert cli.parse([]).podctl_network == "default"
    assert cli.parse(["--podctl-network", "slirp4netns"]).podctl_network == "slirp4netns"
    with pytest.raises(SystemExit):
        cli.parse(["--podctl-network", "bridge"])
    names = [s[0] for s in cli.SCENARIOS]
    for wanted in ("startup", "run", "ps", "pull", "pod", "kube", "throughput", "systemd",
                   "disk", "monitor"):  # fmt: skip
        assert wanted in names


class FakeTool:
    def __init__(self, name: str, fail: str = "") -> None:
        self.name = name
        self.fail = fail

    def has(self, *cmd: str) -> bool:
        return cmd != ("kube", "play")

    def help_mentions(self, command: list[str], flag: str) -> bool:
        return flag != "--publish"


def ctx(tools: dict[str, FakeTool], warmup: bool = True, reference: bool = False) -> Ctx:
    return Ctx(user=User("u", 1, 1, Path("/")), top=Path("/"), tools=tools,  # type: ignore[arg-type]
               runs=2, warmup=warmup, smoke=False, registry="r", busybox="r/b",
               registry_ok=True, reference=reference)  # fmt: skip


def test_alternate_runs_a_b_a_b_after_warm_up() -> None:
    calls: list[tuple[str, bool]] = []
    c = ctx({PODMAN: FakeTool(PODMAN), PODCTL: FakeTool(PODCTL)})
    c.alternate(lambda t, rec: calls.append((t.name, rec)))
    assert calls == [(PODCTL, False), (PODMAN, False), (PODCTL, True), (PODMAN, True),
                     (PODCTL, True), (PODMAN, True)]  # fmt: skip
    calls.clear()
    ctx({PODCTL: FakeTool(PODCTL)}, warmup=False).alternate(lambda t, r: calls.append((t.name, r)))
    assert calls == [(PODCTL, True), (PODCTL, True)]


def test_failures_are_attributed_to_the_tool() -> None:
    def step(t: FakeTool, rec: bool) -> None:
        raise CommandFailed([t.name, "x"], 125, "", "Error: boom")

    with pytest.raises(ToolFailed) as e:
        ctx({PODCTL: FakeTool(PODCTL)}).alternate(step)
    assert e.value.tool == PODCTL

    def missing(t: FakeTool, rec: bool) -> None:
        raise CommandFailed([t.name, "x"], 2, "", "Error: No such command 'x'.")

    with pytest.raises(Unavailable):
        ctx({PODCTL: FakeTool(PODCTL)}).alternate(missing)

    def no_flag(t: FakeTool, rec: bool) -> None:
        raise CommandFailed(
            [t.name, "run", "-p"], 2, "", "Usage: ...\n\nError: No such option '-p'."
        )

    with pytest.raises(Unavailable, match="No such option '-p'.: not available yet"):
        ctx({PODCTL: FakeTool(PODCTL)}).alternate(no_flag)
    with pytest.raises(ToolFailed):  # podman lacking something is the harness's fault
        ctx({PODMAN: FakeTool(PODMAN)}).alternate(no_flag)


def test_require_names_missing_commands() -> None:
    c = ctx({PODCTL: FakeTool(PODCTL), PODMAN: FakeTool(PODMAN)})
    c.require("run", "pod create")
    with pytest.raises(Unavailable, match="podctl kube play: not available yet"):
        c.require("run", "kube play")
    ref = ctx({PODCTL: FakeTool(PODCTL), PODMAN: FakeTool(PODMAN)}, reference=True)
    ref.require("kube play")
    ref.require_flag("run", "--publish")
    ref.require_flag("run", "--pod")
    assert [t.name for t in ref.order()] == [PODMAN]
    assert ref.missing == ("podctl kube play: not available yet; "
                           "podctl run --publish: not available yet")  # fmt: skip
    with pytest.raises(Unavailable, match="podctl run --publish: not available yet"):
        c.require_flag("run", "--publish")


def test_timed_exit_code_output_and_wall() -> None:
    t = timed(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], {"PATH": "/usr/bin:/bin"})
    assert (t.code, t.out, t.err) == (3, "out\n", "err\n")
    assert 0 < t.wall < 5
    with pytest.raises(CommandFailed, match="exited 3: err"):
        t.check()


@pytest.mark.parametrize("which", ["auto", "busybox"])
def test_timed_peak_rss_is_the_commands_not_the_benchs(
    which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import bench.proc

    if which == "busybox":
        bb = shutil.which("busybox")
        if not bb:
            pytest.fail("busybox is missing: run scripts/host-setup (busybox-static)")
        monkeypatch.setattr(bench.proc, "_WRAPPER", ("busybox time", [bb, "time", "-v"]))
    else:
        monkeypatch.setattr(bench.proc, "_WRAPPER", None)
        assert bench.proc.wrapper()[0] in ("GNU time", "busybox time")
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # the test process now has a 200 MiB peak
    small = timed(["/bin/sh", "-c", "echo e >&2; exit 3"], {"PATH": "/usr/bin:/bin"}, rss=True)
    big = timed([sys.executable, "-c", "b = bytearray(80 << 20); b[::4096] = b'y' * len(b[::4096])"],
                {"PATH": "/usr/bin:/bin"}, rss=True)  # fmt: skip
    del ballast
    assert big.code == 0, big.err
    assert (small.code, small.err) == (3, "e\n")  # the wrapper's own report is not in stderr
    assert 0 < small.maxrss_mib < 20
    assert 80 < big.maxrss_mib < 150


def test_disk_usage_counts_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(os.urandom(64 * 1024))
    before = disk_usage(tmp_path)
    os.link(tmp_path / "a", tmp_path / "b")
    assert disk_usage(tmp_path) == before
    (tmp_path / "c").write_bytes(os.urandom(64 * 1024))
    assert disk_usage(tmp_path) - before >= 64 * 1024


def test_registries_conf_marks_the_loopback_registry_insecure() -> None:
    import tomllib

    conf = tomllib.loads(registries_conf("127.0.0.1:5000"))
    assert conf["registry"] == [{"location": "127.0.0.1:5000", "insecure": True}]
    assert conf["unqualified-search-registries"] == []


def test_oci_archive_keeps_only_the_tagged_manifest(tmp_path: Path) -> None:
    import tarfile

    from bench.images import BigImage, oci_archive
    from podctl.image.oci_layout import Layer, LayoutWriter

    w = LayoutWriter(tmp_path / "layout")
    w.image([Layer().file("a", "1").tar_bytes()], {}, tag="one")
    w.image([Layer().file("b", "2").tar_bytes()], {}, tag="two")
    arch = oci_archive(tmp_path / "layout", "two", tmp_path / "two.tar")
    with tarfile.open(arch) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
    assert "oci-layout" in names and any(n.startswith("blobs/sha256/") for n in names)
    refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert refs == ["two"]
    spec = BigImage(layers=5, layer_mib=20)
    assert spec.total_mib == 100
    assert spec.ref("r:5000") == "r:5000/bench/big:l5x20m-s8"
    assert spec.ref("r:5000", extra=True).endswith("-plus")


def test_network_helpers_by_name() -> None:
    for name in ("slirp4netns", "rootlessport", "pasta", "passt.avx2", "pasta.avx2", "podctl.net.portfwd"):
        assert is_net_helper(name), name
    for name in ("conmon", "catatonit", "python3", "podctl"):
        assert not is_net_helper(name), name
