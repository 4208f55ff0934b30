"""Invalid manifests: every problem of the whole input, each as FILE:LINE:COLUMN: path: message."""

from __future__ import annotations

import textwrap

import pytest

from podctl.errors import InvalidSpec
from podctl.kube import translate_text


def errors_of(text: str, file: str = "web.yaml") -> list[str]:
    with pytest.raises(InvalidSpec) as e:
        translate_text(textwrap.dedent(text), file)
    return str(e.value).splitlines()


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
"""


def container_with(extra: str) -> str:
    """POD with EXTRA (written at any indentation) added to its container."""
    return POD + textwrap.indent(textwrap.dedent(extra), "    ")


def pod_with(extra: str) -> str:
    return POD + textwrap.indent(textwrap.dedent(extra), "  ")


def test_wrong_type_names_position_and_path() -> None:
    assert errors_of(container_with("""\
        ports:
        - containerPort: eighty
    """)) == [
        'web.yaml:9:22: spec.containers[0].ports[0].containerPort: expected an integer, '
        'got "eighty"',
    ]


def test_all_errors_of_all_documents_are_reported() -> None:
    got = errors_of("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: one}
        spec:
          containers:
          - name: app
            image: busybox
            command: [sleep, 10]
            volumeMounts:
            - {name: missing, mountPath: /x}
            - {name: nfs, mountPath: relative}
            - {name: nfs, mountPath: /nfs}
          - name: app
            image: busybox
          - name: Bad_Name
          volumes:
          - {name: nfs, nfs: {server: s, path: /}}
          - {name: h, hostPath: {path: /x, type: Directoryy}}
        ---
        apiVersion: apps/v1
        kind: Pod
        metadata: {name: two}
        spec:
          containers: []
        ---
        - just a list
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: job}
        spec:
          template:
            spec:
              containers: [{name: c, image: i, tty: "yes"}]
        """)
    assert got == [
        "web.yaml:8:22: spec.containers[0].command[1]: expected a string, got 10 (quote it)",
        "web.yaml:10:14: spec.containers[0].volumeMounts[0].name: no volume named 'missing' in "
        "the pod's volumes",
        "web.yaml:11:30: spec.containers[0].volumeMounts[1].mountPath: must be an absolute path, "
        "got 'relative'",
        "web.yaml:12:14: spec.containers[0].volumeMounts[2].name: volume 'nfs' has type 'nfs', "
        "which podctl does not support",
        "web.yaml:13:11: spec.containers[1].name: duplicate container name 'app'",
        "web.yaml:15:5: spec.containers[2].image: required field is missing",
        "web.yaml:15:11: spec.containers[2].name: 'Bad_Name' is not a valid container name "
        "(lowercase letters, digits and '-', at most 63 characters)",
        "web.yaml:18:42: spec.volumes[1].hostPath.type: unknown hostPath type 'Directoryy'; "
        "expected one of DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, "
        "BlockDevice",
        "web.yaml:20:13: apiVersion: Pod needs apiVersion 'v1', got 'apps/v1'",
        "web.yaml:24:15: spec.containers: a pod needs at least one container",
        "web.yaml:26:1: a document must be a mapping with apiVersion and kind",
        "web.yaml:34:7: spec.template.spec.restartPolicy: a Job's pod needs restartPolicy Never "
        "or OnFailure",
        'web.yaml:34:45: spec.template.spec.containers[0].tty: expected a boolean (true or '
        'false), got "yes"',
    ]


def test_references_that_do_not_resolve() -> None:
    got = errors_of(container_with("""\
        env:
        - {name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: B, valueFrom: {fieldRef: {fieldPath: spec.containers}}}
        - {name: C, valueFrom: {configMapKeyRef: {name: nope, key: k}}}
        - {name: D, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}
        - {name: 1BAD, value: x}
        livenessProbe: {periodSeconds: 3}
        securityContext: {runAsNonRoot: true, runAsUser: 0}
    """))
    assert got == [
        "web.yaml:9:38: spec.containers[0].env[0].valueFrom: may not be set together with value",
        "web.yaml:10:51: spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: unsupported "
        "field 'spec.containers'; expected one of metadata.name, metadata.namespace, "
        "metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, "
        "status.podIP, status.podIPs, metadata.labels['KEY'], metadata.annotations['KEY']",
        "web.yaml:11:46: spec.containers[0].env[2].valueFrom.configMapKeyRef: ConfigMap 'nope' "
        "not found; define it (or pass --configmap FILE), or set optional: true",
        "web.yaml:12:58: spec.containers[0].env[3].valueFrom.resourceFieldRef.resource: "
        "unsupported resource 'limits.gpu'",
        "web.yaml:13:14: spec.containers[0].env[4].name: '1BAD' is not a valid environment "
        "variable name",
        "web.yaml:14:20: spec.containers[0].livenessProbe: exactly one of exec, httpGet and "
        "tcpSocket is required",
        "web.yaml:15:37: spec.containers[0].securityContext.runAsNonRoot: runAsNonRoot is true "
        "but runAsUser is 0",
    ]


