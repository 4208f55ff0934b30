"""Golden files for `generate systemd`.

`podman-4.3.1-*.service` were written by podman 4.3.1 itself on this kind of host (see the
commands in each test); with the PODMAN flavor our templates must reproduce them byte for byte.
`podctl-*.service` are podctl's own units; regenerate them with PODCTL_REGEN_GOLDEN=1 after a
deliberate change and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from podctl.errors import InvalidSpec
from podctl.systemd import generate as gen
from podctl.systemd.generate import ContainerRequest, GenerateOptions, PodRequest, parse_args
from podctl.systemd.unitfile import UnitFile

GOLDEN = Path(__file__).parent / "golden" / "systemd"
IMAGE = "127.0.0.1:5000/busybox:latest"
PODMAN = GenerateOptions(executable=("/usr/bin/podman",), version="4.3.1", flavor=gen.PODMAN)
PODCTL = GenerateOptions(executable=("/usr/bin/podctl",), version="0.1.0", no_header=False,
                         timestamp="Sat Nov 28 00:07:42 UTC 2026")  # fmt: skip


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def check_podctl_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PODCTL_REGEN_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with PODCTL_REGEN_GOLDEN=1 and review it"
    assert text == path.read_text()
    assert UnitFile.parse(text).to_text() == text


C1 = ContainerRequest(
    name="sdref-c1", id="223bae2066a63ffeaf90af3f7c774f0b7e3db8da24c38376e6ccbb59ac362178",
    create_command=("podman", "create", "--name", "sdref-c1", "-e", "FOO=bar", "--restart",
                    "on-failure:3", IMAGE, "sleep", "1000"),
    image=IMAGE, restart_policy="on-failure",
)  # fmt: skip
C2 = ContainerRequest(
    name="sdref-c2", id="c2" * 32,
    create_command=("podman", "create", "--name", "sdref-c2", "--label", "a=b c", IMAGE, "sh", "-c",
                    'echo "$HOME" 100% \\done; x=`id`'),
)  # fmt: skip
C3 = ContainerRequest(
    name="sdref-c3", id="53ad16b44a2aec01080c056b0e76095ad2b5fa1b6bd77e5dab075c3583b74971",
    create_command=("podman", "--root", "/home/podtest/.cache/sdref-root", "--runroot",
                    "/run/user/1001/sdref-rr", "create", "--name", "sdref-c3", "-it", "-e", "FOO",
                    "-v", "/tmp:/data:ro", "--sdnotify=ignore", "--rm=false", IMAGE, "top"),
    conmon_pidfile="/run/user/1001/sdref-rr/vfs-containers/53ad16b44a2aec01080c056b0e76095ad2b5fa1b6bd77e5dab075c3583b74971/userdata/conmon.pid",
    run_root="/run/user/1001/sdref-rr",
    root_flags=("--root", "/home/podtest/.cache/sdref-root", "--runroot", "/run/user/1001/sdref-rr"),
)  # fmt: skip


def _pod(golden_pod: str, golden_members: dict[str, str]) -> PodRequest:
    """The sdref-p1 pod (`podman pod create --name sdref-p1 -p 18080:80` and two members);
    ids and PID files are read back from podman's own units."""
    pod_unit = UnitFile.parse(golden(golden_pod))
    infra = (pod_unit.lookup_args("Service", "ExecStart") or [""])[-1]
    members = []
    for name, cmd in (
        ("sdref-p1-web", ("httpd", "-f", "-p", "80")),
        ("sdref-p1-side", ("sleep", "1000")),
    ):
        unit = UnitFile.parse(golden(golden_members[name]))
        members.append(ContainerRequest(
            name=name, id=name + "-id",
            create_command=("podman", "create", "--pod", "sdref-p1", "--name", name, IMAGE, *cmd),
            conmon_pidfile=unit.lookup("Service", "PIDFile") or "",
            run_root="/run/user/1001/containers",
        ))  # fmt: skip
    return PodRequest(
        name="sdref-p1", id="5c20819d201bf1ea69ade07e4712f228fa03fcc5870f69a8760fec48240da6b6",
        infra_name=infra, infra_id=infra,
        infra_conmon_pidfile=pod_unit.lookup("Service", "PIDFile") or "",
        create_command=("podman", "pod", "create", "--name", "sdref-p1", "-p", "18080:80"),
        run_root="/run/user/1001/containers", members=tuple(members),
    )  # fmt: skip


