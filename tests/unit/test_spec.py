"""ContainerSpec and the -v/--mount/--tmpfs/--restart syntax."""

from __future__ import annotations

import pytest

from podctl.errors import InvalidSpec
from podctl.spec import (
    ContainerSpec,
    Mount,
    MountType,
    PodSpec,
    PortMapping,
    RestartPolicy,
    parse_mount,
    parse_restart,
    parse_tmpfs,
    parse_volume,
)


def test_volume_syntax() -> None:
    assert parse_volume("/data") == Mount(MountType.VOLUME, "/data")
    assert parse_volume("/host/dir:/data:ro,U") == Mount(MountType.BIND, "/data", "/host/dir", True, True)
    assert parse_volume("name:/data") == Mount(MountType.VOLUME, "/data", "name")
    assert parse_volume("/data:ro") == Mount(MountType.VOLUME, "/data", "", True)
    assert parse_volume("/a/../b:/c/").destination == "/c"
    assert parse_volume("/h:/c:z,nosuid").options == ("z", "nosuid")


@pytest.mark.parametrize("bad", ["./rel:/data", "rel/dir:/data", "~/x:/data", "vol:data", "a:b:c:d",
                                 "/h:/c:bogus", "-bad:/data", ""])  # fmt: skip
def test_volume_syntax_errors_name_the_flag(bad: str) -> None:
    with pytest.raises(InvalidSpec, match="volume"):
        parse_volume(bad)


def test_mount_syntax() -> None:
    m = parse_mount("type=bind,source=/h,destination=/c,ro")
    assert m == Mount(MountType.BIND, "/c", "/h", True)
    assert parse_mount("type=volume,src=v,dst=/c").source == "v"
    assert parse_mount("type=bind,src=/h,target=/c,readonly=true").read_only
    assert not parse_mount("type=bind,src=/h,target=/c,readonly=false").read_only
    t = parse_mount("type=tmpfs,destination=/t,tmpfs-size=64m")
    assert t.type == MountType.TMPFS and t.options == ("size=64m",)
    for bad in ("type=nfs,dst=/x", "type=bind,src=rel,dst=/x", "type=bind,src=/h", "type=bind,src=/h,dst=/c,foo=1"):
        with pytest.raises(InvalidSpec, match="--mount"):
            parse_mount(bad)


def test_tmpfs_and_restart() -> None:
    t = parse_tmpfs("/run:rw,size=10m")
    assert t == Mount(MountType.TMPFS, "/run", "", False, False, ("size=10m",))
    assert parse_restart("on-failure:3") == (RestartPolicy.ON_FAILURE, 3)
    assert parse_restart("always") == (RestartPolicy.ALWAYS, 0)
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(InvalidSpec, match="--restart"):
            parse_restart(bad)


def test_spec_validation_and_round_trip() -> None:
    spec = ContainerSpec(
        image="busybox", name="web", command=("sh", "-c", "true"), entrypoint=(),
        env=(("A", "1"),), mounts=(parse_volume("v:/data"), parse_tmpfs("/t")),
        ports=(PortMapping(80, 8080),), restart_policy=RestartPolicy.ON_FAILURE, restart_retries=2,
        labels=(("k", "v"),), cap_add=("NET_ADMIN",),
    )  # fmt: skip
    assert ContainerSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidSpec, match="name"):
        ContainerSpec(image="x", name="bad name")
    with pytest.raises(InvalidSpec, match="--rm"):
        ContainerSpec(image="x", remove=True, restart_policy=RestartPolicy.ALWAYS)
    with pytest.raises(InvalidSpec, match="duplicate"):
        ContainerSpec(image="x", mounts=(parse_volume("/a"), parse_volume("v:/a")))
    with pytest.raises(InvalidSpec, match="workdir"):
        ContainerSpec(image="x", workdir="rel")
    with pytest.raises(InvalidSpec, match="pod name"):
        PodSpec(name="")
