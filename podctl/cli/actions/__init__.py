"""Command bodies, free of click: each takes the Globals and the parsed parameters as keywords.

The click callbacks (podctl.cli.container, .pod, ...) and the fast path (podctl.cli.fast) both
call these, so every command has one body. Returning an int sets the exit status.
"""
