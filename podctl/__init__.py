"""podctl: a rootless pod manager."""

__version__ = "0.1.0"