# -- byte-for-byte podman 4.3.1 ------------------------------------------------------------------


def test_podman_new_container_with_restart_and_env() -> None:
    # podman create --name sdref-c1 -e FOO=bar --restart on-failure:3 IMAGE sleep 1000
    # podman generate systemd --new --name --no-header sdref-c1
    unit = gen.container_unit(C1, replace(PODMAN, new=True, use_name=True, no_header=True))
    assert unit.filename == "container-sdref-c1.service"
    assert unit.text == golden("podman-4.3.1-c1-new.service")


def test_podman_new_container_escaping() -> None:
    unit = gen.container_unit(C2, replace(PODMAN, new=True, use_name=True, no_header=True))
    assert unit.text == golden("podman-4.3.1-c2-new.service")


def test_podman_new_container_root_flags_sdnotify_ignore() -> None:
    unit = gen.container_unit(C3, replace(PODMAN, new=True, use_name=True, no_header=True))
    assert unit.text == golden("podman-4.3.1-c3-new-rootflags.service")


def test_podman_existing_container() -> None:
    unit = gen.container_unit(C3, replace(PODMAN, use_name=True, no_header=True))
    assert unit.text == golden("podman-4.3.1-c3-old-rootflags.service")


def test_podman_new_pod() -> None:
    # podman generate systemd --new --name --files sdref-p1
    members = {"sdref-p1-web": "podman-4.3.1-ctr_sdref-p1-web.service",
               "sdref-p1-side": "podman-4.3.1-ctr_sdref-p1-side.service"}  # fmt: skip
    pod = _pod("podman-4.3.1-pd_sdref-p1.service", members)
    units = gen.pod_units(
        pod, replace(PODMAN, new=True, use_name=True, timestamp="Sat Nov 28 00:07:45 UTC 2026")
    )
    assert [u.filename for u in units] == [
        "pod-sdref-p1.service", "container-sdref-p1-side.service", "container-sdref-p1-web.service",
    ]  # fmt: skip
    for u in units:
        assert u.text == golden(f"podman-4.3.1-{u.filename}"), u.filename


def test_podman_existing_pod_with_prefixes() -> None:
    # podman generate systemd --name --files --container-prefix=ctr --pod-prefix=pd --separator=_ sdref-p1
    members = {"sdref-p1-web": "podman-4.3.1-ctr_sdref-p1-web.service",
               "sdref-p1-side": "podman-4.3.1-ctr_sdref-p1-side.service"}  # fmt: skip
    pod = _pod("podman-4.3.1-pd_sdref-p1.service", members)
    opts = replace(PODMAN, use_name=True, container_prefix="ctr", pod_prefix="pd", separator="_",
                   timestamp="Sat Nov 28 00:07:45 UTC 2026")  # fmt: skip
    units = gen.pod_units(pod, opts)
    assert [u.filename for u in units] == [
        "pd_sdref-p1.service",
        "ctr_sdref-p1-side.service",
        "ctr_sdref-p1-web.service",
    ]
    for u in units:
        assert u.text == golden(f"podman-4.3.1-{u.filename}"), u.filename


# -- podctl's own units --------------------------------------------------------------------------


