"""podctl.kube.translate: every supported field of a Kubernetes manifest becomes spec data."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from kube_unit_helpers import FIXTURES, OPTS, fixture_plan, golden, plan_of

from podctl.errors import InvalidSpec
from podctl.kube import load_and_translate
from podctl.kube.context import TranslateOptions
from podctl.kube.model import (
    HostAlias,
    HostPathType,
    KubePlan,
    KubePod,
    ProbeAction,
    ProbeKind,
    Role,
    VolumeKind,
    as_jsonable,
    placeholder,
)
from podctl.spec import Mount, MountType, PortMapping, RestartPolicy


def messages(plan: KubePlan) -> list[str]:
    return [str(w) for w in plan.warnings]


@pytest.fixture(scope="module")
def web() -> KubePod:
    plan = fixture_plan("all_fields.yaml")
    assert [p.name for p in plan.pods] == ["web"]
    return plan.pods[0]


def ctr(pod: KubePod, name: str):  # type: ignore[no-untyped-def]
    return next(c for c in pod.containers if c.name == name)


def test_golden_plan() -> None:
    plan = fixture_plan("all_fields.yaml")
    got = json.dumps(as_jsonable(plan), indent=1, sort_keys=True) + "\n"
    assert got == golden("all_fields.plan.json", got), "rerun with PODCTL_UPDATE_GOLDEN=1 if the change is wanted"


def test_pod_level_fields(web: KubePod) -> None:
    s = web.spec
    assert (s.name, s.hostname, web.namespace, web.kind) == ("web", "webhost", "shop", "Pod")
    assert s.labels == (("app", "web"), ("tier", "front"))
    assert s.restart_policy == RestartPolicy.ON_FAILURE
    assert s.share == ("ipc", "net", "uts", "pid")  # shareProcessNamespace
    assert s.network == "slirp4netns"
    assert web.stop_timeout == 5
    assert all(c.spec.stop_timeout == 5 for c in web.containers)
    assert web.host_aliases == (HostAlias("10.1.2.3", ("db.local", "db")),)
    assert (web.dns_servers, web.dns_search) == (("1.1.1.1",), ("example.com",))
    assert web.dns_options == ("ndots:2", "edns0")
    assert s.ports == (
        PortMapping(8080, 18080, "tcp", "127.0.0.1"),
        PortMapping(5353, 15353, "udp", ""),
    )


def test_start_order_and_roles(web: KubePod) -> None:
    assert [(c.name, c.role) for c in web.containers] == [
        ("setup", Role.INIT), ("side", Role.SIDECAR), ("app", Role.APP), ("worker", Role.APP)]  # fmt: skip
    assert [c.name for c in web.spec.containers] == ["web-setup", "web-side", "web-app", "web-worker"]
    assert [c.spec.restart_policy for c in web.containers] == [
        RestartPolicy.NO, RestartPolicy.ALWAYS, RestartPolicy.ON_FAILURE, RestartPolicy.ON_FAILURE]  # fmt: skip
    assert all(c.spec.pod == "web" for c in web.containers)


def test_command_args_and_expansion(web: KubePod) -> None:
    setup = ctr(web, "setup").spec
    # `command` alone replaces the entrypoint and drops the image's CMD; $$ escapes.
    assert setup.entrypoint == ("sh", "-c", "echo hello > /work/hello; echo $(GREETING)")
    assert setup.command == ()
    app = ctr(web, "app").spec
    assert app.entrypoint == ("/bin/app",)
    assert app.command == ("--name=web", f"--ip={placeholder('status.podIP')}",
                           "--unknown=$(NOPE)", "--cost=$5")  # fmt: skip
    worker = ctr(web, "worker").spec
    assert worker.entrypoint is None and worker.command == ("sh", "-c", "sleep 1000")
    assert app.workdir == "/srv"
    assert (app.pull, worker.pull) == ("always", "missing")
    assert (app.tty, app.interactive) == (True, True)


def test_env_sources(web: KubePod) -> None:
    env = ctr(web, "app").spec.env_dict
    assert list(env)[:6] == ["CFG_GREETING", "CFG_LEVEL", "CFG_index.html", "password", "token",
                             "LEVEL"]  # fmt: skip
    assert "CFG_blob.bin" not in env  # binaryData is never env
    assert "CFG_bad-key!" not in env  # not a variable name: skipped with a warning
    assert env["CFG_GREETING"] == "hello" and env["CFG_index.html"] == "<h1>hi</h1>\n"
    assert env["password"] == "s3cr3t" and env["token"] == "plain-token"
    assert env["LEVEL"] == "info"  # env overrides envFrom
    assert env["MSG"] == "info-hello"  # $(VAR) of earlier variables
    assert env["POD_NAME"] == "web" and env["POD_NS"] == "shop"
    assert env["POD_TIER"] == "front" and env["POD_NOTE"] == "x"
    assert env["POD_UID"] == placeholder("metadata.uid")
    assert env["NODE"] == placeholder("spec.nodeName")
    assert env["POD_IP"] == placeholder("status.podIP")
    assert env["MEM_MI"] == "128"  # 128Mi / 1Mi
    assert env["CPU"] == "1"  # 500m rounded up to whole cores
    assert env["SIDE_CPU_REQ"] == "0"
    assert env["PASSWORD"] == "s3cr3t"
    assert "OPTIONAL_MISSING" not in env


def test_mounts(web: KubePod) -> None:
    app = ctr(web, "app").spec
    assert app.mounts == (
        Mount(MountType.VOLUME, "/work", "web-work", read_only=True),
        Mount(MountType.VOLUME, "/etc/app", "web-config", read_only=True),
        Mount(MountType.VOLUME, "/var/www/index.html", "web-config", read_only=True,
              options=("subpath=index.html",)),
        Mount(MountType.VOLUME, "/run/secrets/app", "web-secret", read_only=True),
        Mount(MountType.VOLUME, "/etc/podinfo", "web-info", read_only=True),
        Mount(MountType.BIND, "/host", "/var/lib/web"),
        Mount(MountType.BIND, "/host-logs", "/var/lib/web/logs"),
        Mount(MountType.VOLUME, "/data", "data"),
        Mount(MountType.VOLUME, "/cache", "web-cache"),
    )  # fmt: skip
    # The same emptyDir is shared by the init container.
    assert ctr(web, "setup").spec.mounts == (Mount(MountType.VOLUME, "/work", "web-work"),)


def test_volumes(web: KubePod) -> None:
    vols = {v.name: v for v in web.volumes}
    assert vols["work"].kind == VolumeKind.EMPTY_DIR and vols["work"].ephemeral
    assert (vols["cache"].medium, vols["cache"].size_limit) == ("Memory", "64Mi")
    host = vols["host"]
    assert (host.kind, host.host_path, host.host_path_type) == (
        VolumeKind.HOST_PATH, "/var/lib/web", HostPathType.DIRECTORY_OR_CREATE)  # fmt: skip
    assert not host.ephemeral and not vols["data"].ephemeral
    cfg = vols["config"]
    assert [(f.path, f.content, f.mode) for f in cfg.files] == [
        ("index.html", b"<h1>hi</h1>\n", 0o644), ("conf/level", b"debug", 0o600)]  # fmt: skip
    sec = vols["secret"]
    assert [(f.path, f.content, f.mode) for f in sec.files] == [
        ("password", b"s3cr3t", 0o400), ("token", b"plain-token", 0o400)]  # fmt: skip
    info = {f.path: f.content for f in vols["info"].files}
    assert info == {"labels": b'app="web"\ntier="front"', "name": b"web",
                    "uid": placeholder("metadata.uid").encode(), "mem": b"128"}  # fmt: skip


def test_named_volumes_from_claims() -> None:
    plan = fixture_plan("all_fields.yaml")
    (data,) = plan.volumes
    assert (data.name, data.driver, data.options, data.declared) == (
        "data", "local", (("uid", "1000"),), True)  # fmt: skip
    assert data.labels == (("tier", "storage"),)
    undeclared = plan_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: i, volumeMounts: [{name: v, mountPath: /v}]}]
          volumes: [{name: v, persistentVolumeClaim: {claimName: other, readOnly: true}}]
        """)
    assert [(v.name, v.declared) for v in undeclared.volumes] == [("other", False)]
    mount = undeclared.pods[0].containers[0].spec.mounts[0]
    assert (mount.source, mount.read_only) == ("other", True)


