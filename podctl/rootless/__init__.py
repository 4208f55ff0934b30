"""The only places, with podctl.run, that enter namespaces or call the kernel directly."""