def test_podctl_new_container() -> None:
    req = replace(C3, create_command=("podctl", "--root", "/home/u/.local/share/podctl", "--runroot",
                                      "/run/user/1001/pr", "run", "--name", "web", "-d", "-e", "FOO",
                                      "--restart=always", IMAGE, "httpd", "-f", "-p", "80"),
                  name="web", env=("FOO=from container", "PATH=/bin"))  # fmt: skip
    unit = gen.container_unit(req, replace(PODCTL, new=True, use_name=True))
    check_podctl_golden("podctl-container-web-new.service", unit.text)
    u = UnitFile.parse(unit.text)
    assert u.lookup_args("Service", "ExecStart") == [
        "/usr/bin/podctl", "--root", "/home/u/.local/share/podctl", "--runroot", "/run/user/1001/pr",
        "run", "--cidfile=%t/%n.ctr-id", "--rm", "--sdnotify=conmon", "--replace", "--name", "web",
        "-d", "-e", "FOO", IMAGE, "httpd", "-f", "-p", "80",
    ]  # fmt: skip
    assert u.lookup_args("Service", "ExecStop") == [
        "/usr/bin/podctl", "--root", "/home/u/.local/share/podctl", "--runroot", "/run/user/1001/pr",
        "stop", "--ignore", "-t", "10", "--cidfile=%t/%n.ctr-id",
    ]  # fmt: skip
    assert u.lookup("Service", "Environment") == '"FOO=from container"'
    assert u.lookup_all("Service", "Environment")[0] == "PODCTL_SYSTEMD_UNIT=%n"
    assert u.lookup("Service", "Restart") == "always"
    assert u.lookup("Service", "Type") == "notify" and u.lookup("Service", "KillMode") == "mixed"
    assert u.lookup("Unit", "RequiresMountsFor") == "/run/user/1001/pr"
    # `run --replace` overwrites a leftover ID file: no `rm -f` before it.
    assert u.lookup_all("Service", "ExecStartPre") == []


def test_podctl_new_container_without_a_name_removes_the_id_file_first() -> None:
    """Without --name there is no --replace, and `run --cidfile` refuses an existing file."""
    req = replace(C3, create_command=("podctl", "run", "-d", IMAGE, "top"), name="eager_pare")
    u = UnitFile.parse(gen.container_unit(req, replace(PODCTL, new=True)).text)
    assert "--replace" not in (u.lookup_args("Service", "ExecStart") or [])
    assert [v.split() for v in u.lookup_all("Service", "ExecStartPre")] == [["/bin/rm", "-f", "%t/%n.ctr-id"]]


def test_podctl_existing_container() -> None:
    unit = gen.container_unit(C3, replace(PODCTL, use_name=True, restart_sec=3, stop_timeout=5))
    check_podctl_golden("podctl-container-sdref-c3.service", unit.text)
    u = UnitFile.parse(unit.text)
    assert u.lookup_args("Service", "ExecStart") == [
        "/usr/bin/podctl",
        *C3.root_flags,
        "start",
        "sdref-c3",
    ]
    assert u.lookup("Service", "PIDFile") == C3.conmon_pidfile
    assert (u.lookup("Service", "RestartSec"), u.lookup("Service", "TimeoutStopSec")) == ("3", "65")


def test_podctl_template_with_everything() -> None:
    opts = replace(PODCTL, new=True, template=True, no_header=True, restart_policy="always",
                   restart_sec=5, start_timeout=30, stop_timeout=7, wants=("a.service",),
                   after=("b.service",), requires=("c.service",), env=("X=1", "Y=a b"))  # fmt: skip
    unit = gen.container_unit(C1, opts)
    assert unit.filename == f"container-{C1.id}@.service"
    check_podctl_golden("podctl-container-template.service", unit.text)
    u = UnitFile.parse(unit.text)
    args = u.lookup_args("Service", "ExecStart") or []
    assert args[args.index("--name") + 1] == "sdref-c1-%i"
    assert u.lookup_all("Service", "Environment") == ["PODCTL_SYSTEMD_UNIT=%n-%i", "X=1", '"Y=a b"']
    assert (u.lookup("Service", "TimeoutStartSec"), u.lookup("Service", "TimeoutStopSec")) == (
        "30",
        "67",
    )
    assert (
        u.lookup("Service", "StartLimitBurst") is None
    )  # --restart-policy overrides the container's


