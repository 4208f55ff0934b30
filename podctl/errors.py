"""The one error tree.

Lower layers translate OSError, HTTP errors and CalledProcessError into these at their boundary
(`raise ... from e`); only the CLI turns an error into a message and an exit code.
"""

from __future__ import annotations

# podman's exit codes (define/errors.go): 125 for the engine's own errors, 126 when the
# command inside the container cannot be invoked, 127 when it is not found.
EXIT_ERROR = 125
EXIT_CANNOT_INVOKE = 126
EXIT_NOT_FOUND = 127


class PodctlError(Exception):
    """Base of every error podctl reports to a user."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotFound(PodctlError):
    """A container, pod, image, volume or file does not exist."""


class Ambiguous(NotFound):
    """An id prefix matches more than one object (podman reports it as not found too)."""


class AlreadyExists(PodctlError):
    """A name or id is already in use."""


class InvalidSpec(PodctlError):
    """Bad user input: a flag, a file, a field. The message names which."""


class InvalidConfig(InvalidSpec):
    """A configuration file (containers.conf, registries.conf, auth.json) is malformed."""


class RuntimeFailed(PodctlError):
    """An external program (runc, conmon, slirp4netns, newuidmap ...) failed."""


class RegistryError(PodctlError):
    """A registry answered with an error or could not be reached."""


class StoreError(PodctlError):
    """The local store is inconsistent or could not be written."""


class StateError(PodctlError):
    """A container or pod is in the wrong state for the operation."""


class SystemdError(PodctlError):
    """The systemd user manager could not be reached or a job failed."""


class ContainerExit(Exception):
    """Not an error: carries a container's own exit code up to the CLI."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CannotInvoke(PodctlError):
    exit_code = EXIT_CANNOT_INVOKE


class CommandNotFound(PodctlError):
    exit_code = EXIT_NOT_FOUND