def test_resources_and_security(web: KubePod) -> None:
    app = ctr(web, "app").spec
    assert (app.memory, app.cpus) == (128 * 2**20, 0.5)
    assert app.user == "1001:1000"  # container runAsUser, pod runAsGroup
    assert (app.cap_add, app.cap_drop) == (("CAP_NET_ADMIN",), ("ALL",))
    assert app.read_only and not app.privileged
    assert app.security_opt == ("no-new-privileges",)
    worker = ctr(web, "worker").spec
    assert worker.privileged and worker.user == "1000:2000"
    assert app.stop_signal == "SIGINT"


def test_probes(web: KubePod) -> None:
    app = ctr(web, "app")
    live, ready, startup = app.probes
    assert (live.kind, live.action, live.port, live.path) == (
        ProbeKind.LIVENESS, ProbeAction.HTTP, 8080, "/healthz")  # named port "http"  # fmt: skip
    assert (live.initial_delay, live.period, live.failure_threshold, live.timeout) == (3, 5, 2, 1)
    assert live.test[0] == "CMD-SHELL" and "http://localhost:8080/healthz" in live.test[1]
    assert live.on_failure == "restart"
    assert (ready.kind, ready.action, ready.port) == (ProbeKind.READINESS, ProbeAction.TCP, 8080)
    assert ready.test == ("CMD-SHELL", "nc -z localhost 8080 </dev/null")
    assert ready.on_failure == "none"
    assert startup.test == ("CMD", "cat", "/tmp/ready") and startup.timeout == 4
    assert app.healthcheck is live


