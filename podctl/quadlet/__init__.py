"""Quadlet: systemd units from Quadlet files (a pure translator plus the generator)."""
