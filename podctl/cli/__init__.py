"""Command line: parse arguments, print, map errors to exit codes; nothing else."""
