"""podctl.kube.generate: YAML a Kubernetes 1.3x API server accepts, and that plays back the same."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import yaml
from kube_unit_helpers import OPTS, fixture_plan, golden

from podctl.errors import InvalidSpec
from podctl.kube import generate, translate_text
from podctl.kube.context import TranslateOptions
from podctl.kube.model import KubePlan, NamedVolume
from podctl.spec import ContainerSpec, Mount, MountType, PodSpec, PortMapping


def validator() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is missing: /opt/podctl/venv/bin/pip install "
                    "kubernetes-validate (scripts/host-setup installs it)")  # fmt: skip
    return kubernetes_validate


def validate(text: str, versions: tuple[str, ...] = ("1.30", "1.33", "1.35")) -> list[dict[str, Any]]:
    kv = validator()
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for version in versions:
        for doc in docs:
            kv.validate(doc, version, strict=True)  # raises on any schema violation
    return docs


def everything(plan: KubePlan, **kw: Any) -> str:
    return generate([*plan.pods, *plan.volumes], configmaps=plan.configmaps,
                    secrets=plan.secrets, **kw)  # fmt: skip


def test_validator_rejects_bad_documents() -> None:
    kv = validator()
    with pytest.raises(kv.ValidationError):
        kv.validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                     "spec": {"containers": [{"image": "i"}]}}, "1.30", strict=True)  # fmt: skip
    with pytest.raises(kv.ValidationError):
        kv.validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                     "spec": {"containers": [{"name": "c", "bogus": 1}]}}, "1.30", strict=True)  # fmt: skip


def test_golden_generated_yaml() -> None:
    got = everything(fixture_plan("all_fields.yaml"))
    assert got == golden("all_fields.generated.yaml", got), "rerun with PODCTL_UPDATE_GOLDEN=1 if the change is wanted"


@pytest.mark.parametrize("kind", ["pod", "deployment", "daemonset", "job"])
def test_all_fields_validate_and_round_trip(kind: str) -> None:
    plan = fixture_plan("all_fields.yaml")
    text = everything(plan, kind=kind, service=True)
    # lifecycle.stopSignal exists since Kubernetes 1.33.
    docs = validate(text, ("1.33", "1.35"))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["PersistentVolumeClaim", "ConfigMap", "Secret",
                     {"pod": "Pod", "deployment": "Deployment", "daemonset": "DaemonSet",
                      "job": "Job"}[kind], "Service"]  # fmt: skip
    again = translate_text(text, "gen.yaml", options=OPTS)
    assert again.volumes == plan.volumes
    assert again.configmaps == plan.configmaps
    assert again.secrets == plan.secrets
    assert again.skipped == (("Service", "web" if kind == "pod" else f"web-{kind}"),)
    if kind == "pod":
        assert again.pods == plan.pods
    else:  # a controller makes the pod `<name>-pod`: everything else is the same
        (pod,) = again.pods
        assert pod.name == f"web-{kind}-pod"
        assert [c.name for c in pod.containers] == [c.name for c in plan.pods[0].containers]
        assert [c.probes for c in pod.containers] == [c.probes for c in plan.pods[0].containers]


def test_deployment_round_trip_keeps_the_name() -> None:
    plan = fixture_plan("deployment.yaml")
    dep = plan.pods[0]
    text = generate([dep], kind="deployment", service=True)
    docs = validate(text)
    assert docs[0]["metadata"]["name"] == "frontend"
    assert docs[0]["spec"]["replicas"] == 3
    assert docs[0]["spec"]["selector"] == {"matchLabels": {"app": "frontend"}}
    assert docs[1]["spec"]["ports"] == [
        {"name": "8080-tcp", "port": 8080, "targetPort": 80, "protocol": "TCP"}]  # fmt: skip
    assert translate_text(text, "gen.yaml", options=OPTS).pods == (dep,)
    job = plan.pods[2]
    text = generate([job], kind="job")
    validate(text)
    assert translate_text(text, "gen.yaml", options=OPTS).pods == (job,)


def test_dollar_signs_survive_the_round_trip() -> None:
    spec = ContainerSpec(image="busybox", name="c", command=("echo", "$(X)", "$$", "$HOME", "a$"),
                         env=(("X", "$(Y)"), ("Y", "$$(Z)")))  # fmt: skip
    text = generate([spec])
    validate(text)
    c = yaml.safe_load(text.split("# Created with podctl\n")[1])["spec"]["containers"][0]
    assert c["args"] == ["echo", "$$(X)", "$$$", "$HOME", "a$"]
    back = translate_text(text, "gen.yaml", options=OPTS).pods[0].containers[0].spec
    assert (back.command, back.env) == (spec.command, spec.env)


def test_plain_container_specs() -> None:
    spec = ContainerSpec(
        image="busybox", name="web", entrypoint=("httpd",), command=("-f", "-p", "80"),
        env=(("A", "1"),), workdir="/var/www", user="1000:1000",
        ports=(PortMapping(80, 8080, "tcp", "127.0.0.1"),),
        mounts=(Mount(MountType.BIND, "/srv", "/home/u/site", read_only=True),
                Mount(MountType.VOLUME, "/data", "webdata"),
                Mount(MountType.VOLUME, "/scratch", ""),
                Mount(MountType.TMPFS, "/tmp")),
        cap_add=("CAP_NET_RAW",), memory=64 << 20, cpus=1.5, stop_signal="SIGQUIT",
        labels=(("io.containers.autoupdate", "registry"),),
    )  # fmt: skip
    text = generate([spec])
    docs = validate(text, ("1.33",))
    (pod,) = docs
    assert pod["metadata"] == {"name": "web-pod",
                               "annotations": {"io.containers.autoupdate/web": "registry"}}  # fmt: skip
    c = pod["spec"]["containers"][0]
    assert c["name"] == "web" and c["command"] == ["httpd"] and c["args"] == ["-f", "-p", "80"]
    assert c["ports"] == [{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1",
                           "protocol": "TCP"}]  # fmt: skip
    assert c["resources"] == {"limits": {"cpu": "1500m", "memory": "64Mi"}}
    assert c["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000,
                                    "capabilities": {"add": ["NET_RAW"]}}  # fmt: skip
    assert c["lifecycle"] == {"stopSignal": "SIGQUIT"}
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert vols["home-u-site-host"] == {"name": "home-u-site-host",
                                        "hostPath": {"path": "/home/u/site"}}  # fmt: skip
    assert vols["webdata-pvc"]["persistentVolumeClaim"] == {"claimName": "webdata"}
    assert vols["scratch-anon"]["emptyDir"] == {}
    assert vols["tmp-tmpfs"]["emptyDir"] == {"medium": "Memory"}
    back = translate_text(text, "gen.yaml", options=OPTS).pods[0]
    assert back.name == "web-pod" and back.spec.ports == spec.ports
    b = back.containers[0].spec
    for field in ("image", "entrypoint", "command", "env", "workdir", "user", "cap_add",
                  "memory", "cpus", "stop_signal", "labels"):  # fmt: skip
        assert getattr(b, field) == getattr(spec, field), field
    assert b.mounts[:2] == spec.mounts[:2]


def test_records_of_other_shapes() -> None:
    spec = ContainerSpec(image="busybox", name="one", command=("sleep", "9"))
    record = {"id": "abc", "name": "two", "spec": {**spec.to_dict(), "name": "two"}}
    inspect = {
        "Name": "three",
        "Config": {"Image": "busybox", "Cmd": ["top"], "Env": ["K=V"], "User": "bob",
                   "Entrypoint": "/bin/sh -c"},
        "HostConfig": {"PortBindings": {"53/udp": [{"HostIp": "", "HostPort": "5353"}]}},
        "Mounts": [{"Type": "volume", "Name": "vol", "Destination": "/v", "RW": False}],
    }
    text = generate([spec.to_dict(), record, inspect, NamedVolume("vol", options=(("uid", "5"),))])
    docs = validate(text)
    assert [d["kind"] for d in docs] == ["PersistentVolumeClaim", "Pod"]
    assert docs[0]["metadata"] == {"name": "vol", "annotations": {"volume.podman.io/uid": "5"}}
    pod = docs[1]
    assert pod["metadata"]["name"] == "one-pod"
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names == ["one", "two", "three"]
    three = pod["spec"]["containers"][2]
    assert three["env"] == [{"name": "K", "value": "V"}] and three["args"] == ["top"]
    assert three["command"] == ["/bin/sh", "-c"]
    assert three["volumeMounts"] == [{"name": "vol-pvc", "mountPath": "/v", "readOnly": True}]
    assert pod["spec"]["containers"][0]["ports"] == [
        {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"}]  # fmt: skip
    assert "# NOTE: container three: user 'bob' is not numeric" in text


def test_pod_spec_input_and_notes() -> None:
    pod = PodSpec(name="p", hostname="h", network="host", share=("ipc", "net", "uts", "pid"),
                  containers=(ContainerSpec(image="i", name="p-c"),))  # fmt: skip
    text = generate([pod], service=True)
    (doc,) = validate(text)
    assert doc["spec"]["hostNetwork"] and doc["spec"]["shareProcessNamespace"]
    assert doc["spec"]["hostname"] == "h" and doc["metadata"]["labels"] == {"app": "p"}
    assert "# NOTE: pod p: no published ports, so no Service" in text
    with pytest.raises(InvalidSpec, match="--type 'cronjob'"):
        generate([pod], kind="cronjob")


def test_generated_yaml_plays_without_warnings() -> None:
    plan = fixture_plan("all_fields.yaml")
    again = translate_text(everything(plan), "gen.yaml", options=TranslateOptions(
        cgroup_limits=True, node_cpus=4, node_memory=8 << 30))  # fmt: skip
    assert [str(w) for w in again.warnings] == []


def test_configmap_text_blocks() -> None:
    plan = translate_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        data: {a.conf: "x = 1\\ny = 2\\n"}
        """), "c.yaml")  # fmt: skip
    text = generate([], configmaps=plan.configmaps)
    assert "  a.conf: |\n    x = 1\n    y = 2\n" in text
    validate(text)


