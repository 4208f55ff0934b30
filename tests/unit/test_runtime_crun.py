"""crun support: its argv, the seccomp filter cache (never stale), error classification, and
that crun needing the hybrid workaround is never picked automatically."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from podctl.config import Config
from podctl.errors import CannotInvoke, CommandNotFound, RuntimeFailed
from podctl.runtime import conmon, crun, oci, probe
from podctl.runtime.paths import ContainerPaths

PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}


def fake_crun(tmp_path: Path, version: str = "crun version 1.8.1") -> str:
    path = tmp_path / "crun"
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return str(path)


def test_crun_driver_disables_cgroups_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hidden: list[Path] = []
    def hide(d: Path) -> bool:
        hidden.append(d)
        return True

    monkeypatch.setattr(crun, "hide_unified", hide)
    monkeypatch.setattr(crun, "hybrid_host", lambda: False)  # a host where crun runs as is
    plain = oci.make_runtime("/usr/bin/crun", tmp_path / "root")
    assert plain.runtime_args == () and "--cgroup-manager=disabled" not in plain._argv("kill", "x", "9")
    assert hidden == []
    monkeypatch.setattr(crun, "hybrid_host", lambda: True)
    rt = oci.make_runtime("/usr/bin/crun", tmp_path / "root")
    assert isinstance(rt, oci.Crun)
    assert rt._argv("kill", "x", "9")[:4] == ["/usr/bin/crun", "--root", str(tmp_path / "root"),
                                               "--cgroup-manager=disabled"]  # fmt: skip
    assert "--cgroup-manager=disabled" in rt.run_argv("x", tmp_path, tmp_path / "p", tmp_path / "l")
    assert "--cgroup-manager=disabled" in rt.exec_argv("x", tmp_path / "p.json", tty=False)
    assert hidden == [tmp_path / "root"]  # once per process
    paths = ContainerPaths(id="c", storage=tmp_path / "s", bundle=tmp_path / "b", exits=tmp_path / "e",
                           runc_root=tmp_path / "root")  # fmt: skip
    argv = conmon.argv("conmon", rt.path, rt.root, paths, conmon.MonitorOptions(name="n"), rt.runtime_args)
    i = argv.index("--cgroup-manager=disabled")
    assert argv[i - 1] == "--runtime-arg"
    # runc is untouched.
    runc = oci.make_runtime("/usr/bin/runc", tmp_path / "root")
    assert type(runc) is oci.Runc and runc.runtime_args == ()
    assert "--cgroup-manager=disabled" not in conmon.argv("conmon", runc.path, runc.root, paths,
                                                          conmon.MonitorOptions(name="n"), runc.runtime_args)  # fmt: skip


def test_forget_removes_crun_state_of_an_ended_container(tmp_path: Path) -> None:
    rt = oci.Runc("/bin/false", tmp_path)  # the default driver copes with crun's state too
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "status").write_text(json.dumps({"pid": 999999999, "cgroup-path": ""}))
    rt.forget("c")
    assert not (tmp_path / "c").exists()


def _config() -> dict[str, object]:
    return {"annotations": {}, "linux": {"seccomp": json.loads(json.dumps(PROFILE))}}


def test_bpf_cache_miss_hook_then_hit(tmp_path: Path) -> None:
    exe = fake_crun(tmp_path)
    state = tmp_path / "state"
    cfg = _config()
    assert crun.use_bpf_cache(cfg, exe, state, "cid1", tmp_path) is False
    hook = cfg["hooks"]["poststart"][0]  # type: ignore[index]
    assert hook["path"] == "/bin/sh" and hook["args"][4] == str(state / "cid1" / "seccomp.bpf")
    target = Path(hook["args"][6])
    assert target.parent == tmp_path / crun.BPF_DIR and not target.exists()
    # Run the hook the way crun would, once crun has compiled the filter.
    (state / "cid1").mkdir(parents=True)
    (state / "cid1" / "seccomp.bpf").write_bytes(b"\x06\x00\x00\x00\x00\x00\xff\x7f")
    import subprocess

    subprocess.run(hook["args"], executable=hook["path"], check=True)
    assert target.read_bytes() == b"\x06\x00\x00\x00\x00\x00\xff\x7f"
    assert not Path(hook["args"][5]).exists()  # the temporary name was renamed into place
    cfg2 = _config()
    assert crun.use_bpf_cache(cfg2, exe, state, "cid2", tmp_path) is True
    assert cfg2["annotations"][crun.BPF_ANNOTATION] == base64.b64encode(target.read_bytes()).decode()  # type: ignore[index]
    assert "hooks" not in cfg2
    # A hook that finds nothing (crun failed) never fails and leaves nothing.
    subprocess.run(["sh", "-c", hook["args"][2], "sh", str(tmp_path / "none"), str(tmp_path / "t"),
                    str(tmp_path / "x")], check=True)  # fmt: skip
    assert not (tmp_path / "t").exists() and not (tmp_path / "x").exists()


def test_bpf_key_changes_with_every_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = fake_crun(tmp_path)
    cache = tmp_path / "c"
    cache.mkdir()
    base = crun.bpf_key("{}", exe, cache)
    assert crun.bpf_key("{}", exe, cache) == base
    assert crun.bpf_key('{"x":1}', exe, cache) != base
    exe2 = fake_crun(tmp_path / "c", "crun version 1.9")  # another binary, another version text
    assert crun.bpf_key("{}", exe2, cache) != base
    monkeypatch.setattr(crun, "libseccomp_version", lambda cache_dir=None: "9.9.9 other")
    assert crun.bpf_key("{}", exe, cache) != base
    monkeypatch.undo()

    class U:
        release, version, machine = "7.0", "#1", "x86_64"

    monkeypatch.setattr(crun.os, "uname", lambda: U)
    assert crun.bpf_key("{}", exe, cache) != base


def test_libseccomp_version_is_remembered_while_the_library_stays(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Loaded once, then read from the memo while libseccomp.so.2 names the same file; the
    memo is dropped when the link's target changes (an upgrade)."""
    import ctypes
    import json

    real = crun.libseccomp_version()
    if real == "none":
        pytest.fail("libseccomp.so.2 cannot be loaded: apt-get install libseccomp2")
    assert crun.libseccomp_version(tmp_path) == real
    memo = json.loads((tmp_path / "libseccomp-version.json").read_text())
    assert memo["link"].endswith("/libseccomp.so.2") and memo["value"] == real

    def no_load(*a: object, **k: object) -> None:
        raise AssertionError("libseccomp loaded again")

    monkeypatch.setattr(ctypes, "CDLL", no_load)
    assert crun.libseccomp_version(tmp_path) == real  # from the memo
    # Another library behind the link: the memo no longer matches, the library is loaded.
    fake = tmp_path / "libseccomp.so.2"
    fake.write_text("x")
    memo["link"], memo["target"] = str(fake), crun._identity(str(fake))
    (tmp_path / "libseccomp-version.json").write_text(json.dumps(memo))
    assert crun.libseccomp_version(tmp_path) == real
    fake.write_text("upgraded")
    with pytest.raises(AssertionError, match="loaded again"):
        crun.libseccomp_version(tmp_path)


