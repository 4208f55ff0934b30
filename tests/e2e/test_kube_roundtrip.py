"""kube generate from real pods: YAML a Kubernetes API server accepts, and a round trip
(generate, down, play the generated file) gives a pod that behaves the same."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from harness import BUSYBOX, Podctl
from kube_helpers import FIELDS, assert_nothing, check_fields, free_port, http_get, manifest

pytestmark = pytest.mark.e2e


def validate(text: str) -> list[dict[str, Any]]:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is missing: /opt/podctl/venv/bin/pip install "
                    "kubernetes-validate (scripts/host-setup installs it)")  # fmt: skip
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for version in ("1.30", "1.33", "1.35"):
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
    return docs


def test_generate_down_play_round_trip(podctl: Podctl, registry: str) -> None:
    port = free_port()
    path = manifest(podctl, "fields.yaml", FIELDS.replace("HOSTPORT", str(port)))
    assert podctl.run("kube", "play", path).returncode == 0

    text = podctl.ok("kube", "generate", "fields")
    docs = validate(text)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "ConfigMap", "Pod", "Secret"], kinds
    pod = next(d for d in docs if d["kind"] == "Pod")
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["init-a", "init-b", "side"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app", "reader"]
    app = pod["spec"]["containers"][0]
    assert app["livenessProbe"]["httpGet"]["port"] == 8080 and app["livenessProbe"]["periodSeconds"] == 5
    assert app["ports"] == [{"containerPort": 8080, "name": "http", "hostPort": port, "protocol": "TCP"}]
    side = pod["spec"]["initContainers"][2]
    assert side["restartPolicy"] == "Always" and side["securityContext"] == {"runAsGroup": 1234}
    assert not any(k.startswith("io.podctl") for k in pod["metadata"].get("labels", {}))
    validate(podctl.ok("kube", "generate", "--type", "deployment", "--service", "fields"))

    # The alias, writing a file; an existing file is not overwritten.
    out = podctl.root / "kube-generated.yaml"
    podctl.ok("generate", "kube", "-f", str(out), "fields")
    assert out.read_text() == text
    assert podctl.run("generate", "kube", "-f", str(out), "fields").returncode == 125

    # Down, then play what was generated: the pod behaves the same.
    assert podctl.run("kube", "down", path).returncode == 0
    assert_nothing(podctl)
    p = podctl.run("kube", "play", str(out))
    assert p.returncode == 0, p.stderr
    assert http_get(port, "/order").split() == ["a", "b", "side", "app"]
    check_fields(podctl, p.stdout.splitlines()[1])
    assert podctl.run("kube", "down", str(out)).returncode == 0
    assert_nothing(podctl)


def test_generate_containers_and_volumes(podctl: Podctl, registry: str) -> None:
    podctl.ok("volume", "create", "--label", "k=v", "keep")
    podctl.ok("create", "--name", "solo", "-e", "A=1", "-v", "keep:/data", "-p", "8080:80",
              "-w", "/tmp", BUSYBOX, "sleep", "1000")  # fmt: skip
    docs = validate(podctl.ok("kube", "generate", "solo", "keep"))
    assert [d["kind"] for d in docs] == ["PersistentVolumeClaim", "Pod"]
    ctr = docs[1]["spec"]["containers"][0]
    assert ctr["args"] == ["sleep", "1000"] and ctr["workingDir"] == "/tmp"
    assert {"name": "A", "value": "1"} in ctr["env"]
    assert ctr["ports"][0]["hostPort"] == 8080
    assert docs[1]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "keep"
    bad = podctl.run("kube", "generate", "nothing-here")
    assert bad.returncode == 125 and "nothing-here" in bad.stderr
