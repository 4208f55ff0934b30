"""kube down removes exactly what play created; --replace, --start=false, --publish."""

from __future__ import annotations

import pytest
from harness import BUSYBOX, Podctl
from kube_helpers import assert_nothing, free_port, http_get, manifest

pytestmark = pytest.mark.e2e

APP = """
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: cache}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: page}
    data: {index.html: VERSION}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: site}
    spec:
      replicas: 1
      selector: {matchLabels: {app: site}}
      template:
        metadata: {labels: {app: site}}
        spec:
          containers:
          - name: web
            image: BUSYBOX
            command: [sh, -c, 'cat /data/count 2>/dev/null; echo x >> /data/count; exec httpd -f -p 80 -h /www']
            ports: [{containerPort: 80, hostPort: HOSTPORT}]
            volumeMounts:
            - {name: data, mountPath: /data}
            - {name: cache, mountPath: /cache}
            - {name: page, mountPath: /www}
            - {name: tmp, mountPath: /tmp}
          volumes:
          - {name: data, persistentVolumeClaim: {claimName: data}}
          - {name: cache, persistentVolumeClaim: {claimName: cache}}
          - {name: page, configMap: {name: page}}
          - {name: tmp, emptyDir: {}}
    """


def _volumes(podctl: Podctl) -> list[str]:
    return sorted(podctl.ok("volume", "ls", "-q").split())


def test_down_removes_exactly_what_play_created(podctl: Podctl, registry: str) -> None:
    # Things that exist before: a volume the file claims, a container, a pod of our own.
    podctl.ok("volume", "create", "data")
    podctl.ok("create", "--name", "bystander", BUSYBOX, "true")
    podctl.ok("pod", "create", "--name", "other")
    before_ctrs = sorted(podctl.ok("ps", "-a", "-q", "--no-trunc").split())
    port = free_port()
    path = manifest(podctl, "site.yaml", APP.replace("HOSTPORT", str(port)).replace("VERSION", "one"))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 0, p.stderr
    # Only the claim play made is listed; the existing one is reused.
    assert p.stdout.rstrip().endswith("Volume:\ncache"), p.stdout
    assert http_get(port) == "one"
    assert _volumes(podctl) == ["cache", "data", "site-pod-page", "site-pod-tmp"]
    assert podctl.ok("pod", "ps", "--format", "{{.Name}}").split() == ["site-pod", "other"]

    down = podctl.run("kube", "down", path)
    assert down.returncode == 0, down.stderr
    assert "Pods removed:" in down.stdout
    assert _volumes(podctl) == ["cache", "data"]  # the claims stay without --force
    assert podctl.ok("pod", "ps", "--format", "{{.Name}}").split() == ["other"]
    assert sorted(podctl.ok("ps", "-a", "-q", "--no-trunc").split()) == before_ctrs

    # Played again, the claim keeps its data; --force then removes only the claim play made.
    assert podctl.run("kube", "play", path).returncode == 0
    assert podctl.ok("logs", "site-pod-web") == "x\n"
    down = podctl.run("play", "kube", "--down", "--force", path)
    assert down.returncode == 0 and "Volumes removed:\ncache" in down.stdout, down.stdout
    assert _volumes(podctl) == ["data"]
    assert sorted(podctl.ok("ps", "-a", "-q", "--no-trunc").split()) == before_ctrs

    # A pod of that name that play did not make is left alone (and said so).
    podctl.ok("pod", "create", "--name", "site-pod")
    down = podctl.run("kube", "down", path)
    assert down.returncode == 125 and "was not created by kube play" in down.stderr
    assert "site-pod" in podctl.ok("pod", "ps", "--format", "{{.Name}}").split()


def test_replace_start_false_and_publish(podctl: Podctl, registry: str) -> None:
    port = free_port()
    text = APP.replace("HOSTPORT", str(port))
    path = manifest(podctl, "site.yaml", text.replace("VERSION", "one"))
    first = podctl.run("kube", "play", path)
    assert first.returncode == 0, first.stderr
    pod_id = first.stdout.splitlines()[1]
    assert http_get(port) == "one"

    # Playing again without --replace fails and changes nothing.
    again = podctl.run("kube", "play", path)
    assert again.returncode == 125 and "already exists" in again.stderr
    assert podctl.ok("pod", "inspect", "--format", "{{.Id}}", "site-pod").strip() == pod_id
    assert http_get(port) == "one"

    # --replace: a new pod with the new content; the claim's data is kept.
    path2 = manifest(podctl, "site2.yaml", text.replace("VERSION", "two"))
    second = podctl.run("kube", "play", "--replace", path2)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1] != pod_id
    assert http_get(port) == "two"
    assert podctl.ok("logs", "site-pod-web") == "x\n"

    # --start=false only creates; --publish moves the host port.
    other = free_port()
    third = podctl.run("kube", "play", "--replace", "--start=false", "--publish", f"{other}:80", path)
    assert third.returncode == 0, third.stderr
    state = podctl.json("inspect", "site-pod-web")[0]["State"]
    assert state["Status"] == "created", state
    podctl.ok("pod", "start", "site-pod")
    assert http_get(other) == "one"
    # Both claims were made by play here, so --force removes both.
    assert podctl.run("kube", "down", "--force", path).returncode == 0
    assert_nothing(podctl)