def test_autoupdate_annotations(web: KubePod) -> None:
    assert ctr(web, "app").spec.label_dict["io.containers.autoupdate"] == "registry"
    assert ctr(web, "side").spec.label_dict["io.containers.autoupdate"] == "local"
    assert ("note", "x") in ctr(web, "app").spec.annotations


def test_warnings_of_all_fields() -> None:
    assert messages(fixture_plan("all_fields.yaml")) == [
        "all_fields.yaml:89:7: spec.containers[0].envFrom[0]: ConfigMap 'app-config' key "
        "'bad-key!' is not a valid variable name; skipped",
        "all_fields.yaml:135:16: spec.containers[0].resources.limits.cpu: the cpu limit cannot "
        "be enforced here (no rootless cgroup controllers); the container runs without it",
        "all_fields.yaml:135:27: spec.containers[0].resources.limits.memory: the memory limit "
        "cannot be enforced here (no rootless cgroup controllers); the container runs without it",
    ]
    enforced = load_and_translate(FIXTURES / "all_fields.yaml", cgroup_limits=True)
    assert not [w for w in enforced.warnings if "cannot be enforced" in w.message]
    assert enforced.warnings[0].file == str(FIXTURES / "all_fields.yaml")


def test_controllers() -> None:
    plan = fixture_plan("deployment.yaml")
    assert [(p.name, p.kind, p.source_name, p.job) for p in plan.pods] == [
        ("frontend-pod", "Deployment", "frontend", False),
        ("agent-pod", "DaemonSet", "agent", False),
        ("migrate-pod", "Job", "migrate", True),
    ]
    dep, _, job = plan.pods
    assert dep.replicas == 3
    assert [c.spec.name for c in dep.containers] == ["frontend-pod-nginx"]
    assert dep.spec.restart_policy == RestartPolicy.ALWAYS
    assert dep.containers[0].spec.label_dict == {"io.containers.autoupdate": "registry"}
    assert job.spec.restart_policy == RestartPolicy.NO
    assert plan.skipped == (("Service", "frontend"),)
    f = "deployment.yaml"
    assert messages(plan) == [
        f"{f}:7:3: spec.replicas: replicas is 3: podctl runs one pod",
        f"{f}:10:3: spec.strategy: strategy has no effect on a single machine; ignored",
        f"{f}:35:3: spec.backoffLimit: backoffLimit is not supported; the pod runs once",
        f"{f}:42:1: kind: kind 'Service' is not supported by podctl; document skipped",
    ]


