import os
from pathlib import Path

import pytest

from podctl import config
from podctl.errors import InvalidConfig


def test_xdg_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("CONTAINERS_CONF", str(tmp_path / "none.conf"))
    (tmp_path / "none.conf").write_text("")
    cfg = config.load()
    assert cfg.root == tmp_path / ".local/share/podctl"
    assert cfg.runroot == tmp_path / "run/podctl"


def test_flags_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTAINERS_CONF", str(tmp_path / "c.conf"))
    (tmp_path / "c.conf").write_text('[engine]\nruntime = "crun"\n')
    assert config.load().runtime_name == "crun"
    assert config.load(runtime="runc").runtime_name == "runc"


def test_later_files_override_earlier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sys_dir = tmp_path / "usr"
    etc_dir = tmp_path / "etc"
    for d in (sys_dir, etc_dir):
        d.mkdir()
    (sys_dir / "containers.conf").write_text(
        '[containers]\ndefault_capabilities = ["CHOWN"]\n[engine]\nruntime = "crun"\n'
    )
    (etc_dir / "containers.conf").write_text('[engine]\nruntime = "runc"\n')
    (etc_dir / "containers.conf.d").mkdir()
    (etc_dir / "containers.conf.d" / "10-x.conf").write_text('[engine]\nconmon_path = ["/x"]\n')
    monkeypatch.setattr(config, "SYSTEM_CONF_DIRS", (sys_dir, etc_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    cfg = config.load()
    assert cfg.runtime_name == "runc"
    assert cfg.default_capabilities == ("CHOWN",)
    assert cfg.helper_paths("conmon_path") == ["/x"]


def test_rootless_network_cmd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    conf.write_text('[engine]\nruntime = "crun"\n')
    assert config.load().rootless_network_cmd == "pasta"  # podman 5's default
    conf.write_text('[network]\ndefault_rootless_network_cmd = "slirp4netns"\n')
    assert config.load().rootless_network_cmd == "slirp4netns"
    conf.write_text('[network]\ndefault_rootless_network_cmd = "pasta"\n')
    assert config.load().rootless_network_cmd == "pasta"
    conf.write_text('[network]\ndefault_rootless_network_cmd = "slirp"\n')
    with pytest.raises(InvalidConfig, match=rf"{conf}: \[network\] default_rootless_network_cmd = 'slirp': must be"):
        _ = config.load().rootless_network_cmd


def test_bad_toml_names_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[engine\nruntime=")
    monkeypatch.setenv("CONTAINERS_CONF", str(bad))
    with pytest.raises(InvalidConfig, match=str(bad)):
        config.load()


def test_private_dir_mode(tmp_path: Path) -> None:
    d = tmp_path / "a" / "b"
    config.ensure_private_dir(d)
    assert d.stat().st_mode & 0o777 == 0o700
    d.chmod(0o755)
    config.ensure_private_dir(d)
    assert d.stat().st_mode & 0o777 == 0o700


def test_data_path_finds_templates() -> None:
    assert config.data_path("templates", "units").is_dir()
    assert config.data_path("man").is_dir()


def test_conf_cache_hits_and_invalidates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text('[engine]\nruntime = "crun"\n')
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    assert config.load(runroot=str(run)).runtime_name == "crun"
    assert (run / config.CONF_CACHE).is_file()
    # A hit does not parse again.
    monkeypatch.setattr(config, "merged", lambda files: pytest.fail("cache not used"))
    assert config.load(runroot=str(run)).runtime_name == "crun"
    monkeypatch.undo()
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    # Same size, new content: the new mtime/ctime invalidates the cache.
    conf.write_text('[engine]\nruntime = "runc"\n')
    os.utime(conf, ns=(1, 1))
    assert config.load(runroot=str(run)).runtime_name == "runc"
    # Another file list (a drop-in appears) is another key.
    other = tmp_path / "d.conf"
    other.write_text('[engine]\nruntime = "other"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(other))
    assert config.load(runroot=str(run)).runtime_name == "other"


def test_conf_cache_corrupt_or_unmarshalable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text('[engine]\nruntime = "crun"\nwhen = 1979-05-27T07:32:00Z\n')
    run = tmp_path / "run"
    run.mkdir()
    (run / config.CONF_CACHE).write_bytes(b"garbage")
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    cfg = config.load(runroot=str(run))
    assert cfg.runtime_name == "crun" and cfg.raw["engine"]["when"].year == 1979
    assert config.load(runroot=str(run)).raw["engine"]["when"].year == 1979
    assert [p.name for p in run.iterdir()] == [config.CONF_CACHE]  # no temp file left


def test_conf_cache_needs_existing_runroot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text('[engine]\nruntime = "crun"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    assert config.load(runroot=str(tmp_path / "missing")).runtime_name == "crun"
    assert not (tmp_path / "missing").exists()
