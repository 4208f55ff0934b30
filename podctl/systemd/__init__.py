"""systemd: user units, D-Bus calls to the user manager, sd_notify."""
