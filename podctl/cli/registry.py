"""Where every command lives, so that `podctl --help` lists them without importing them.

Each entry maps a command name to ("module:attribute", "one-line help"). The attribute is a
click command or group. Only the command that runs gets imported (startup budget: systemd runs
podctl in ExecStart/ExecStop).

Aliases (podman's `images`, `ps`, `pull`, ...) point at the same object as the long form.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    # system
    "info": ("podctl.cli.system:info", "Display podctl system information"),
    "doctor": ("podctl.cli.system:doctor", "Check every rootless prerequisite for this user"),
    "version": ("podctl.cli.system:version", "Display the podctl version information"),
    "unshare": ("podctl.cli.system:unshare", "Run a command in a modified user namespace"),
    "system": ("podctl.cli.system:system", "Manage podctl"),
    # images
    "image": ("podctl.cli.image:image", "Manage images"),
    "images": ("podctl.cli.image:images", "List images in local storage"),
    "pull": ("podctl.cli.image:pull", "Pull an image from a registry"),
    "rmi": ("podctl.cli.image:rmi", "Remove one or more images from local storage"),
    "tag": ("podctl.cli.image:tag", "Add an additional name to a local image"),
    "untag": ("podctl.cli.image:untag", "Remove a name from a local image"),
    "push": ("podctl.cli.image:push", "Push an image to a registry"),
    "save": ("podctl.cli.image:save", "Save images to an archive"),
    "load": ("podctl.cli.image:load", "Load images from an archive"),
    "import": ("podctl.cli.image:import_", "Import a tarball to create an image"),
    "login": ("podctl.cli.image:login", "Log in to a container registry"),
    "logout": ("podctl.cli.image:logout", "Log out of a container registry"),
    # containers
    "container": ("podctl.cli.container:container", "Manage containers"),
    "create": ("podctl.cli.container:create", "Create but do not start a container"),
    "run": ("podctl.cli.container:run", "Run a command in a new container"),
    "start": ("podctl.cli.container:start", "Start one or more containers"),
    "stop": ("podctl.cli.container:stop", "Stop one or more containers"),
    "restart": ("podctl.cli.container:restart", "Restart one or more containers"),
    "kill": ("podctl.cli.container:kill", "Kill one or more running containers with a signal"),
    "rm": ("podctl.cli.container:rm", "Remove one or more containers"),
    "ps": ("podctl.cli.container:ps", "List containers"),
    "logs": ("podctl.cli.container:logs", "Fetch the logs of one or more containers"),
    "exec": ("podctl.cli.container:exec_", "Run a process in a running container"),
    "inspect": ("podctl.cli.container:inspect", "Display the configuration of object denoted by ID"),
    "wait": ("podctl.cli.container:wait", "Block on one or more containers"),
    "top": ("podctl.cli.container:top", "Display the running processes of a container"),
    "cp": ("podctl.cli.container:cp", "Copy files/folders between a container and the local filesystem"),
    "port": ("podctl.cli.container:port", "List port mappings or a specific mapping for the container"),
    "rename": ("podctl.cli.container:rename", "Rename an existing container"),
    "healthcheck": ("podctl.cli.healthcheck:healthcheck", "Manage health checks on containers"),
    "volume": ("podctl.cli.volume:volume", "Manage volumes"),
    # pods
    "pod": ("podctl.cli.pod:pod", "Manage pods"),
    "kube": ("podctl.cli.kube:kube", "Play containers, pods or volumes from a structured file"),
    "play": ("podctl.cli.kube:play", "Play containers, pods or volumes from a structured file"),
    # systemd
    "generate": ("podctl.cli.generate:generate", "Generate structured data based on containers and pods"),
    "systemd": ("podctl.cli.systemd:systemd", "Manage the systemd user units podctl installed"),
}

# Groups whose subcommands are listed here too, for `podctl GROUP --help` without imports.
HIDDEN: set[str] = set()
