"""Helpers for the kube e2e tests: write manifests the test user can read, check emptiness."""

from __future__ import annotations

import os
import socket
import textwrap
import time

from harness import BUSYBOX, Podctl


def manifest(podctl: Podctl, name: str, text: str) -> str:
    """Write TEXT (dedented; `BUSYBOX` replaced by the test image) where the user can read it."""
    path = podctl.root / f"kube-{name}"  # removed with the storage root by cleanup
    path.write_text(textwrap.dedent(text).replace("BUSYBOX", BUSYBOX))
    path.chmod(0o644)
    if podctl.user.drop:
        os.chown(path, podctl.user.uid, podctl.user.gid)
    return str(path)


def httpd_pod(podctl: Podctl, name: str, port: int) -> str:
    """A one-container pod NAME (busybox httpd on 80) publishing hostPort PORT: its file."""
    return manifest(podctl, f"{name}.yaml", f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          containers:
          - name: web
            image: BUSYBOX
            command: [httpd, -f, -p, "80", -h, /var/www]
            ports: [{{containerPort: 80, hostPort: {port}}}]
        """)  # fmt: skip


def assert_nothing(podctl: Podctl) -> None:
    """No container, pod or volume exists."""
    assert podctl.ok("ps", "-a", "-q") == ""
    assert podctl.ok("pod", "ps", "-q") == ""
    assert podctl.ok("volume", "ls", "-q") == ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str = "/", timeout: float = 15) -> str:
    """GET http://127.0.0.1:PORT/PATH, retrying until the server answers."""
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return str(r.read().decode())
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise AssertionError(f"nothing answers on 127.0.0.1:{port}{path}: {last}")


def published_pod_serves(podctl: Podctl, runtime: str, name: str = "web") -> None:
    """With --runtime RUNTIME: pod NAME publishing a free port, a busybox httpd member that
    answers through it, then `pod rm -f NAME`."""
    port = free_port()
    podctl.ok("--runtime", runtime, "pod", "create", "--name", name, "-p", f"127.0.0.1:{port}:80")
    podctl.ok("--runtime", runtime, "run", "-d", "--pod", name, "--stop-signal", "KILL", BUSYBOX,
              "httpd", "-f", "-p", "80", "-h", "/var/www")  # fmt: skip
    assert http_get(port)
    podctl.ok("--runtime", runtime, "pod", "rm", "-f", name)


def wait_for(podctl: Podctl, ctr: str, text: str, timeout: float = 15) -> str:
    """The logs of CTR once they contain TEXT."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = podctl.run("logs", ctr).stdout
        if text in out:
            return out
        time.sleep(0.1)
    raise AssertionError(f"{ctr} never logged {text!r}; logs: {out!r}")




FIELDS = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app-config}
    data:
      greeting: hello
      app.conf: |
        port=8080
      other: not-mounted
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: creds}
    stringData: {password: s3cret}
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: fields
      labels: {tier: web}
    spec:
      hostname: fieldhost
      terminationGracePeriodSeconds: 5
      hostAliases:
      - {ip: 10.1.2.3, hostnames: [alias.example]}
      dnsConfig:
        searches: [example.test]
        options: [{name: ndots, value: "2"}]
      initContainers:
      - name: init-a
        image: BUSYBOX
        command: [sh, -c, 'echo a >> /work/order']
        volumeMounts: [{name: work, mountPath: /work}]
      - name: init-b
        image: BUSYBOX
        command: [sh, -c, 'grep -q a /work/order && echo b >> /work/order']
        volumeMounts: [{name: work, mountPath: /work}]
      - name: side
        image: BUSYBOX
        restartPolicy: Always
        securityContext: {runAsGroup: 1234}
        command: [sh, -c, 'echo side >> /work/order; exec sleep 1000']
        volumeMounts: [{name: work, mountPath: /work}]
      containers:
      - name: app
        image: BUSYBOX
        command: [sh, -c]
        args: ['sleep 0.3; echo app >> /work/order; exec httpd -f -p 8080 -h /work']
        workingDir: /tmp
        env:
        - {name: PLAIN, value: plain}
        - {name: EXPANDED, value: "$(PLAIN)-x $$(PLAIN)"}
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: creds, key: password}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NS
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - name: TIER
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
        - name: POD_UID
          valueFrom: {fieldRef: {fieldPath: metadata.uid}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: CPUS
          valueFrom: {resourceFieldRef: {resource: limits.cpu}}
        envFrom:
        - {prefix: CM_, configMapRef: {name: app-config}}
        ports:
        - {name: http, containerPort: 8080, hostPort: HOSTPORT}
        livenessProbe:
          httpGet: {path: /order, port: http}
          periodSeconds: 5
        volumeMounts:
        - {name: work, mountPath: /work}
        - {name: config, mountPath: /etc/app}
        - {name: secret, mountPath: /etc/secret}
        - {name: info, mountPath: /etc/podinfo}
        - {name: config, mountPath: /etc/single.conf, subPath: conf/app.conf}
      - name: reader
        image: BUSYBOX
        securityContext:
          runAsUser: 1000
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
        command: [sleep, "1000"]
        volumeMounts: [{name: work, mountPath: /shared}, {name: mem, mountPath: /mem}]
      volumes:
      - {name: work, emptyDir: {}}
      - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
      - name: config
        configMap:
          name: app-config
          defaultMode: 0640
          items:
          - {key: app.conf, path: conf/app.conf}
          - {key: greeting, path: greeting, mode: 0400}
      - {name: secret, secret: {secretName: creds, defaultMode: 0600}}
      - name: info
        downwardAPI:
          items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
          - {path: name, fieldRef: {fieldPath: metadata.name}}
    """


def _sh(podctl: Podctl, ctr: str, script: str) -> str:
    return podctl.ok("exec", ctr, "sh", "-c", script)


def check_fields(podctl: Podctl, pod_id: str) -> None:
    """What the FIELDS pod (named `fields`) shows inside its containers."""
    env = _sh(podctl, "fields-app", "echo $PLAIN/$EXPANDED/$GREETING/$PASSWORD/$POD_NAME/$POD_NS/"
                                    "$TIER/$CM_greeting/$POD_UID/$PWD")  # fmt: skip
    assert env.strip() == f"plain/plain-x $(PLAIN)/hello/s3cret/fields/default/web/hello/{pod_id}//tmp"

    # Run-time downward API values: the pod's address, the node, the CPUs (no limit: the node's).
    ip, node, cpus = _sh(podctl, "fields-app", "echo $POD_IP $NODE $CPUS").split()
    assert f"inet {ip}/" in _sh(podctl, "fields-app", "ip -4 addr show")
    assert (node, int(cpus)) == (socket.gethostname(), os.cpu_count())

    # configMap items with their modes (defaultMode for the rest); a key not listed is absent.
    files = _sh(podctl, "fields-app", "cd /etc/app; cat conf/app.conf greeting; echo; stat -c '%a %n' "
                                      "conf/app.conf greeting; ls other 2>&1; cat /etc/single.conf")  # fmt: skip
    assert files.splitlines()[:4] == ["port=8080", "hello", "640 conf/app.conf", "400 greeting"]
    assert "No such file" in files.splitlines()[4] and files.splitlines()[5] == "port=8080"
    assert _sh(podctl, "fields-app", "cat /etc/secret/password; stat -c %a /etc/secret/password") == "s3cret600\n"
    assert _sh(podctl, "fields-app", "touch /etc/app/x 2>&1 || echo read-only").endswith("read-only\n")
    info = _sh(podctl, "fields-app", "cat /etc/podinfo/labels; echo; cat /etc/podinfo/name")
    assert 'tier="web"' in info and info.endswith("fields")

    # The emptyDir is shared by the containers; the reader runs as uid 1000 and may write there
    # (as in Kubernetes, an emptyDir is mode 0777); medium Memory is an 8 MiB tmpfs.
    assert _sh(podctl, "fields-reader", "id -u; cat /shared/order").split() == ["1000", "a", "b", "side", "app"]
    _sh(podctl, "fields-reader", "echo reader > /shared/r && echo m > /mem/m")
    assert _sh(podctl, "fields-app", "cat /work/r") == "reader\n"
    mem = _sh(podctl, "fields-reader", "grep ' /mem ' /proc/mounts")
    assert mem.startswith("tmpfs /mem tmpfs") and "size=8192k" in mem, mem

    # securityContext, terminationGracePeriodSeconds, restartPolicy.
    sec = _sh(podctl, "fields-reader", "touch /x 2>&1 || echo ro; grep -E 'NoNewPrivs|CapBnd' /proc/self/status")
    assert "ro\n" in sec and "NoNewPrivs:\t1" in sec and "CapBnd:\t0000000000000000" in sec, sec
    cfg = podctl.json("inspect", "fields-reader")[0]
    assert cfg["Config"]["StopTimeout"] == 5
    assert cfg["HostConfig"]["RestartPolicy"]["Name"] == "always"

    # runAsGroup alone keeps the image's user.
    assert _sh(podctl, "fields-side", "id -u; id -g").split() == ["0", "1234"]

    # Pod-level fields: hostname, hostAliases, dnsConfig.
    assert _sh(podctl, "fields-app", "hostname").strip() == "fieldhost"
    assert "10.1.2.3" in _sh(podctl, "fields-app", "grep alias.example /etc/hosts")
    resolv = _sh(podctl, "fields-app", "cat /etc/resolv.conf")
    assert "example.test" in resolv and "ndots:2" in resolv
