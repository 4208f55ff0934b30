"""podctl.engine.kube / kube_volumes pieces that need no running pod: host path checks,
volume files, sub-paths, the lenient name reading of `kube down`, Go-style CLI booleans."""

from __future__ import annotations

import os
import socket
import stat
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from podctl.config import Config
from podctl.engine import kube as engine
from podctl.engine import kube_volumes as kv
from podctl.errors import InvalidSpec
from podctl.kube import translate_text
from podctl.kube.model import KubeVolume, VolumeFile, VolumeKind
from podctl.spec import ContainerSpec, Mount, MountType


def _pods(text: str) -> tuple:  # type: ignore[type-arg]
    return translate_text(textwrap.dedent(text), "t.yaml").pods


def _host_pod(path: Path, typ: str) -> str:
    return f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          containers: [{{name: c, image: busybox, volumeMounts: [{{name: h, mountPath: /h}}]}}]
          volumes: [{{name: h, hostPath: {{path: {path}, type: {typ}}}}}]
        """


def test_host_path_types_are_checked_before_anything(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    kv.check_host_paths(_pods(_host_pod(tmp_path, "Directory")))
    kv.check_host_paths(_pods(_host_pod(f, "File")))
    with pytest.raises(InvalidSpec, match="is not a directory"):
        kv.check_host_paths(_pods(_host_pod(f, "Directory")))
    with pytest.raises(InvalidSpec, match="does not exist"):
        kv.check_host_paths(_pods(_host_pod(tmp_path / "nope", "File")))
    with pytest.raises(InvalidSpec, match="is not a socket"):
        kv.check_host_paths(_pods(_host_pod(f, "Socket")))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    kv.check_host_paths(_pods(_host_pod(tmp_path / "s", "Socket")))
    sock.close()
    # The *OrCreate types are made at play time, and only then.
    new_dir, new_file = tmp_path / "a" / "b", tmp_path / "c" / "f"
    pods = _pods(_host_pod(new_dir, "DirectoryOrCreate")) + _pods(_host_pod(new_file, "FileOrCreate").replace("name: p", "name: q"))
    kv.check_host_paths(pods)
    assert not new_dir.exists() and not new_file.exists()
    for pod in pods:
        kv.create_host_paths(pod)
    assert new_dir.is_dir() and new_file.is_file()
    with pytest.raises(InvalidSpec, match="is not a regular file"):
        kv.check_host_paths(_pods(_host_pod(new_dir, "FileOrCreate")))


def test_volume_files_get_their_modes_and_stay_inside(tmp_path: Path) -> None:
    vol = KubeVolume("cm", VolumeKind.CONFIG_MAP, volume_name="p-cm", files=(
        VolumeFile("a.conf", b"A", 0o640), VolumeFile("sub/dir/b", b"B", 0o400)))  # fmt: skip
    kv._write_files(tmp_path, vol)
    assert (tmp_path / "a.conf").read_bytes() == b"A"
    assert stat.S_IMODE((tmp_path / "a.conf").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "sub/dir/b").stat().st_mode) == 0o400
    os.symlink("/etc", tmp_path / "evil")
    bad = KubeVolume("cm", VolumeKind.CONFIG_MAP, files=(VolumeFile("evil/passwd", b"x", 0o644),))
    with pytest.raises(InvalidSpec, match="escapes"):
        kv._write_files(tmp_path, bad)


def test_subpath_becomes_a_bind_and_back(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, runroot=tmp_path / "run", runtime=None, log_level="warn")
    (tmp_path / "volumes" / "v" / "_data").mkdir(parents=True)
    spec = ContainerSpec(image="busybox", name="p-c", mounts=(
        Mount(MountType.VOLUME, "/etc/app.conf", "v", read_only=True, options=("subpath=conf/app",)),
        Mount(MountType.VOLUME, "/data", "v")))  # fmt: skip
    out = kv.subpath_mounts(cfg, spec)
    bind = out.mounts[0]
    assert bind.type == MountType.BIND and bind.read_only
    assert bind.source == str(tmp_path / "volumes" / "v" / "_data" / "conf" / "app")
    assert Path(bind.source).is_dir()  # made, as the kubelet does
    assert out.mounts[1] == spec.mounts[1]
    assert engine._unbind_subpaths(cfg, out).mounts == spec.mounts
    evil = spec.replace(mounts=(Mount(MountType.VOLUME, "/x", "v", options=("subpath=a/../../..",)),))
    with pytest.raises(InvalidSpec, match="escapes"):
        kv.subpath_mounts(cfg, evil)


def test_down_reads_names_leniently(tmp_path: Path) -> None:
    f = tmp_path / "k.yaml"
    f.write_text(textwrap.dedent("""
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers: [{name: c, image: busybox, envFrom: [{configMapRef: {name: from-flag}}]}]
          volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec: {template: {spec: {containers: [{name: c, image: busybox}]}}}
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: cache}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        """))
    assert engine._names(str(f)) == (["web", "api-pod"], ["data", "cache"])


def test_go_style_booleans() -> None:
    seen: dict[str, object] = {}

    @click.command(cls=__import__("podctl.cli.kube", fromlist=["KubeCommand"]).KubeCommand)
    @click.argument("file")
    @click.option("--start/--no-start", default=True)
    @click.option("--replace/--no-replace", default=False)
    def cmd(file: str, start: bool, replace: bool) -> None:
        seen.update(file=file, start=start, replace=replace)

    runner = CliRunner()
    assert runner.invoke(cmd, ["--start=false", "--replace=true", "f.yaml"]).exit_code == 0
    assert seen == {"file": "f.yaml", "start": False, "replace": True}
    assert runner.invoke(cmd, ["--start", "f.yaml"]).exit_code == 0
    assert seen["start"] is True and seen["file"] == "f.yaml"
    bad = runner.invoke(cmd, ["--start=maybe", "f.yaml"])
    assert bad.exit_code != 0 and "not a boolean" in bad.output


def test_build_is_refused_before_reading(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, runroot=tmp_path / "run", runtime=None, log_level="warn")
    with pytest.raises(InvalidSpec, match="--build"):
        engine.play(cfg, engine.PlayOptions(file=str(tmp_path / "missing.yaml"), build=True))


def test_play_records_rebuild_the_yaml(tmp_path: Path) -> None:
    """What play stores (labels, annotations, volume files) is enough for generate: the
    records of a played pod give back init containers, run-time fieldRefs, probes, named
    ports, configMap volumes (as ConfigMaps) and sub-paths."""
    import json
    from types import SimpleNamespace

    import yaml

    from podctl.engine import lifecycle as lc
    from podctl.kube.generate import generate as kube_generate
    from podctl.state.containers import StateDB

    cfg = Config(root=tmp_path, runroot=tmp_path / "run", runtime=None, log_level="warn")
    plan = translate_text(textwrap.dedent("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
        data: {a.conf: "x=1"}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, labels: {app: p}}
        spec:
          initContainers: [{name: first, image: busybox, command: ["true"]}]
          containers:
          - name: web
            image: busybox
            env: [{name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]
            ports: [{name: http, containerPort: 80, hostPort: 8080}]
            livenessProbe: {tcpSocket: {port: http}, periodSeconds: 7}
            securityContext: {runAsGroup: 5}
            volumeMounts:
            - {name: conf, mountPath: /etc/conf}
            - {name: conf, mountPath: /etc/a.conf, subPath: a.conf}
          volumes: [{name: conf, configMap: {name: cm, defaultMode: 0440}}]
        """), "p.yaml")
    pod = plan.pods[0]
    db = StateDB(tmp_path / "state.db")
    created: list[str] = []
    kv.create_pod_volumes(cfg, db, pod, created)
    assert created == ["p-conf"]
    opts = engine.PlayOptions(file="p.yaml")
    pspec = engine._pod_spec(pod, opts, "slirp4netns")
    assert dict(pspec.labels)[engine.FILE_LABEL] == str(Path("p.yaml").absolute())
    resolved = plan.resolve_runtime("p", {"metadata.uid": "ID"}).pods[0]
    web = resolved.containers[1]
    refs = engine._field_refs(pod.containers[1])
    assert refs == {"UID": "metadata.uid"}
    spec = engine._container_spec(cfg, web, pspec, "ID", opts, refs, "1000:1000")
    assert spec.user == "1000:5" and spec.pod == "ID" and dict(spec.env)["UID"] == "ID"
    assert spec.mounts[1].type == MountType.BIND  # the sub-path
    prec = SimpleNamespace(name="p", id="ID", infra_id="infra", spec=pspec.to_dict(),
                           labels=dict(pspec.labels))  # fmt: skip
    member = SimpleNamespace(id="c1", name="p-web", created=1.0, spec=spec.to_dict())
    kpod, cms, secrets = engine._kube_pod(cfg, db, prec, [member])
    text = kube_generate([kpod], configmaps=cms, secrets=secrets)
    docs = list(yaml.safe_load_all(text))
    assert docs[0] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                       "data": {"a.conf": "x=1"}}  # fmt: skip
    podspec = docs[1]["spec"]
    assert docs[1]["metadata"]["labels"] == {"app": "p"}
    assert [c["name"] for c in podspec["initContainers"]] == ["first"]
    c = podspec["containers"][0]
    assert c["env"] == [{"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}]
    assert c["ports"] == [{"containerPort": 80, "name": "http", "hostPort": 8080, "protocol": "TCP"}]
    assert c["livenessProbe"]["tcpSocket"] == {"port": 80} and c["livenessProbe"]["periodSeconds"] == 7
    assert c["securityContext"] == {"runAsGroup": 5}
    assert c["volumeMounts"][1] == {"name": "conf", "mountPath": "/etc/a.conf", "subPath": "a.conf"}
    vol = podspec["volumes"][0]["configMap"]
    assert vol["name"] == "cm" and vol["items"] == [{"key": "a.conf", "path": "a.conf", "mode": 0o440}]
    assert json.loads(dict(pspec.annotations)[engine.INIT_ANN])[0]["name"] == "first"
    assert lc.volume_path(cfg, "p-conf").joinpath("a.conf").read_text() == "x=1"
