"""Entry point for ``python -m scripts.dataset``: exit statuses as for every command (scripts/cli.py)."""

import sys

from scripts.cli import run

from .cli import main

sys.exit(run(main))