def test_podctl_pod_new() -> None:
    members = {"sdref-p1-web": "podman-4.3.1-ctr_sdref-p1-web.service",
               "sdref-p1-side": "podman-4.3.1-ctr_sdref-p1-side.service"}  # fmt: skip
    pod = _pod("podman-4.3.1-pd_sdref-p1.service", members)
    pod = replace(pod, create_command=("podctl", "pod", "create", "--name", "sdref-p1", "-p", "18080:80"),
                  members=tuple(replace(m, create_command=("podctl", *m.create_command[1:])) for m in pod.members))  # fmt: skip
    units = gen.pod_units(pod, replace(PODCTL, new=True, use_name=True, no_header=True))
    for u in units:
        check_podctl_golden(f"podctl-{u.filename}", u.text)
    pod_u, side, web = (UnitFile.parse(u.text) for u in units)
    assert pod_u.lookup_strv("Unit", "Wants")[-2:] == [
        "container-sdref-p1-side.service",
        "container-sdref-p1-web.service",
    ]
    assert pod_u.lookup("Service", "Type") == "forking"
    assert pod_u.lookup("Service", "PIDFile") == "%t/pod-sdref-p1.pid"
    assert web.lookup("Unit", "BindsTo") == "pod-sdref-p1.service"
    assert "pod-sdref-p1.service" in web.lookup_strv("Unit", "After")
    args = web.lookup_args("Service", "ExecStart") or []
    assert "--pod" not in args and args[args.index("--pod-id-file") + 1] == "%t/pod-sdref-p1.pod-id"
    # podman's structure: `pod create` in ExecStartPre, then `pod start` in ExecStart. No
    # `rm -f` of stale ID files first: `pod create --replace` replaces them (podman's unit
    # has the rm), nor in the members' units (`run --replace --cidfile`).
    pre = [v.split() for v in pod_u.lookup_all("Service", "ExecStartPre")]
    assert len(pre) == 1 and "--replace" in pre[0]
    assert pre[0][1:4] == ["pod", "create", "--infra-conmon-pidfile"] and "--start" not in pre[0]
    assert (pod_u.lookup_args("Service", "ExecStart") or [])[1:3] == ["pod", "start"]
    for member in (side, web):
        assert member.lookup_all("Service", "ExecStartPre") == []
        assert "--replace" in (member.lookup_args("Service", "ExecStart") or [])


def test_podctl_pod_new_from_a_pod_created_with_start() -> None:
    """`pod create --start` (or --no-infra, a bool) in the pod's own command is no value flag:
    --name is still found, --replace added once, --start not carried into ExecStartPre."""
    members = {"sdref-p1-web": "podman-4.3.1-ctr_sdref-p1-web.service",
               "sdref-p1-side": "podman-4.3.1-ctr_sdref-p1-side.service"}  # fmt: skip
    pod = _pod("podman-4.3.1-pd_sdref-p1.service", members)
    pod = replace(pod, create_command=("podctl", "pod", "create", "--start", "--no-infra", "--name",
                                       "sdref-p1", "-p", "18080:80"))  # fmt: skip
    for flavor in (PODCTL, PODMAN):
        pod_u = UnitFile.parse(gen.pod_units(pod, replace(flavor, new=True, use_name=True))[0].text)
        create = pod_u.lookup_all("Service", "ExecStartPre")[-1].split()
        assert "--start" not in create and create.count("--replace") == 1
        assert create[create.index("--name") + 1] == "sdref-p1"
        assert (pod_u.lookup_args("Service", "ExecStart") or [])[1:3] == ["pod", "start"]
    on = replace(PODCTL, new=True, use_name=True, flavor=replace(gen.PODCTL, pod_create_start=True))
    pod_u = UnitFile.parse(gen.pod_units(pod, on)[0].text)
    start = pod_u.lookup_args("Service", "ExecStart") or []
    assert start[1:4] == ["pod", "create", "--start"] and start.count("--start") == 1