def test_bad_cached_filter_is_dropped(tmp_path: Path) -> None:
    bad = tmp_path / "k"
    bad.write_bytes(b"123")
    assert crun.cached_bpf(bad) is None and not bad.exists()
    assert crun.cached_bpf(tmp_path / "missing") is None


def test_classify_crun_errors() -> None:
    assert isinstance(conmon.classify_error(
        "/usr/bin/crun", "executable file `nope` not found in $PATH: No such file or directory"), CommandNotFound)  # fmt: skip
    assert isinstance(conmon.classify_error("crun", "open executable: Permission denied"), CannotInvoke)
    assert isinstance(conmon.classify_error("crun", "open executable: Operation not permitted"), CannotInvoke)
    e = conmon.classify_error("crun", "cgroups in hybrid mode not supported")
    assert type(e) is RuntimeFailed and str(e.message).startswith("crun: ")


def test_crun_is_picked_first_where_it_runs(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    raw: dict[str, object] = {"engine": {"runtimes": {"crun": [str(tmp_path / "crun")], "runc": [str(tmp_path / "runc")]}}}
    for name in ("crun", "runc"):
        (tmp_path / name).write_text("#!/bin/sh\nexit 0\n")
        (tmp_path / name).chmod(0o755)
    cfg = Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime=None, log_level="warn", raw=raw)
    answers = {"crun": (True, "crun 1", probe.CRUN_NOTE), "runc": (True, "runc 1", "")}
    monkeypatch.setattr(probe, "probe_runtime", lambda c, n, fresh=False: answers[n])
    assert probe.select_runtime(cfg) == str(tmp_path / "crun")  # with the hierarchy hidden
    answers["crun"] = (False, "crun 1", "cgroups in hybrid mode not supported")  # runc then
    assert probe.select_runtime(cfg) == str(tmp_path / "runc")
    answers["runc"] = (False, "runc 1", "permission denied")
    with pytest.raises(RuntimeFailed, match="no OCI runtime can run containers here: crun: cgroups in"):
        probe.select_runtime(cfg)
    cfg2 = Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime="crun", log_level="warn", raw=raw)
    assert probe.select_runtime(cfg2) == str(tmp_path / "crun")


def test_crun_missing_container_is_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from podctl.errors import NotFound

    exe = tmp_path / "fakecrun"
    exe.write_text("#!/bin/sh\necho \"error opening file \\`$2/nosuch/status\\`: No such file or directory\" >&2\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setattr(crun, "hybrid_host", lambda: False)
    rt = oci.Crun(str(exe), tmp_path / "root")
    with pytest.raises(NotFound):
        rt.kill("nosuch", 9)
    rt.delete("nosuch", force=True)  # nothing to delete is no error