def test_unsupported_fields_warn_with_path() -> None:
    plan = plan_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p, generateName: x-}
        spec:
          nodeSelector: {disk: ssd}
          hostIPC: true
          containers:
          - name: c
            image: i
            lifecycle: {preStop: {exec: {command: [x]}}}
            livenessProbe: {grpc: {port: 9}}
            resources: {limits: {nvidia.com/gpu: 1}}
            futureField: 1
            volumeMounts: [{name: v, mountPath: /v, mountPropagation: Bidirectional}]
          volumes:
          - {name: v, emptyDir: {}}
          - {name: n, nfs: {server: s, path: /}}
        """)
    assert messages(plan) == [
        "t.yaml:3:21: metadata.generateName: generateName is not supported; set metadata.name",
        "t.yaml:5:3: spec.nodeSelector: nodeSelector has no effect on a single machine; ignored",
        "t.yaml:6:3: spec.hostIPC: not supported by podctl; ignored",
        "t.yaml:10:17: spec.containers[0].lifecycle.preStop: preStop hooks are not supported; "
        "ignored",
        "t.yaml:11:21: spec.containers[0].livenessProbe.grpc: grpc probes are not supported; "
        "the probe is ignored",
        "t.yaml:12:26: spec.containers[0].resources.limits.nvidia.com/gpu: resource "
        "'nvidia.com/gpu' is not supported; ignored",
        "t.yaml:13:5: spec.containers[0].futureField: field not supported; ignored",
        "t.yaml:14:45: spec.containers[0].volumeMounts[0].mountPropagation: mountPropagation "
        "'Bidirectional' is not supported; ignored",
        "t.yaml:17:15: spec.volumes[1].nfs: volume type 'nfs' is not supported; mounting it is "
        "an error",
    ]
    assert plan.pods[0].containers[0].probes == ()


def test_configmap_files_and_multi_doc_references(tmp_path: Path) -> None:
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ext}\ndata: {K: from-file}\n")
    pod = tmp_path / "pod.yaml"
    pod.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: i
            env: [{name: K, valueFrom: {configMapKeyRef: {name: ext, key: K}}}]
            volumeMounts: [{name: v, mountPath: /etc/ext}]
          volumes: [{name: v, configMap: {name: ext}}]
        """))
    plan = load_and_translate(pod, configmaps=[cm], options=OPTS)
    c = plan.pods[0].containers[0]
    assert c.spec.env_dict == {"K": "from-file"}
    assert plan.pods[0].volumes[0].files[0].content == b"from-file"
    with pytest.raises(InvalidSpec, match="ConfigMap 'ext' not found"):
        load_and_translate(pod, options=OPTS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    with pytest.raises(InvalidSpec, match="may only hold ConfigMaps, found 'Secret'"):
        load_and_translate(pod, configmaps=[bad], options=OPTS)


def test_optional_references() -> None:
    plan = plan_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: i
            envFrom: [{secretRef: {name: nope, optional: true}}]
            env: [{name: A, valueFrom: {secretKeyRef: {name: nope, key: k, optional: true}}}]
            volumeMounts: [{name: v, mountPath: /v}]
          volumes: [{name: v, secret: {secretName: nope, optional: true}}]
        """)
    pod = plan.pods[0]
    assert pod.containers[0].spec.env == ()
    assert pod.volumes[0].files == ()


def test_publish_overrides_and_adds() -> None:
    text = """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: i
            ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 53, protocol: UDP}]
        """
    plan = plan_of(text, options=TranslateOptions(
        publish=("127.0.0.1:9090:80", "5353:53/udp", "7000"), node_cpus=1, node_memory=1))  # fmt: skip
    assert plan.pods[0].spec.ports == (
        PortMapping(80, 9090, "tcp", "127.0.0.1"),
        PortMapping(53, 5353, "udp", ""),
        PortMapping(7000, 0, "tcp", ""),  # no host port: a free one, as with `run -p 7000`
    )
    with pytest.raises(InvalidSpec, match="expected"):
        plan_of(text, options=TranslateOptions(publish=("x:80",)))
    with pytest.raises(InvalidSpec, match="'1.2.3.999' is not an IP address"):
        plan_of(text, options=TranslateOptions(publish=("1.2.3.999:80:80",)))
    with pytest.raises(InvalidSpec, match="port 70000 is out of range"):
        plan_of(text, options=TranslateOptions(publish=("70000:80",)))


def test_host_network_and_job_restart() -> None:
    plan = plan_of("""\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          template:
            spec:
              hostNetwork: true
              restartPolicy: OnFailure
              containers: [{name: c, image: i}]
        """)
    pod = plan.pods[0]
    assert pod.spec.network == "host" and pod.job
    assert pod.containers[0].spec.restart_policy == RestartPolicy.ON_FAILURE


def test_resolve_runtime(web: KubePod) -> None:
    plan = KubePlan(pods=(web,))
    assert plan.runtime_fields() == {"metadata.uid", "spec.nodeName", "status.podIP"}
    done = plan.resolve_runtime("web", {"status.podIP": "10.0.2.100", "spec.nodeName": "node1",
                                        "metadata.uid": "abc123"})  # fmt: skip
    app = ctr(done.pods[0], "app").spec
    assert app.env_dict["POD_IP"] == "10.0.2.100" and app.env_dict["NODE"] == "node1"
    assert "--ip=10.0.2.100" in (app.command or ())
    info = next(v for v in done.pods[0].volumes if v.name == "info")
    assert {f.path: f.content for f in info.files}["uid"] == b"abc123"
    assert done.pods[0].spec.containers[2] == app
    assert not done.runtime_fields()


def test_run_as_group_alone_and_pod_security_opts() -> None:
    plan = plan_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          securityContext:
            seccompProfile: {type: Unconfined}
            seLinuxOptions: {type: spc_t}
          containers:
          - name: c
            image: i
            securityContext: {runAsGroup: 7}
        """)
    c = plan.pods[0].containers[0]
    assert c.spec.user is None and c.group == 7
    assert c.spec.security_opt == ("label=type:spc_t", "seccomp=unconfined")