# -- options and errors --------------------------------------------------------------------------


def test_parse_args_finds_the_image() -> None:
    bools = gen.BOOL_FLAGS
    p = parse_args(
        ["-it", "-e", "A=1", "--name=x", "-p8080:80", "--rm", IMAGE, "sh", "-c", "x"], bools
    )
    assert p.flag_count == 6 and p.last("--name") == "x" and p.values["--env"] == ["A=1"]
    assert p.last("-p") == "8080:80" and p.given("--interactive") and p.given("--tty")
    p = parse_args(["-d=false", "--", IMAGE], bools)
    assert p.flag_count == 2 and p.last("--detach") == "false"


def test_detach_false_and_replace_false_are_replaced() -> None:
    req = replace(
        C1, create_command=("podctl", "run", "-d=false", "--replace=false", "--name", "n", IMAGE)
    )
    u = UnitFile.parse(gen.container_unit(req, replace(PODCTL, new=True)).text)
    args = u.lookup_args("Service", "ExecStart") or []
    assert "-d=false" not in args and "--replace=false" not in args
    assert args.count("-d") == 1 and args.count("--replace") == 1


def test_errors_name_the_problem() -> None:
    with pytest.raises(InvalidSpec, match="--restart-policy=sometimes"):
        GenerateOptions(restart_policy="sometimes")
    with pytest.raises(InvalidSpec, match="--stop-timeout"):
        GenerateOptions(stop_timeout=-1)
    with pytest.raises(InvalidSpec, match="--env"):
        GenerateOptions(env=("NOEQUALS",))
    with pytest.raises(InvalidSpec, match="too short or invalid"):
        gen.container_unit(replace(C1, create_command=()), replace(PODCTL, new=True))
    with pytest.raises(InvalidSpec, match="PID file"):
        gen.container_unit(replace(C1, conmon_pidfile=""), PODCTL)
    with pytest.raises(InvalidSpec, match="--template requires --new"):
        gen.container_unit(C3, replace(PODCTL, template=True))
    pod = PodRequest(name="p", id="pid", infra_name="i", infra_id="i", members=(C1,))
    with pytest.raises(InvalidSpec, match="not supported for pods"):
        gen.pod_units(pod, replace(PODCTL, template=True))
    with pytest.raises(InvalidSpec, match="pod create"):
        gen.pod_units(
            replace(pod, create_command=("podctl", "run", "--pod", "new:p", IMAGE)),
            replace(PODCTL, new=True),
        )
    with pytest.raises(InvalidSpec, match="no containers"):
        gen.pod_units(replace(pod, members=()), PODCTL)


def test_templates_ship_in_the_data_dir() -> None:
    from podctl.config import data_path

    names = {p.name for p in data_path("templates", "units").iterdir()}
    assert {"container.service.j2", "pod.service.j2", "header.j2", "dependencies.j2"} <= names


def test_podctl_without_stop_cidfile_uses_the_name() -> None:
    """While `podctl stop/rm` lack --cidfile, the unit addresses its container by name and
    removes the ID file itself; an unnamed container gets its current name."""
    flavor = replace(gen.PODCTL, stop_cidfile=False)
    req = replace(C1, create_command=("podctl", "run", "-d", IMAGE, "top"), name="quirky_name")
    unit = gen.container_unit(
        req, replace(PODCTL, new=True, use_name=True, no_header=True, flavor=flavor)
    )
    check_podctl_golden("podctl-container-no-cidfile.service", unit.text)
    u = UnitFile.parse(unit.text)
    assert u.lookup_args("Service", "ExecStop") == [
        "/usr/bin/podctl",
        "stop",
        "--ignore",
        "-t",
        "10",
        "quirky_name",
    ]
    assert u.lookup_all("Service", "ExecStopPost")[-1] == "/bin/rm  -f %t/%n.ctr-id"
    args = u.lookup_args("Service", "ExecStart") or []
    assert args[args.index("--name") + 1] == "quirky_name" and "--replace" in args
