"""One converter per Quadlet unit type (.container .pod .kube .volume .network .image)."""

from __future__ import annotations

import os

from podctl.quadlet.convert import (
    AUTOUPDATE_LABEL,
    PORT_RANGE,
    Cmd,
    Infos,
    abs_path,
    add_all_strings,
    add_bools,
    add_keyvals,
    add_networks,
    add_podman_args,
    add_publish,
    add_strings,
    add_volumes,
    container_name,
    default_resource_name,
    image_source,
    init_service,
    kill_mode,
    log_options,
    oneshot,
    resolve_mount,
    service_type,
    user_mappings,
    working_dir,
)
from podctl.quadlet.model import QuadletError, Service, Source

G = "Container"


def convert_container(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    svc, _ = init_service(src, infos, G, user)
    image, rootfs = src.value(G, "Image"), src.value(G, "Rootfs")
    if not image and not rootfs:
        raise QuadletError("no Image or Rootfs key specified")
    if image and rootfs:
        raise QuadletError("the Image And Rootfs keys conflict can not be specified together")
    if image:
        image = image_source(image, svc, infos)
    name = container_name(src)
    svc.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n")
    kill_mode(svc)
    stop = Cmd(binary, src, G)
    stop.add("rm", "-v", "-f", "-i", name)
    svc.add_cmdline("ExecStop", stop.args)
    stop.args[0] = "-" + stop.args[0]
    svc.add_cmdline("ExecStopPost", stop.args)
    _reload(src, svc, name, binary)

    cmd = Cmd(binary, src, G)
    cmd.add("run", "--name", name, "--replace", "--rm")
    log_options(src, G, cmd)
    svc.add("Service", "Delegate", "yes")
    cgroups = src.value(G, "CgroupsMode")
    cmd.add(*(("--cgroups", cgroups) if cgroups else ("--cgroups=split",)))
    add_strings(src, G, {
        "Timezone": "--tz", "PidsLimit": "--pids-limit", "ShmSize": "--shm-size",
        "WorkingDir": "--workdir", "IP": "--ip", "IP6": "--ip6",
        "HostName": "--hostname", "StopSignal": "--stop-signal",
        "StopTimeout": "--stop-timeout", "Pull": "--pull", "Memory": "--memory",
        "Retry": "--retry", "RetryDelay": "--retry-delay",
    }, cmd)  # fmt: skip
    entrypoint = src.value(G, "Entrypoint")
    if entrypoint:
        cmd.add(f"--entrypoint={entrypoint}")
    add_all_strings(src, G, {
        "NetworkAlias": "--network-alias", "Ulimit": "--ulimit", "DNS": "--dns",
        "DNSOption": "--dns-option", "DNSSearch": "--dns-search", "GroupAdd": "--group-add",
        "AddHost": "--add-host", "Tmpfs": "--tmpfs",
    }, cmd)  # fmt: skip
    add_bools(src, G, {"RunInit": "--init", "EnvironmentHost": "--env-host",
                    "ReadOnlyTmpfs": "--read-only-tmpfs", "HttpProxy": "--http-proxy"},
           cmd)  # fmt: skip
    add_networks(src, G, svc, infos, cmd)
    if service_type(svc) != "oneshot":
        notify = src.value(G, "Notify")
        if notify.lower() == "healthy":
            cmd.add("--sdnotify=healthy")
        elif src.bool_default(G, "Notify", False):
            cmd.add("--sdnotify=container")
        else:
            cmd.add("--sdnotify=conmon")
        svc.set("Service", "Type", "notify")
        svc.set("Service", "NotifyAccess", "all")
        cmd.add("-d")
    if src.lookup("Service", "SyslogIdentifier") is None:
        svc.set("Service", "SyslogIdentifier", "%N")
    _security(src, cmd)
    read_only = src.boolean(G, "ReadOnly")
    if read_only is not None:
        cmd.add_bool("--read-only", read_only)
    if src.bool_default(G, "VolatileTmp", False) and not read_only:
        cmd.add("--tmpfs", "/tmp:rw,size=512M,mode=1777")
    user_, group = src.value(G, "User"), src.value(G, "Group")
    if group and not user_:
        raise QuadletError("invalid Group set without User")
    if user_:
        cmd.add("--user", f"{user_}:{group}" if group else user_)
    user_mappings(src, G, cmd, True)
    add_volumes(src, G, svc, infos, cmd)
    update = src.value(G, "AutoUpdate")
    if update:
        cmd.add_keys("--label", {AUTOUPDATE_LABEL: update})
    for port in src.all(G, "ExposeHostPort"):
        port = port.strip()
        if not PORT_RANGE.match(port):
            raise QuadletError(f"invalid port format '{port}'")
        cmd.add("--expose", port)
    add_publish(src, G, cmd)
    add_keyvals(src, G, {"Environment": "--env", "Label": "--label",
                      "Annotation": "--annotation"}, cmd)  # fmt: skip
    for mask in src.args(G, "Mask"):
        cmd.add("--security-opt", f"mask={mask}")
    for unmask in src.args(G, "Unmask"):
        cmd.add("--security-opt", f"unmask={unmask}")
    for env_file in src.args(G, "EnvironmentFile"):
        cmd.add("--env-file", abs_path(src, env_file))
    for secret in src.args(G, "Secret"):
        cmd.add("--secret", secret)
    for mount in src.args(G, "Mount"):
        cmd.add("--mount", resolve_mount(src, svc, mount, infos))
    _health(src, cmd)
    _pod(src, svc, infos, cmd)
    add_podman_args(src, G, cmd)
    cmd.add(*((image,) if image else ("--rootfs", rootfs)))
    exec_args = src.last_args(G, "Exec")
    if exec_args:
        cmd.add(*exec_args)
    svc.add_cmdline("ExecStart", cmd.args)
    return svc


def _security(src: Source, cmd: Cmd) -> None:
    if src.bool_default(G, "NoNewPrivileges", False):
        cmd.add("--security-opt=no-new-privileges")
    if src.bool_default(G, "SecurityLabelDisable", False):
        cmd.add("--security-opt", "label=disable")
    if src.bool_default(G, "SecurityLabelNested", False):
        cmd.add("--security-opt", "label=nested")
    for key, what in (("SecurityLabelType", "type"), ("SecurityLabelFileType", "filetype"),
                      ("SecurityLabelLevel", "level")):  # fmt: skip
        v = src.value(G, key)
        if v:
            cmd.add("--security-opt", f"label={what}:{v}")
    for device in src.strv(G, "AddDevice"):
        if device.startswith("-"):
            device = device[1:]
            if not os.path.exists(device.split(":")[0]):
                continue
        cmd.add("--device", device)
    apparmor = src.value(G, "AppArmor")
    if apparmor:
        cmd.add("--security-opt", f"apparmor={apparmor}")
    seccomp = src.lookup(G, "SeccompProfile")
    if seccomp is not None:
        cmd.add("--security-opt", f"seccomp={seccomp}")
    for cap in src.strv(G, "DropCapability"):
        cmd.add("--cap-drop", cap.lower())
    for cap in src.strv(G, "AddCapability"):
        cmd.add("--cap-add", cap.lower())
    for item in src.strv(G, "Sysctl"):
        cmd.add("--sysctl", item)


_HEALTH = (
    ("HealthCmd", "cmd"), ("HealthInterval", "interval"), ("HealthOnFailure", "on-failure"),
    ("HealthLogDestination", "log-destination"), ("HealthMaxLogCount", "max-log-count"),
    ("HealthMaxLogSize", "max-log-size"), ("HealthRetries", "retries"),
    ("HealthStartPeriod", "start-period"), ("HealthTimeout", "timeout"),
    ("HealthStartupCmd", "startup-cmd"), ("HealthStartupInterval", "startup-interval"),
    ("HealthStartupRetries", "startup-retries"), ("HealthStartupSuccess", "startup-success"),
    ("HealthStartupTimeout", "startup-timeout"),
)  # fmt: skip


def _health(src: Source, cmd: Cmd) -> None:
    for key, arg in _HEALTH:
        v = src.value(G, key)
        if v:
            cmd.add(f"--health-{arg}", v)


def _pod(src: Source, svc: Service, infos: Infos, cmd: Cmd) -> None:
    pod = src.value(G, "Pod")
    if not pod:
        return
    if not pod.endswith(".pod"):
        raise QuadletError(f"pod {pod} is not Quadlet based")
    info = infos.get(pod)
    if info is None:
        raise QuadletError(f"quadlet pod unit {pod} does not exist")
    cmd.add("--pod", info.resource_name)
    svc.add("Unit", "BindsTo", info.service_file)
    svc.add("Unit", "After", info.service_file)
    stem = os.path.splitext(svc.filename)[0]
    if src.bool_default(G, "StartWithPod", True) and not stem.endswith("@"):
        info.containers_to_start.append(svc.filename)


def _reload(src: Source, svc: Service, name: str, binary: str) -> None:
    signal = src.value(G, "ReloadSignal")
    reload_cmd = src.last_args(G, "ReloadCmd") or []
    if not signal and not reload_cmd:
        return
    if signal and reload_cmd:
        raise QuadletError("ReloadCmd and ReloadSignal are mutually exclusive but both are set")
    cmd = Cmd(binary, src, G)
    if reload_cmd:
        cmd.add("exec", name, *reload_cmd)
    else:
        cmd.add("kill", "--signal", signal, name)
    svc.add_cmdline("ExecReload", cmd.args)


def _oneshot_exec_start(src: Source, g: str, svc: Service, cmd: Cmd, target: str) -> None:
    """The tail of the `.network`/`.volume`/`.image` units: PodmanArgs= go before the
    resource's name, then a oneshot ExecStart= that stays active."""
    add_podman_args(src, g, cmd)
    cmd.add(target)
    svc.add_cmdline("ExecStart", cmd.args)
    oneshot(svc, True)


def convert_network(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    g = "Network"
    svc, info = init_service(src, infos, g, user)
    name = src.value(g, "NetworkName") or default_resource_name(src)
    if src.bool_default(g, "NetworkDeleteOnStop", False):
        post = Cmd(binary, src, g)
        post.add("network", "rm", name)
        svc.add_cmdline("ExecStopPost", post.args)
    cmd = Cmd(binary, src, g)
    cmd.add("network", "create", "--ignore")
    add_bools(src, g, {"DisableDNS": "--disable-dns", "Internal": "--internal",
                    "IPv6": "--ipv6"}, cmd)  # fmt: skip
    add_strings(src, g, {"Driver": "--driver", "IPAMDriver": "--ipam-driver",
                      "InterfaceName": "--interface-name"}, cmd)  # fmt: skip
    add_all_strings(src, g, {"DNS": "--dns"}, cmd)
    subnets, gateways = src.all(g, "Subnet"), src.all(g, "Gateway")
    ranges = src.all(g, "IPRange")
    if subnets:
        if len(gateways) > len(subnets):
            raise QuadletError("cannot set more gateways than subnets")
        if len(ranges) > len(subnets):
            raise QuadletError("cannot set more ranges than subnets")
        for i, subnet in enumerate(subnets):
            cmd.add("--subnet", subnet)
            if i < len(gateways):
                cmd.add("--gateway", gateways[i])
            if i < len(ranges):
                cmd.add("--ip-range", ranges[i])
    elif gateways or ranges:
        raise QuadletError("cannot set gateway or range without subnet")
    add_keyvals(src, g, {"Options": "--opt", "Label": "--label"}, cmd)
    _oneshot_exec_start(src, g, svc, cmd, name)
    info.resource_name = name
    return svc


def convert_volume(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    g = "Volume"
    svc, info = init_service(src, infos, g, user)
    name = src.value(g, "VolumeName") or default_resource_name(src)
    cmd = Cmd(binary, src, g)
    cmd.add("volume", "create", "--ignore")
    driver = src.lookup(g, "Driver")
    if driver is not None:
        cmd.add("--driver", driver)
    opts: list[str] = []
    if driver == "image":
        image = src.lookup(g, "Image")
        if image is None:
            raise QuadletError("the key Image is mandatory when using the image driver")
        cmd.add("--opt", "image=" + image_source(image, svc, infos))
    else:
        if src.has(g, "User"):
            opts.append(f"uid={src.uint32(g, 'User')}")
        if src.has(g, "Group"):
            opts.append(f"gid={src.uint32(g, 'Group')}")
        copy = src.boolean(g, "Copy")
        if copy is not None:
            cmd.add("--opt", "copy" if copy else "nocopy")
        dev = src.value(g, "Device")
        if dev:
            cmd.add("--opt", f"device={dev}")
        dev_type = src.value(g, "Type")
        if dev_type:
            if not dev:
                raise QuadletError("key Type can't be used without Device")
            cmd.add("--opt", f"type={dev_type}")
            if dev_type == "bind":
                svc.add("Unit", "RequiresMountsFor", dev)
        mount_opts = src.value(g, "Options")
        if mount_opts:
            if not dev:
                raise QuadletError("key Options can't be used without Device")
            opts.append(mount_opts)
        if opts:
            cmd.add("--opt", "o=" + ",".join(opts))
    add_keyvals(src, g, {"Label": "--label"}, cmd)
    _oneshot_exec_start(src, g, svc, cmd, name)
    info.resource_name = name
    return svc


def convert_kube(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    g = "Kube"
    svc, _ = init_service(src, infos, g, user)
    yamls = src.all(g, "Yaml")
    if not yamls or not yamls[-1]:
        raise QuadletError("no Yaml key specified")
    paths = [abs_path(src, y) for y in yamls]
    kill_mode(svc)
    svc.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n")
    if service_type(svc) != "oneshot":
        svc.set("Service", "Type", "notify")
        svc.set("Service", "NotifyAccess", "all")
    if src.lookup("Service", "SyslogIdentifier") is None:
        svc.set("Service", "SyslogIdentifier", "%N")
    cmd = Cmd(binary, src, g)
    cmd.add("kube", "play", "--replace", "--service-container=true")
    ecp = src.value(g, "ExitCodePropagation")
    if ecp:
        cmd.add(f"--service-exit-code-propagation={ecp}")
    log_options(src, g, cmd)
    user_mappings(src, g, cmd, False)
    add_networks(src, g, svc, infos, cmd)
    for update in src.strv(g, "AutoUpdate"):
        anno, slash, typ = update.partition("/")
        if slash:
            cmd.add(f"--annotation={AUTOUPDATE_LABEL}/{anno}={typ}")
        else:
            cmd.add(f"--annotation={AUTOUPDATE_LABEL}={update}")
    for cm in src.strv(g, "ConfigMap"):
        cmd.add("--configmap", abs_path(src, cm))
    add_publish(src, g, cmd)
    add_podman_args(src, g, cmd)
    cmd.add(*paths)
    svc.add_cmdline("ExecStart", cmd.args)
    down = Cmd(binary, src, g)
    down.add("kube", "down")
    force = src.boolean(g, "KubeDownForce")
    if force is not None:
        down.add_bool("--force", force)
    down.add(*paths)
    svc.add_cmdline("ExecStopPost", down.args)
    if len(yamls) > 1 and src.value(g, "SetWorkingDirectory").lower() == "yaml":
        raise QuadletError(
            "SetWorkingDirectory=yaml is only supported when a single Yaml key is provided"
        )
    working_dir(src, svc, g)
    return svc


def convert_image(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    g = "Image"
    svc, info = init_service(src, infos, g, user)
    image = src.value(g, "Image")
    if not image:
        raise QuadletError("no Image key specified")
    cmd = Cmd(binary, src, g)
    cmd.add("image", "pull")
    add_strings(src, g, {
        "Arch": "--arch", "AuthFile": "--authfile", "CertDir": "--cert-dir", "Creds": "--creds",
        "DecryptionKey": "--decryption-key", "OS": "--os", "Variant": "--variant",
        "Retry": "--retry", "RetryDelay": "--retry-delay", "Policy": "--policy",
    }, cmd)  # fmt: skip
    add_bools(src, g, {"AllTags": "--all-tags", "TLSVerify": "--tls-verify"}, cmd)
    _oneshot_exec_start(src, g, svc, cmd, image)
    info.resource_name = src.value(g, "ImageTag") or image
    return svc


def convert_pod(src: Source, infos: Infos, user: bool, binary: str) -> Service:
    g = "Pod"
    svc, info = init_service(src, infos, g, user)
    name = info.resource_name
    for ctr in info.containers_to_start:
        svc.add("Unit", "Wants", ctr)
        svc.add("Unit", "Before", ctr)
    if src.lookup("Service", "SyslogIdentifier") is None:
        svc.set("Service", "SyslogIdentifier", "%N")
    start = Cmd(binary, src, g)
    start.add("pod", "start", name)
    svc.add_cmdline("ExecStart", start.args)
    stop = Cmd(binary, src, g)
    timeout = src.value(g, "StopTimeout") or "10"
    stop.add("pod", "stop", "--ignore", f"--time={timeout}", name)
    svc.add_cmdline("ExecStop", stop.args)
    post = Cmd(binary, src, g)
    post.add("pod", "rm", "--ignore", "--force", name)
    svc.add_cmdline("ExecStopPost", post.args)
    pre = Cmd(binary, src, g)
    pre.add("pod", "create", "--infra-conmon-pidfile=%t/%N.pid", "--replace")
    pre.add("--exit-policy", src.lookup(g, "ExitPolicy") or "stop")
    user_mappings(src, g, pre, True)
    add_publish(src, g, pre)
    add_keyvals(src, g, {"Label": "--label"}, pre)
    add_networks(src, g, svc, infos, pre)
    add_strings(src, g, {"IP": "--ip", "IP6": "--ip6", "ShmSize": "--shm-size"}, pre)
    add_all_strings(src, g, {
        "NetworkAlias": "--network-alias", "DNS": "--dns", "DNSOption": "--dns-option",
        "DNSSearch": "--dns-search", "AddHost": "--add-host", "HostName": "--hostname",
    }, pre)  # fmt: skip
    add_volumes(src, g, svc, infos, pre)
    pre.add("--infra-name", f"{name}-infra", "--name", name)
    add_podman_args(src, g, pre)
    svc.add_cmdline("ExecStartPre", pre.args)
    svc.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n")
    svc.set("Service", "Type", "forking")
    svc.set("Service", "Restart", "on-failure")
    svc.set("Service", "PIDFile", "%t/%N.pid")
    return svc


CONVERTERS = {
    ".container": convert_container,
    ".volume": convert_volume,
    ".network": convert_network,
    ".kube": convert_kube,
    ".image": convert_image,
    ".pod": convert_pod,
}