def test_volume_errors() -> None:
    got = errors_of(pod_with("""\
      volumes:
      - {name: a, emptyDir: {}, hostPath: {path: /x}}
      - {name: b, configMap: {name: nope}}
      - {name: c, secret: {secretName: s, items: [{key: k, path: ../escape}]}}
      - {name: a, emptyDir: {}}
      - {name: d, hostPath: {path: relative}}
    """))
    assert got == [
        "web.yaml:9:5: spec.volumes[0]: exactly one volume source is required, found emptyDir, "
        "hostPath",
        "web.yaml:10:26: spec.volumes[1].configMap: ConfigMap 'nope' not found (define it in the "
        "file or pass --configmap FILE), or set optional: true",
        "web.yaml:11:23: spec.volumes[2].secret: Secret 's' not found (define it in the file or "
        "pass --configmap FILE), or set optional: true",
        "web.yaml:11:62: spec.volumes[2].secret.items[0].path: must be a relative path without "
        "'..', got '../escape'",
        "web.yaml:12:12: spec.volumes[3].name: duplicate volume name 'a'",
        "web.yaml:13:32: spec.volumes[4].hostPath.path: must be an absolute path, got 'relative'",
    ]


def test_duplicates_across_documents() -> None:
    two_pods = container_with("ports: [{containerPort: 80, hostPort: 8080}]\n")
    got = errors_of(two_pods + "---\n" + two_pods)
    assert got == [
        "web.yaml:12:18: metadata.name: duplicate pod name 'web'",
        "host port 8080/tcp is published twice in pod web",
    ]
    secrets = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: '!!notbase64'}\n"
    assert errors_of(secrets) == [
        "web.yaml:4:11: data.k: invalid base64 (use stringData for plain text)",
    ]


def test_bad_addresses_and_quantities() -> None:
    got = errors_of(container_with("""\
        ports: [{containerPort: 80, hostPort: 80, hostIP: localhost}]
        volumeMounts: [{name: e, mountPath: /e}]
        resources: {limits: {memory: lots}}
    """) + "  volumes: [{name: e, emptyDir: {sizeLimit: big}}]\n"
        "  hostAliases: [{ip: 10.0.0.300, hostnames: [x]}]\n")
    assert got == [
        "web.yaml:8:55: spec.containers[0].ports[0].hostIP: 'localhost' is not an IP address",
        'web.yaml:10:34: spec.containers[0].resources.limits.memory: expected a quantity (like '
        '500m, 2, 128Mi), got "lots"',
        "web.yaml:11:45: spec.volumes[0].emptyDir.sizeLimit: expected a quantity (like 64Mi), "
        "got 'big'",
        "web.yaml:12:22: spec.hostAliases[0].ip: '10.0.0.300' is not an IP address",
    ]


def test_same_host_port_twice_in_one_pod() -> None:
    got = errors_of(container_with("ports: [{containerPort: 80, hostPort: 80},"
                                   " {containerPort: 81, hostPort: 80}]\n"))  # fmt: skip
    assert got == ["host port 80/tcp is published twice in pod web"]


def test_missing_kind_and_name() -> None:
    assert errors_of("apiVersion: v1\nmetadata: {}\n", "x.yaml") == [
        "x.yaml:1:1: kind: required field is missing",
    ]
    assert errors_of("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {}\n", "x.yaml") == [
        "x.yaml:3:11: metadata.name: required field is missing",
        "x.yaml:4:7: spec.containers: a pod needs at least one container",
    ]
