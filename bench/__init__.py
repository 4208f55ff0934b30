"""The podctl bench: podctl against rootless podman, side by side (see bench/README.md)."""
