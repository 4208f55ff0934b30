"""The OCI config.json writer, against a small rootfs on disk (no runtime needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podctl.errors import CannotInvoke, InvalidSpec
from podctl.runtime import ocispec
from podctl.runtime.etcfiles import resolve_user
from podctl.runtime.paths import ContainerPaths, secure_join
from podctl.spec import ContainerSpec, parse_volume

IMAGE = {"Env": ["PATH=/bin:/usr/bin", "LANG=C"], "Entrypoint": ["/entry"], "Cmd": ["serve"],
         "WorkingDir": "/srv", "User": "app"}  # fmt: skip


@pytest.fixture
def paths(tmp_path: Path) -> ContainerPaths:
    p = ContainerPaths(id="ab" * 32, storage=tmp_path / "s", bundle=tmp_path / "b",
                       exits=tmp_path / "e", runc_root=tmp_path / "r")  # fmt: skip
    (p.merged / "etc").mkdir(parents=True)
    p.userdata.mkdir(parents=True)
    (p.merged / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
    )
    (p.merged / "etc" / "group").write_text("root:x:0:\napp:x:1000:\nwheel:x:10:app,other\n")
    return p


def launch(paths: ContainerPaths, **kw: object) -> ocispec.Launch:
    spec = ContainerSpec(image="img", name="web", **kw)  # type: ignore[arg-type]
    return ocispec.Launch(cid=paths.id, name="web", spec=spec, image_config=IMAGE, image_name="img",
                          image_id="0" * 64, paths=paths, default_caps=("CHOWN", "KILL", "SETUID"),
                          host_uid=1001, host_gid=1001)  # fmt: skip


def test_defaults_from_image(paths: ContainerPaths) -> None:
    cfg = ocispec.build(launch(paths))
    proc = cfg["process"]
    assert proc["args"] == ["/entry", "serve"]
    assert proc["cwd"] == "/srv" and (paths.merged / "srv").is_dir()
    assert proc["user"] == {"uid": 1000, "gid": 1000, "umask": 0o022, "additionalGids": [10]}
    env = dict(e.split("=", 1) for e in proc["env"])
    assert env["PATH"] == "/bin:/usr/bin" and env["LANG"] == "C" and env["HOME"] == "/home/app"
    assert env["HOSTNAME"] == paths.id[:12] == cfg["hostname"]
    # a non-root user holds no effective capabilities, only the bounding set
    assert proc["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]
    assert proc["capabilities"]["effective"] == []
    ns = [n["type"] for n in cfg["linux"]["namespaces"]]
    assert ns == ["pid", "ipc", "uts", "mount", "network"]
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts",
              "/etc/resolv.conf", "/etc/hostname"):  # fmt: skip
        assert d in dests
    sysfs = next(m for m in cfg["mounts"] if m["destination"] == "/sys")
    assert sysfs["type"] == "sysfs" and "ro" in sysfs["options"]


def test_flags(paths: ContainerPaths) -> None:
    cfg = ocispec.build(launch(
        paths, command=("echo", "hi"), entrypoint=(), user="0:10", env=(("A", "b"),),
        cap_add=("net_admin",), cap_drop=("CAP_KILL",), read_only=True, hostname="h",
        security_opt=("no-new-privileges", "seccomp=unconfined"), ulimits=("nofile=100:200",),
        network="host", tty=True,
    ))  # fmt: skip
    proc = cfg["process"]
    assert proc["args"] == ["echo", "hi"] and proc["user"]["uid"] == 0 and proc["user"]["gid"] == 10
    assert proc["capabilities"]["effective"] == ["CAP_CHOWN", "CAP_SETUID", "CAP_NET_ADMIN"]
    assert proc["noNewPrivileges"] is True and proc["terminal"] is True
    assert {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200} in proc["rlimits"]
    assert "seccomp" not in cfg["linux"]
    assert cfg["root"]["readonly"] is True and cfg["hostname"] == "h"
    assert "network" not in [n["type"] for n in cfg["linux"]["namespaces"]]
    by_dest = {m["destination"]: m for m in cfg["mounts"]}
    assert by_dest["/sys"]["type"] == "bind"  # sysfs cannot be mounted in the host's netns
    assert by_dest["/tmp"]["type"] == "tmpfs"  # --read-only brings tmpfs on /tmp, /var/tmp, /run
    assert "A=b" in proc["env"] and "TERM=xterm" in proc["env"]


def test_privileged_and_keep_id(paths: ContainerPaths) -> None:
    cfg = ocispec.build(launch(paths, privileged=True, user="0"))
    assert len(cfg["process"]["capabilities"]["bounding"]) == len(ocispec.known_caps())
    assert "maskedPaths" not in cfg["linux"] and "seccomp" not in cfg["linux"]
    cfg = ocispec.build(launch(paths, userns="keep-id"))
    assert cfg["process"]["user"]["uid"] == 1001
    assert {"type": "user"} in cfg["linux"]["namespaces"]
    assert cfg["linux"]["uidMappings"][0] == {"containerID": 1001, "hostID": 0, "size": 1}


def test_seccomp_profile_applied(paths: ContainerPaths, tmp_path: Path) -> None:
    profile = tmp_path / "seccomp.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["init_module"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_MODULE"]}},
            {"names": ["init_module"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "excludes": {"caps": ["CAP_SYS_MODULE"]}},
        ],
    }))  # fmt: skip
    cfg = ocispec.build(launch(paths, security_opt=(f"seccomp={profile}",)))
    sc = cfg["linux"]["seccomp"]
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 38
    assert {"names": ["init_module"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1} in sc["syscalls"]
    assert not any(s["action"] == "SCMP_ACT_ALLOW" and "init_module" in s["names"] for s in sc["syscalls"])


def test_errors(paths: ContainerPaths) -> None:
    with pytest.raises(CannotInvoke, match="nobody"):
        ocispec.build(launch(paths, user="nobody"))
    with pytest.raises(InvalidSpec, match="capability"):
        ocispec.build(launch(paths, cap_add=("FLY",)))
    with pytest.raises(InvalidSpec, match="--ulimit"):
        ocispec.build(launch(paths, ulimits=("nofile=9:1",)))
    with pytest.raises(InvalidSpec, match="--security-opt"):
        ocispec.build(launch(paths, security_opt=("bogus=1",)))
    with pytest.raises(InvalidSpec, match="no command"):
        ocispec.process_args(ContainerSpec(image="x", entrypoint=()), {})


def test_resolved_mounts_and_write(paths: ContainerPaths) -> None:
    lnch = launch(paths, mounts=(parse_volume("/h:/data:ro"),))
    lnch = ocispec.Launch(**{**lnch.__dict__, "mounts": (ocispec.ResolvedMount("/data", "bind", "/h", ("ro",)),)})
    cfg = ocispec.write(lnch)
    assert json.loads(paths.config_json.read_text()) == cfg
    m = next(m for m in cfg["mounts"] if m["destination"] == "/data")
    assert m == {"destination": "/data", "type": "bind", "source": "/h", "options": ["rbind", "ro"]}
    assert (paths.userdata / "hostname").read_text() == paths.id[:12] + "\n"
    assert "127.0.0.1" in (paths.userdata / "hosts").read_text()


def test_user_lookup_and_secure_join(paths: ContainerPaths) -> None:
    assert resolve_user(paths.merged, "app:wheel").gid == 10
    assert resolve_user(paths.merged, "4242").uid == 4242
    (paths.merged / "link").symlink_to("/etc")
    (paths.merged / "up").symlink_to("../../../../..")
    assert secure_join(paths.merged, "/link/passwd") == paths.merged / "etc" / "passwd"
    assert secure_join(paths.merged, "/up/etc") == paths.merged / "etc"
    assert secure_join(paths.merged, "../../x") == paths.merged / "x"


def test_notify_socket_for_sdnotify_container(paths: ContainerPaths) -> None:
    lnch = launch(paths)
    lnch = ocispec.Launch(**{**lnch.__dict__, "notify_dir": paths.bundle / "notify"})
    cfg = ocispec.write(lnch)
    assert (paths.bundle / "notify").is_dir()
    m = next(m for m in cfg["mounts"] if m["destination"] == "/run/notify")
    assert m["source"] == str(paths.bundle / "notify")
    assert "NOTIFY_SOCKET=/run/notify/notify.sock" in cfg["process"]["env"]


def test_containers_conf_defaults(paths: ContainerPaths) -> None:
    lnch = launch(paths, user="0")
    conf = {"no_new_privileges": True, "seccomp_profile": "unconfined", "default_ulimits": ["core=0:0"]}
    cfg = ocispec.build(ocispec.Launch(**{**lnch.__dict__, "defaults": conf}))
    assert cfg["process"]["noNewPrivileges"] is True
    assert "seccomp" not in cfg["linux"]
    assert {"type": "RLIMIT_CORE", "soft": 0, "hard": 0} in cfg["process"]["rlimits"]


def test_pod_member_joins_namespaces_by_path_and_shares_etc_files(paths: ContainerPaths) -> None:
    base = launch(paths)
    ns = {"network": "/run/x/netns/infra", "ipc": "/proc/42/ns/ipc", "uts": "/proc/42/ns/uts"}
    lnch = ocispec.Launch(**{**base.__dict__, "ns_paths": ns,
                             "etc_sources": {"/etc/hosts": "/pod/hosts", "/etc/resolv.conf": "/pod/resolv.conf"}})  # fmt: skip
    cfg = ocispec.write(lnch)
    got = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert got == {"pid": None, "ipc": "/proc/42/ns/ipc", "uts": "/proc/42/ns/uts", "mount": None,
                   "network": "/run/x/netns/infra"}  # fmt: skip
    src = {m["destination"]: m["source"] for m in cfg["mounts"]}
    assert src["/etc/hosts"] == "/pod/hosts" and src["/etc/resolv.conf"] == "/pod/resolv.conf"
    assert next(m for m in cfg["mounts"] if m["destination"] == "/sys")["type"] == "sysfs"


def test_network_texts_are_written_in_place(paths: ContainerPaths) -> None:
    base = launch(paths, network="slirp4netns:allow_host_loopback=true")
    texts = {"hosts": "10.0.2.100\tweb\n", "resolv.conf": "nameserver 10.0.2.3\n"}
    lnch = ocispec.Launch(**{**base.__dict__, "etc_text": texts, "ns_paths": {"network": "/n"}})
    hosts = paths.userdata / "hosts"
    hosts.parent.mkdir(parents=True, exist_ok=True)
    hosts.write_text("old\n")
    inode = hosts.stat().st_ino
    ocispec.write(lnch)
    assert hosts.read_text() == texts["hosts"] and hosts.stat().st_ino == inode  # bind mounts see it
    assert (paths.userdata / "resolv.conf").read_text() == texts["resolv.conf"]