def test_runtime_values_stay_references() -> None:
    plan = translate_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: i
            args: ["--listen=$(IP):80"]
            env:
            - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: URL, value: "http://$(IP)/"}
        """), "p.yaml")  # fmt: skip
    text = generate(list(plan.pods))
    (doc,) = validate(text)
    c = doc["spec"]["containers"][0]
    assert c["args"] == ["--listen=$(IP):80"]
    assert c["env"][1] == {"name": "URL", "value": "http://$(IP)/"}
    assert translate_text(text, "gen.yaml").pods == plan.pods


def test_state_records() -> None:
    from podctl.state.containers import ContainerRecord, State, VolumeRecord

    spec = ContainerSpec(image="busybox", name="db", env=(("A", "b"),),
                         mounts=(Mount(MountType.VOLUME, "/var/lib/db", "dbdata"),))  # fmt: skip
    rec = ContainerRecord(id="f" * 64, name="db", created=0.0, image="busybox",
                          spec=spec.to_dict(), state=State.CREATED)  # fmt: skip
    vol = VolumeRecord(name="dbdata", mountpoint="/x", created=0.0, labels={"k": "v"},
                       options={"type": "tmpfs"})  # fmt: skip
    docs = validate(generate([rec, vol]))
    assert docs[0]["metadata"] == {"name": "dbdata", "labels": {"k": "v"},
                                   "annotations": {"volume.podman.io/type": "tmpfs"}}  # fmt: skip
    c = docs[1]["spec"]["containers"][0]
    assert (c["name"], c["env"]) == ("db", [{"name": "A", "value": "b"}])
    assert c["volumeMounts"] == [{"name": "dbdata-pvc", "mountPath": "/var/lib/db"}]
    back = translate_text(generate([rec, vol]), "gen.yaml")
    assert back.volumes == (NamedVolume("dbdata", options=(("type", "tmpfs"),),
                                        labels=(("k", "v"),),
                                        annotations=(("volume.podman.io/type", "tmpfs"),)),)  # fmt: skip
