"""Pods: compose the layers below into an infra container holding shared namespaces.

- `infra`: the infra container's rootfs (an empty directory with the host's static catatonit
  bind-mounted at /catatonit: no image download) and its ContainerSpec.
- `join`: what a member needs to join the pod (namespace paths of the running infra, the pod's
  shared /etc/hosts and resolv.conf), starting the infra first when it is not running.
- `policy`: `--exit-policy stop`, run from conmon's exit command of a member.
The verbs live in podctl.engine.pods.
"""
