"""`python -m bench`: podctl against podman, side by side (see bench/README.md)."""

import sys

from bench.cli import main

sys.exit(main())
