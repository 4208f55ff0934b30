"""Persistent state in SQLite: containers, pods, volumes (the image store keeps its own db)."""