def test_empty_dir_without_value_and_hostpath_types() -> None:
    plan = plan_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: i}]
          volumes:
          - name: e
            emptyDir:
          - {name: s, hostPath: {path: /run/x.sock, type: Socket}}
          - {name: f, hostPath: {path: /etc/f, type: FileOrCreate}}
        """)
    kinds = [(v.kind, v.host_path_type) for v in plan.pods[0].volumes]
    assert kinds == [(VolumeKind.EMPTY_DIR, HostPathType.ANY),
                     (VolumeKind.HOST_PATH, HostPathType.SOCKET),
                     (VolumeKind.HOST_PATH, HostPathType.FILE_OR_CREATE)]  # fmt: skip


def test_only_unsupported_kinds_is_not_an_error() -> None:
    plan = plan_of("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    assert plan.pods == () and plan.skipped == (("Service", "s"),)


def test_projected_volume() -> None:
    plan = fixture_plan("projected.yaml")
    assert messages(plan) == [
        "projected.yaml:27:9: spec.volumes[0].projected.sources[3].serviceAccountToken: "
        "projected serviceAccountToken sources are not supported; skipped",
    ]
    (vol,) = plan.pods[0].volumes
    assert vol.kind == VolumeKind.PROJECTED and vol.ephemeral
    assert [(f.path, f.content, f.mode) for f in vol.files] == [
        ("cm/a", b"1", 0o440), ("token", b"t0k", 0o440), ("labels", b'x="y"', 0o440)]  # fmt: skip
    assert [s.kind for s in vol.sources] == [
        VolumeKind.CONFIG_MAP, VolumeKind.SECRET, VolumeKind.DOWNWARD_API]  # fmt: skip
    mount = plan.pods[0].containers[0].spec.mounts[0]
    assert (mount.source, mount.read_only) == ("p-all", True)


def test_kubectl_get_output_plays_quietly() -> None:
    plan = fixture_plan("kubectl_get.yaml")
    assert messages(plan) == []
    c = plan.pods[0].containers[0].spec
    # An empty `command` is no command: the image's entrypoint stays.
    assert (c.entrypoint, c.command) == (None, ("echo", "hi"))
    assert plan.pods[0].spec.restart_policy == RestartPolicy.NO


def test_down_targets() -> None:
    plan = fixture_plan("all_fields.yaml")
    down = plan.down_targets()
    assert down.pods == ("web",)
    assert down.ephemeral_volumes == ("web-work", "web-cache", "web-config", "web-secret",
                                      "web-info")  # fmt: skip
    assert down.claim_volumes == ("data",)


def test_importing_the_api_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, podctl.kube, podctl.kube.translate, podctl.kube.generate; "
            "print(sorted(m for m in ('yaml', 'jinja2', 'kubernetes_validate') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
