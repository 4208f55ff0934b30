"""kube play for real: every supported field, observed inside the running containers."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Podctl
from kube_helpers import (
    FIELDS,
    assert_nothing,
    check_fields,
    free_port,
    http_get,
    manifest,
    wait_for,
)

pytestmark = pytest.mark.e2e


def test_every_field_inside_the_containers(podctl: Podctl, registry: str) -> None:
    port = free_port()
    path = manifest(podctl, "fields.yaml", FIELDS.replace("HOSTPORT", str(port)))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "Pod:" and len(lines[1]) == 64
    pod_id = lines[1]
    assert lines[2] == "Containers:" and len(lines[3:6]) == 3
    assert lines[6] == "Init Containers:" and len(lines[7:9]) == 2
    # Init containers ran in order, before the sidecar, and are gone; the rest run.
    names = sorted(podctl.ok("ps", "--format", "{{.Names}}").split())
    assert [n for n in names if not n.endswith("-infra")] == ["fields-app", "fields-reader", "fields-side"]
    assert podctl.ok("ps", "-a", "-q").count("\n") == 4

    # hostPort answers on loopback; the init containers ran in order, then the sidecar, then the app.
    assert http_get(port, "/order").split() == ["a", "b", "side", "app"]

    check_fields(podctl, pod_id)

    # Everything goes with down.
    down = podctl.run("kube", "down", path)
    assert down.returncode == 0 and pod_id in down.stdout, down.stderr
    assert_nothing(podctl)


JOB = """
    apiVersion: batch/v1
    kind: Job
    metadata: {name: batch}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: work
            image: BUSYBOX
            command: [sh, -c, 'echo working; exit 3']
    """

FAILING_INIT = """
    apiVersion: v1
    kind: Pod
    metadata: {name: fine}
    spec:
      containers: [{name: a, image: BUSYBOX, command: [sleep, "1000"]}]
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: claimed}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: broken}
    spec:
      initContainers:
      - {name: ok, image: BUSYBOX, command: ["true"]}
      - {name: fails, image: BUSYBOX, command: [sh, -c, 'exit 7']}
      containers:
      - {name: app, image: BUSYBOX, command: [sleep, "1000"], volumeMounts: [{name: d, mountPath: /d}]}
      volumes: [{name: d, emptyDir: {}}]
    """


def test_job_records_exit_code_and_failing_init_leaves_nothing(podctl: Podctl, registry: str) -> None:
    path = manifest(podctl, "job.yaml", JOB)
    p = podctl.run("kube", "play", "-", input=Path(path).read_text())  # from stdin
    assert p.returncode == 0, p.stderr
    assert "Job batch-pod: completed with exit code 3" in p.stderr
    ctr = podctl.json("inspect", "batch-pod-work")[0]
    assert ctr["State"]["ExitCode"] == 3 and ctr["State"]["Status"] == "exited"
    assert podctl.ok("logs", "batch-pod-work") == "working\n"
    assert podctl.run("kube", "down", "-", input=Path(path).read_text()).returncode == 0
    assert_nothing(podctl)

    # The second pod's init container fails: the first pod and the claim go too.
    path = manifest(podctl, "init.yaml", FAILING_INIT)
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125, p.stderr
    assert "init container fails exited with code 7" in p.stderr
    assert_nothing(podctl)


CM_FILE = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: external}
    data: {MODE: from-flag, motd: hi there}
    """

USES_CM = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: dep}
    spec:
      replicas: 2
      selector: {matchLabels: {app: dep}}
      template:
        metadata:
          labels: {app: dep}
          annotations: {io.containers.autoupdate/c: registry}
        spec:
          containers:
          - name: c
            image: BUSYBOX
            command: [sh, -c, 'echo $MODE; cat /etc/motd/motd; echo; exec sleep 1000']
            envFrom: [{configMapRef: {name: external}}]
            volumeMounts: [{name: m, mountPath: /etc/motd}]
            resources: {limits: {memory: 64Mi}}
          volumes: [{name: m, configMap: {name: external}}]
    """


def test_configmap_flag_deployment_and_warnings(podctl: Podctl, registry: str) -> None:
    cm = manifest(podctl, "cm.yaml", CM_FILE)
    path = manifest(podctl, "dep.yaml", USES_CM)
    missing = podctl.run("kube", "play", path)
    assert missing.returncode == 125 and "ConfigMap 'external' not found" in missing.stderr
    p = podctl.run("kube", "play", "--configmap", cm, path)
    assert p.returncode == 0, p.stderr
    # Warnings name FILE:LINE:COLUMN and the field; the pod still runs.
    assert f"WARNING: {path}:6:3: spec.replicas: replicas is 2" in p.stderr, p.stderr
    assert f"WARNING: {path}:19:30: spec.template.spec.containers[0].resources.limits.memory" in p.stderr
    assert wait_for(podctl, "dep-pod-c", "hi there") == "from-flag\nhi there\n"
    labels = podctl.json("inspect", "dep-pod-c")[0]["Config"]["Labels"]
    assert labels["io.containers.autoupdate"] == "registry"  # for `auto-update`
    # down needs no --configmap: it removes what play made.
    assert podctl.run("kube", "down", path).returncode == 0
    assert_nothing(podctl)
    # A --configmap file may only hold ConfigMaps.
    bad = podctl.run("kube", "play", "--configmap", path, path)
    assert bad.returncode == 125 and "--configmap files may only hold ConfigMaps" in bad.stderr
    assert_nothing(podctl)


HOST_NET = """
    apiVersion: v1
    kind: Pod
    metadata: {name: hn}
    spec:
      hostNetwork: true
      shareProcessNamespace: true
      containers:
      - {name: web, image: BUSYBOX, command: [httpd, -f, -p, "127.0.0.1:PORT", -h, /var/www]}
      - {name: peek, image: BUSYBOX, command: [sleep, "1000"], lifecycle: {stopSignal: SIGUSR1}}
    """


def test_host_network_and_shared_pids(podctl: Podctl, registry: str) -> None:
    port = free_port()
    path = manifest(podctl, "hn.yaml", HOST_NET.replace("PORT", str(port)))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 0, p.stderr
    assert "hello" in http_get(port)  # httpd listens on the host's own loopback
    procs = podctl.ok("exec", "hn-peek", "ps", "-o", "args")
    assert f"httpd -f -p 127.0.0.1:{port}" in procs  # the other container's process is visible
    assert podctl.json("inspect", "hn-peek")[0]["Config"]["StopSignal"] == "SIGUSR1"
    assert podctl.run("kube", "down", path).returncode == 0
    assert_nothing(podctl)
