"""The click-free fast path (podctl.cli.fast) parses exactly as click does, or leaves it to click.

If test_argtable_matches_click fails: the click options of a hot command changed; run
    /opt/podctl/venv/bin/python -m podctl.cli.argtable_gen --write
and commit podctl/cli/argtable.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import click
import pytest

from podctl.cli import argtable_gen, fast
from podctl.cli.main import cli, load_attr

IMG = "127.0.0.1:5000/busybox:latest"


def test_argtable_matches_click() -> None:
    assert argtable_gen.render() == argtable_gen.TABLE_PATH.read_text(), (
        "podctl/cli/argtable.py is stale: run python -m podctl.cli.argtable_gen --write"
    )


def test_argtable_module_does_not_import_click() -> None:
    code = (
        "import sys; import podctl.cli.argtable, podctl.cli.fast, podctl.cli.common, "
        "podctl.cli.output, podctl.cli.actions.container, podctl.cli.actions.pod, "
        "podctl.cli.actions.kube, podctl.cli.actions.health\n"
        "assert 'click' not in sys.modules, 'click imported'\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_hot_path_is_in_the_table() -> None:
    from podctl.cli import argtable

    want = {
        "run", "create", "start", "stop", "restart", "kill", "rm", "ps", "inspect", "wait", "logs",
        "exec", "container run", "container create", "container rm", "container ps",
        "container ls", "container list", "container cleanup", "container exists",
        "container inspect", "container stop", "container start", "pod create", "pod start",
        "pod stop", "pod rm", "pod ps", "pod exists", "pod inspect", "kube play", "kube down",
        "play kube", "healthcheck run",
    }  # fmt: skip
    assert want <= set(argtable.PATHS)


# -- the corpus: the fast parser's (command, params) equals click's -------------------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Replace every hot command's callback by one that records what click passes it."""
    calls: list[Any] = []
    for target, action in argtable_gen.HOT.items():
        cmd = load_attr(target)

        def record(_action: str = action, **params: Any) -> None:
            g = click.get_current_context().find_root().obj
            root = {
                "root": g.root,
                "runroot": g.runroot,
                "runtime": g.runtime,
                "log_level": g.log_level,
            }
            calls.append((_action, root, params))

        monkeypatch.setattr(cmd, "callback", record)
    yield calls


def click_parse(argv: list[str], calls: list[Any]) -> Any:
    """click's answer: (action, root params, params), or None when click reports a usage error."""
    calls.clear()
    try:
        cli.main(args=list(argv), prog_name="podctl", standalone_mode=False)
    except (click.ClickException, click.exceptions.Exit):
        return None
    assert len(calls) <= 1, argv
    return calls[0] if calls else None  # none: click printed help or the version


