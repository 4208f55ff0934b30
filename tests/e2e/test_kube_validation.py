"""kube play checks everything first: bad input names FILE:LINE:COLUMN and creates nothing."""

from __future__ import annotations

import pytest
from harness import Podctl
from kube_helpers import assert_nothing, manifest

pytestmark = pytest.mark.e2e

GOOD_POD = """
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: data}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: first}
    spec:
      containers:
      - name: app
        image: BUSYBOX
        command: [sleep, "60"]
        volumeMounts: [{name: d, mountPath: /d}, {name: e, mountPath: /e}]
        CTR_EXTRA
      volumes:
      - {name: d, persistentVolumeClaim: {claimName: data}}
      - {name: e, emptyDir: {}}
      VOL_EXTRA
    """


def good(ctr_extra: str = "", vol_extra: str = "") -> str:
    return GOOD_POD.replace("CTR_EXTRA", ctr_extra).replace("VOL_EXTRA", vol_extra)


def test_invalid_input_creates_nothing(podctl: Podctl, registry: str) -> None:
    # A valid pod first, then a document with a wrong type: the first one is not created.
    path = manifest(podctl, "bad-type.yaml", good() + """
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: second}
    spec:
      containers:
      - name: app
        image: BUSYBOX
        ports: [{containerPort: eighty}]
    """)
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125, p.stderr
    assert f"{path}:" in p.stderr and "spec.containers[0].ports[0].containerPort" in p.stderr
    assert f"{path}:29:29: spec.containers[0].ports[0].containerPort" in p.stderr  # the bad value
    assert_nothing(podctl)

    # Broken YAML, through stdin and through the alias.
    p = podctl.run("play", "kube", "-", input="apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n")
    assert p.returncode == 125 and "<stdin>:" in p.stderr, p.stderr
    assert_nothing(podctl)

    # A missing ConfigMap reference.
    path = manifest(podctl, "missing-cm.yaml", good("envFrom: [{configMapRef: {name: nowhere}}]"))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125 and "ConfigMap 'nowhere' not found" in p.stderr, p.stderr
    assert_nothing(podctl)

    # A hostPath of type Directory that does not exist is found before anything is made.
    path = manifest(podctl, "hostpath.yaml",
                    good(vol_extra="- {name: h, hostPath: {path: /nonexistent/dir, type: Directory}}"))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125 and "/nonexistent/dir: does not exist" in p.stderr, p.stderr
    assert_nothing(podctl)

    # An image that cannot be pulled: nothing is created either.
    path = manifest(podctl, "noimage.yaml", good().replace("BUSYBOX", "127.0.0.1:5000/nope:1"))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125 and "nope" in p.stderr, p.stderr
    assert_nothing(podctl)

    # A claim asking for a device mount (not possible rootless) is refused before anything.
    path = manifest(podctl, "device.yaml", good().replace(
        "metadata: {name: data}",
        "metadata: {name: data, annotations: {volume.podman.io/device: /dev/sda1}}", 1))
    p = podctl.run("kube", "play", path)
    assert p.returncode == 125 and "volume.podman.io/device is not supported" in p.stderr, p.stderr
    assert_nothing(podctl)

    # --build is refused; kube down of a file never played removes nothing and succeeds.
    assert podctl.run("kube", "play", "--build", path).returncode == 125
    assert podctl.run("kube", "down", path).returncode == 0
    assert_nothing(podctl)
