"""The container runtime layer: rootfs, OCI config.json, the runc/crun driver and conmon.

Only this layer writes config.json (runtime-spec 1.x) from a ContainerSpec.
"""