# fmt: off
CORPUS: list[list[str]] = [
    # ps and its spellings
    ["ps"], ["ps", "-a"], ["ps", "-aq"], ["ps", "-qa"], ["ps", "--all", "--quiet"],
    ["ps", "-a", "--format", "json"], ["ps", "-a", "--format=json"], ["ps", "--format", "{{.ID}}"],
    ["ps", "-f", "name=x", "-f", "status=exited", "--filter=label=a=b", "-fid=1"],
    ["ps", "--noheading"], ["ps", "-n"], ["ps", "--no-trunc"], ["ps", "--last", "3"],
    ["ps", "--last=-1"], ["ps", "-l"], ["ps", "-anq"], ["ps", "--latest", "-a"],
    ["container", "ps", "-a"], ["container", "ls", "-a"], ["container", "list", "-aq"],
    # rm / stop / start / restart / kill
    ["rm", "x"], ["rm", "-f", "x", "y"], ["rm", "-fv", "x"], ["rm", "-f", "--ignore", "nothere"],
    ["rm", "-fi", "nothere"], ["rm", "-a"], ["rm", "--all", "--force", "-t", "0"],
    ["rm", "-t5", "-f", "x"], ["rm", "-ft5", "x"], ["rm", "--time=5", "x"], ["rm", "x", "-f"],
    ["rm", "--", "-f"], ["rm", "-f", "--", "x", "-v"], ["container", "rm", "-f", "x"],
    ["rm"], ["rm", "-", "x"],
    ["stop", "x"], ["stop", "--ignore", "nothere"], ["stop", "-i", "-t", "0", "x"], ["stop", "-a"],
    ["stop", "-t", "-1", "x"], ["container", "stop", "--time", "3", "a", "b"],
    ["start", "x"], ["start", "-a", "x"], ["start", "--all"], ["container", "start", "--attach", "x"],
    ["restart", "x", "-t", "2"], ["restart", "--all"],
    ["kill", "x"], ["kill", "-s", "TERM", "x"], ["kill", "--signal=HUP", "-a"], ["kill", "-sINT", "x"],
    # inspect / exists / cleanup / wait / logs
    ["inspect", "x"], ["inspect", "-f", "{{.Name}}", "x", "y"], ["inspect", "--format=json", "x"],
    ["inspect", "-t", "container", "x"], ["inspect", "--type=image", "x"], ["inspect", "-s", "x"],
    ["container", "inspect", "x"], ["container", "exists", "x"],
    ["container", "cleanup", "abc"], ["container", "cleanup", "--rm", "abc"],
    ["container", "cleanup", "abc", "--rm"],
    ["wait", "x"], ["wait", "-i", "1s", "x", "y"], ["wait", "--condition", "exited", "--interval=5", "x"],
    ["logs", "x"], ["logs", "-f", "x"], ["logs", "--tail", "3", "-t", "x"], ["logs", "--tail=0", "-n", "a", "b"],
    ["logs", "--since", "10m", "--until", "1m", "x"], ["logs", "-ft", "x"],
    # run / create: every kind of option, tails with options after IMAGE
    ["run", IMG], ["run", "--rm", IMG, "true"], ["run", "-d", "--name", "web", IMG, "httpd", "-f"],
    ["run", "-it", IMG, "sh", "-c", "echo hi --rm"], ["run", "-dit", IMG],
    ["run", "-e", "A=1", "--env", "B=2", "-eC=3", "--env=D", IMG, "env"],
    ["run", "-v", "/a:/b:ro", "--volume=/c:/d", "--mount", "type=tmpfs,destination=/t", IMG],
    ["run", "-p", "8080:80", "-p8081:81", "--publish=8082:82", "-P", IMG],
    ["run", "--network", "none", "--rm", IMG, "true"], ["run", "--net=host", IMG],
    ["run", "-h", "myhost", IMG], ["run", "--hostname=h", IMG], ["run", "-w", "/tmp", "-u", "1000:1000", IMG],
    ["run", "--restart", "always", "--stop-timeout", "3", "--stop-signal", "SIGINT", IMG],
    ["run", "--read-only", "--no-read-only-tmpfs", IMG], ["run", "--read-only-tmpfs", IMG],
    ["run", "--cgroups=split", "--sdnotify", "conmon", IMG], ["run", "--sdnotify=healthy", IMG],
    ["run", "--health-cmd", "true", "--health-interval", "1s", "--health-retries", "2", IMG],
    ["run", "--health-on-failure=kill", "--no-healthcheck", IMG],
    ["run", "--cpus", "1.5", "--pids-limit", "100", "-m", "512m", IMG],
    ["run", "--cap-add", "NET_ADMIN", "--cap-drop=ALL", "--privileged", "--security-opt", "no-new-privileges", IMG],
    ["run", "-l", "a=b", "--label=c=d", "--annotation", "x=y", IMG],
    ["run", "--pod", "new:p", "--pod-id-file", "/tmp/f", IMG],
    ["run", "--entrypoint", '["sh","-c"]', IMG, "echo"], ["run", "--entrypoint=", IMG],
    ["run", "--replace", "--cidfile", "/tmp/cid", "--pull", "never", "--log-driver=none", IMG],
    ["run", "--dns", "1.1.1.1", "--dns-search", "x", "--dns-option", "ndots:1", "--add-host", "a:1.2.3.4", IMG],
    ["run", "--env-file", "/tmp/e", "--env-host", "--tmpfs", "/t", "--ulimit", "nofile=1:2", "--userns", "keep-id", IMG],
    ["run", IMG, "--help"], ["run", IMG, "-h"], ["run", "--", IMG, "ls", "-l"],
    ["run", "--rm", "--name", "--rm", IMG], ["run", "-d", "--", IMG],
    ["create", IMG], ["create", "--name", "x", IMG, "sleep", "10"], ["container", "create", "-it", IMG, "sh"],
    ["container", "run", "--rm", IMG, "true"],
    # exec
    ["exec", "x", "ls"], ["exec", "-it", "x", "sh", "-c", "ls -l"], ["exec", "-e", "A=1", "-u", "0", "x", "id", "-u"],
    ["exec", "--env-file=/tmp/e", "-w", "/", "-d", "--privileged", "x", "true"], ["exec", "x", "ls", "--help"],
    ["container", "exec", "x", "--", "ls"],
    # pods
    ["pod", "create"], ["pod", "create", "p"], ["pod", "create", "--name", "p", "-p", "8080:80"],
    ["pod", "create", "-n", "p", "--share", "+pid", "--no-infra", "--exit-policy=stop", "--replace"],
    ["pod", "create", "--infra-name", "i", "--infra-conmon-pidfile", "/tmp/c", "--pod-id-file", "/tmp/p", "p"],
    ["pod", "create", "--network", "none", "--add-host", "a:1.2.3.4", "--dns", "1.1.1.1", "-l", "a=b", "-v", "/a:/b"],
    ["pod", "create", "--hostname", "h", "--dns-search", "x", "--dns-option", "o", "--infra", "p"],
    ["pod", "start", "p"], ["pod", "start", "-a"], ["pod", "start", "--pod-id-file", "/tmp/p"],
    ["pod", "stop", "p", "-t", "3"], ["pod", "stop", "--ignore", "--pod-id-file", "/f", "--pod-id-file=/g"],
    ["pod", "stop", "-l"], ["pod", "rm", "-f", "p"], ["pod", "rm", "-fa"], ["pod", "rm", "-fi", "-t0", "p"],
    ["pod", "rm", "--force", "--ignore", "--pod-id-file", "/f"], ["pod", "ps"], ["pod", "ps", "-q", "--no-trunc"],
    ["pod", "ps", "--format", "json"], ["pod", "ps", "-f", "name=p", "--ctr-names", "-n"],
    ["pod", "exists", "p"], ["pod", "inspect", "p"], ["pod", "inspect", "-f", "{{.Name}}", "p"], ["pod", "inspect", "-l"],
    # kube
    ["kube", "play", "f.yaml"], ["kube", "play", "--replace", "f.yaml"], ["kube", "play", "--start=false", "f.yaml"],
    ["kube", "play", "--start=true", "--build=false", "--replace=1", "-q", "f.yaml"],
    ["kube", "play", "--configmap", "c.yaml", "--configmap=d.yaml", "-p", "8080:80", "--network", "none", "-"],
    ["kube", "play", "--log-driver=none", "--no-start", "--no-quiet", "f.yaml"],
    ["kube", "down", "f.yaml"], ["kube", "down", "--force", "f.yaml"], ["kube", "down", "--force=false", "f.yaml"],
    ["play", "kube", "f.yaml"], ["play", "kube", "--down", "f.yaml"], ["play", "kube", "--down=true", "--force", "f.yaml"],
    ["play", "kube", "f.yaml", "--", "x"],
    # healthcheck
    ["healthcheck", "run", "x"],
    # global options, before the command
    ["--root", "/r", "--runroot", "/rr", "ps"], ["--root=/r", "--runroot=/rr", "--runtime", "runc", "rm", "-f", "x"],
    ["--log-level", "debug", "ps"], ["--log-level=error", "container", "cleanup", "x"], ["--", "ps"],
    ["--runtime=crun", "pod", "rm", "-f", "p"],
    # things click reports (the fast path must leave them to click)
    ["ps", "--bogus"], ["ps", "-z"], ["ps", "-az"], ["ps", "--last", "x"], ["ps", "--last"], ["ps", "x"],
    ["ps", "--help"], ["ps", "-h"], ["ps", "-ah"], ["rm", "--help"], ["rm", "-t", "five", "x"],
    ["rm", "--force=yes", "x"], ["inspect"], ["inspect", "-t", "volume", "x"], ["exec", "x"],
    ["run"], ["run", "--help"], ["run", "--sdnotify", "bogus", IMG], ["run", "--cpus", "lots", IMG],
    ["run", "--stop-timeout", "1.5", IMG], ["pod", "create", "--exit-policy", "never"],
    ["pod", "create", "-h"], ["pod", "create", "--help"], ["pod", "--help"], ["pod"], ["pod", "-x", "ps"],
    ["container"], ["container", "--help", "rm"], ["container", "cleanup"], ["container", "cleanup", "a", "b"],
    ["kube", "play", "--start=maybe", "f.yaml"], ["kube", "play"], ["kube", "down", "a", "b"],
    ["--log-level", "loud", "ps"], ["--help"], ["-h"], ["--version", "ps"], ["-v", "ps"], ["--root"],
    ["frobnicate"], [], ["wait"], ["logs"], ["healthcheck", "run"], ["pod", "exists"],
]
# fmt: on


@pytest.mark.parametrize("argv", CORPUS, ids=[" ".join(a) or "(empty)" for a in CORPUS])
def test_fast_parse_equals_click(
    argv: list[str], captured: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    want = click_parse(argv, captured)
    capsys.readouterr()
    got = fast.parse(list(argv))
    if want is None:
        assert got is None, f"click refuses {argv}, the fast path accepted it: {got}"
        return
    assert got is not None, f"the fast path refused {argv}, which click accepts"
    assert got == want


def test_corpus_covers_both_answers(
    captured: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [click_parse(a, captured) for a in CORPUS]
    capsys.readouterr()
    accepted = sum(a is not None for a in answers)
    assert accepted >= 150 and len(CORPUS) - accepted >= 40, (accepted, len(CORPUS))
    # every hot command is exercised by at least one accepted argv
    assert {a[0] for a in answers if a is not None} == set(argtable_gen.HOT.values())


@pytest.mark.parametrize("argv", [
    ["ps", "--bogus"], ["rm", "-t", "five", "x"], ["ps", "--help"], ["pod", "create", "-h"],
    ["container", "cleanup"], ["images"], ["pod", "kill", "p"], ["run", "--sdnotify", "bogus", IMG],
])  # fmt: skip
def test_fast_refuses(argv: list[str]) -> None:
    assert fast.parse(argv) is None
    assert fast.try_fast(argv) is None


def test_refused_when_completion_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_PODCTL_COMPLETE", "bash_complete")
    assert fast.try_fast(["ps"]) is None


def test_go_bool_errors_match_click() -> None:
    p = subprocess.run([sys.executable, "-m", "podctl", "kube", "play", "--start=maybe", "f.yaml"],
                       capture_output=True, text=True)  # fmt: skip
    assert p.returncode == 125
    assert "'maybe' is not a boolean" in p.stderr


def _random_argvs(seed: int, count: int) -> list[list[str]]:
    """Random mixes of every spelling of the hot commands' options with values, clusters,
    `=` forms, `--`, and stray words: click and the fast path must agree on each."""
    import random

    from podctl.cli import argtable

    rnd = random.Random(seed)
    values = ["x", "5", "-1", "json", "0", "1.5", "a=b", "-", "--", "--rm", "-t", "stop", "container",
              "all", "true", "false", "pid", "{{.ID}}", "", "name=x"]  # fmt: skip
    out: list[list[str]] = []
    paths = sorted(argtable.PATHS)
    for _ in range(count):
        path = rnd.choice(paths)
        spec = argtable.COMMANDS[argtable.PATHS[path]]
        spellings = sorted(spec["options"]) + ["--help", "-h", "--bogus", "-z"]
        shorts = [o for o in spellings if len(o) == 2]
        argv: list[str] = []
        if rnd.random() < 0.3:
            argv += rnd.choice(
                [["--root", "/r"], ["--runroot=/x"], ["--log-level", "info"], ["--runtime", "runc"]]
            )
        argv += path.split()
        for _ in range(rnd.randint(0, 6)):
            r = rnd.random()
            if r < 0.45:
                opt = rnd.choice(spellings)
                argv.append(opt)
                if rnd.random() < 0.7:
                    argv.append(rnd.choice(values))
            elif r < 0.55:
                argv.append(rnd.choice(spellings) + "=" + rnd.choice(values))
            elif r < 0.65 and shorts:
                argv.append("-" + "".join(o[1] for o in rnd.sample(shorts, min(len(shorts), rnd.randint(2, 3))))
                            + rnd.choice(["", "5", "x"]))  # fmt: skip
            elif r < 0.7:
                argv.append("--")
            else:
                argv.append(rnd.choice(values[:8]))
        out.append(argv)
    return out


def test_random_argvs_parse_as_click(
    captured: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    accepted = 0
    for argv in _random_argvs(seed=20261128, count=1500):
        want = click_parse(argv, captured)
        capsys.readouterr()
        got = fast.parse(list(argv))
        assert got == want, argv
        accepted += want is not None
    assert accepted >= 300, accepted  # the corpus exercises accepted argvs, not only refusals


@pytest.mark.parametrize("threads", [False, True])
def test_exit_now_runs_atexit_handlers_and_keeps_the_code(tmp_path: Any, threads: bool) -> None:
    """exit_now skips the interpreter's teardown but not the atexit handlers (pod start leaves
    one to report helpers it never heard from), in their LIFO order, a failing one included;
    with another thread alive it exits normally."""
    out = tmp_path / "order"
    code = f"""
import atexit, sys, threading, time
from podctl.cli import exit_now
def mark(x):
    with open({str(out)!r}, "a") as f:
        f.write(x)
def boom():
    raise RuntimeError("handler failed")
atexit.register(mark, "1")
atexit.register(boom)
atexit.register(mark, "2")
if {threads}:
    threading.Thread(target=time.sleep, args=(0.2,)).start()
sys.stdout.write("printed")
exit_now(7)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 7
    assert p.stdout == "printed"  # flushed before _exit
    assert out.read_text() == "21"
    assert "handler failed" in p.stderr
